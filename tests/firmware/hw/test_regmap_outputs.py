"""Everything generated from npu.rdl is current, well-formed and agrees with the model."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from firmware.hw.regmap import regmap

ROOT = Path(__file__).resolve().parents[3]
spec = importlib.util.spec_from_file_location("gen_regmap", ROOT / "scripts/gen_regmap.py")
gen = importlib.util.module_from_spec(spec)
sys.modules["gen_regmap"] = gen
spec.loader.exec_module(gen)


@pytest.fixture(scope="module")
def outputs() -> dict[Path, str]:
    return gen.outputs()


def test_generated_files_are_current(outputs: dict[Path, str]) -> None:
    for path, text in outputs.items():
        assert path.exists(), f"{path.relative_to(ROOT)} missing; run python scripts/gen_regmap.py"
        current = path.read_text(encoding="utf-8")
        assert current == text, f"{path.relative_to(ROOT)} is stale; run python scripts/gen_regmap.py"


def test_generated_files_say_so_on_their_first_line(outputs: dict[Path, str]) -> None:
    for path, text in outputs.items():
        first = text.splitlines()[1 if path == gen.JSON_OUT else 0]
        assert gen.GENERATED in first, path.name
    data = json.loads(outputs[gen.JSON_OUT])
    assert next(iter(data)) == "_generated"
    assert data["_generated"] == gen.GENERATED


def test_check_mode_reports_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    stale_docs = tmp_path / "docs" / "registers.md"
    monkeypatch.setattr(gen, "DOCS_OUT", stale_docs)
    monkeypatch.setattr(gen, "ROOT", tmp_path.parent)
    assert gen.main(["--check"]) == 1
    assert "run python scripts/gen_regmap.py" in capsys.readouterr().err
    assert not stale_docs.exists()


def test_svd_lists_every_register_at_its_address(outputs: dict[Path, str]) -> None:
    rmap = regmap()
    device = ET.fromstring(outputs[gen.SVD_OUT])
    seen: dict[int, tuple[str, str, int]] = {}
    for p in device.iter("peripheral"):
        base = int(p.findtext("baseAddress"), 0)
        for r in p.iter("register"):
            address = base + int(r.findtext("addressOffset"), 0)
            seen[address] = (p.findtext("name"), r.findtext("name"), len(r.findall("fields/field")))
    expected = {
        reg.address: (reg.block.upper(), gen.svd_register_name(reg.path), len(reg.fields))
        for reg in rmap.registers
    }
    assert seen == expected


def test_svd_declares_w1c_clear_on_read_and_enums(outputs: dict[Path, str]) -> None:
    device = ET.fromstring(outputs[gen.SVD_OUT])
    fields = {}
    for p in device.iter("peripheral"):
        for r in p.iter("register"):
            for f in r.iter("field"):
                fields[f"{p.findtext('name')}.{r.findtext('name')}.{f.findtext('name')}"] = f
    assert fields["HOST_IRQ.STATUS.CQ0"].findtext("modifiedWriteValues") == "oneToClear"
    assert fields["ERRLOG.LOST.VALUE"].findtext("readAction") == "clear"
    cause = fields["DMA.ERR_CAUSE.CAUSE"]
    names = [v.findtext("name") for v in cause.iter("enumeratedValue")]
    assert names == [v.name for v in regmap().enums["device_error"].values]


def test_docs_list_every_register_and_enum(outputs: dict[Path, str]) -> None:
    docs = outputs[gen.DOCS_OUT]
    headings = set(re.findall(r"^### (\S+)", docs, re.MULTILINE))
    for reg in regmap().registers:
        assert re.sub(r"\[\d+\]", "[N]", reg.display) in headings, reg.display
    for name in regmap().enums:
        assert f"### {name}" in docs


def _offset_checks() -> str:
    """C static assertions that the header's struct layout matches the map's offsets."""
    lines = ['#include <stddef.h>', '#include "npu_regs.h"']
    for reg in regmap().registers:
        member = reg.path
        lines.append(f"_Static_assert(offsetof(npu_t, {member}) == 0x{reg.offset:x}, \"{reg.path}\");")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("compiler", ["gcc", "riscv64-unknown-elf-gcc"])
def test_c_header_layout_matches_the_map(compiler: str, tmp_path: Path) -> None:
    cc = shutil.which(compiler)
    if cc is None:
        pytest.skip(f"{compiler} not installed")
    source = tmp_path / "check.c"
    source.write_text(_offset_checks(), encoding="utf-8")
    flags = ["-std=gnu11", "-fsyntax-only", "-I", str(gen.HEADER_OUT.parent)]
    if compiler.startswith("riscv"):
        # A bare-metal build has no C library: the header needs only static_assert from it.
        (tmp_path / "assert.h").write_text("#define static_assert _Static_assert\n", encoding="utf-8")
        flags += ["-ffreestanding", "-march=rv32im", "-mabi=ilp32", "-I", str(tmp_path)]
    result = subprocess.run([cc, *flags, str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


BAD_RDL = """
enum side_rights_e { read_write = 0; read_only = 1; write_only = 2; no_access = 3; };
property host_visible { type = boolean; component = addrmap | regfile | reg; };
property host_sw { type = side_rights_e; component = field; };
property fw_sw { type = side_rights_e; component = field; };
property effect { type = string; component = reg; };
addrmap npu {
    default regwidth = 32;
    regfile { %s
        reg { desc = "r"; field { %s desc = "f"; } f[3:0] = 0; } rg @0;
    } blk @0;
};
"""


@pytest.mark.parametrize(
    ("block", "field", "message"),
    [
        ("host_visible = true;", "onwrite = wzc;",
         "blk.rg.f: access sw=rw onwrite=wzc onread=None is not implemented"),
        ("host_visible = true;", "sw = w1;", "blk.rg.f: access sw=w1"),
        ("", "", "blk: block does not declare host_visible"),
    ],
)
def test_generator_rejects_what_the_register_file_cannot_do(tmp_path: Path, block: str, field: str,
                                                            message: str) -> None:
    path = tmp_path / "bad.rdl"
    path.write_text(BAD_RDL % (block, field), encoding="utf-8")
    with pytest.raises(gen.RdlError) as err:
        gen.build_map(gen.compile_rdl(path))
    assert str(err.value).startswith(message)


def test_generator_reports_rdl_syntax_errors_by_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.rdl"
    path.write_text("addrmap npu { reg { field {} f; } r }\n", encoding="utf-8")
    with pytest.raises(gen.RdlError, match=r"^broken.rdl:1: mismatched input"):
        gen.compile_rdl(path)
