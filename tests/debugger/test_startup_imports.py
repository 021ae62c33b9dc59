"""`npudbg --batch -ex quit` imports only what opening the device and booting the firmware need.

The default image is found from `releases.toml` directly (the validated release line is
loaded only when that lookup finds nothing); it must name the same image. Symbols,
which the first `break` or `bt` needs, are read with struct; they must equal pyelftools'.

Each run is a fresh interpreter (a subprocess), so modules other tests imported do not
hide a start-up import. The control run shows the same check sees a lazy import once a
command needs it, so the "not imported" assertions can fail.
"""

from __future__ import annotations

import gc
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from debugger.target import _release_rows, resolve_image
from firmware.releases import release_line
from isa.elfread import load_elf
from isa.errors import NpuError

# Heavy or optional parts a quit never needs: disassembly, ELF symbols and DWARF, the register
# description compiler, the interactive shell, test tooling, the driver side, compatibility tool.
NOT_AT_STARTUP = ("capstone", "elftools", "elftools.dwarf", "systemrdl", "prompt_toolkit", "hypothesis",
                  "unicorn", "isa.elfread", "isa.disasm", "isa.asm", "debugger.shell", "debugger.compat",
                  "debugger.hostprog", "debugger.code", "debugger.expr", "firmware.releases", "firmware.abi",
                  "tomllib", "pycparser", "debugger.catch", "debugger.watch", "debugger.trace")

_RUN = """
import json, sys
from debugger.cli import main
from debugger.commands import COMMANDS
status = main(["--batch", *sys.argv[1:]])
built = sorted(name for name, cmd in COMMANDS.items() if cmd.parser.built)
report = {"status": status, "modules": sorted(sys.modules), "parsers": built}
sys.stdout.write("\\n" + json.dumps(report) + "\\n")
"""


def _report_after(*args: str) -> dict:
    """What a fresh interpreter loaded once `npudbg --batch ARGS...` finished (modules, parsers built)."""
    done = subprocess.run([sys.executable, "-c", _RUN, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["status"] == 0, done.stderr
    return report


def _modules_after(*args: str) -> set[str]:
    return set(_report_after(*args)["modules"])


@pytest.fixture(scope="module")
def quit_modules() -> set[str]:
    return _modules_after("-ex", "quit")


@pytest.mark.parametrize("name", NOT_AT_STARTUP)
def test_quit_does_not_import(name: str, quit_modules: set[str]) -> None:
    assert importlib.util.find_spec(name.split(".")[0]) is not None, f"{name} is not installed"
    assert name not in quit_modules


def test_quit_imports_the_device_and_core(quit_modules: set[str]) -> None:
    assert {"debugger.session", "firmware.hw.device", "isa.core.api"} <= quit_modules


def test_a_command_that_needs_symbols_imports_them_on_first_use() -> None:
    loaded = _modules_after("-ex", "bt", "-ex", "p 1 + 1", "-ex", "quit")
    assert {"isa.elfread", "elftools.elf.elffile", "debugger.code", "debugger.expr"} <= loaded


def test_stop_points_and_traces_load_with_their_first_command() -> None:
    loaded = _modules_after("-ex", "catch fault", "-ex", "watch CTRL.RUN", "-ex", "trace mmio on",
                            "-ex", "quit")
    assert {"debugger.catch", "debugger.watch", "debugger.trace", "debugger.trace.mmio"} <= loaded


def test_only_the_parsers_of_commands_that_ran_are_built() -> None:
    """Parsers are declared at import and built on first use (argparse for ~70 commands at every
    start-up cost about 30 ms); the commands a run used have theirs."""
    from debugger.commands import COMMANDS, load_all

    load_all()
    report = _report_after("-ex", "p 1", "-ex", "info registers pc", "-ex", "quit")
    assert report["parsers"] == sorted(["print", "info registers", "quit"])
    assert len(COMMANDS) > 50


def test_a_batch_run_imports_only_the_command_modules_it_uses() -> None:
    """Names are looked up in the generated index (debugger/command_index.py); a name it does not
    know (a typo here) makes the whole registry answer, so the error is the registry's."""
    loaded = _modules_after("-ex", "p 1", "-ex", "i r pc", "-ex", "quit")
    modules = {m for m in loaded if m.startswith("debugger.commands.")}
    assert modules == {"debugger.commands.data", "debugger.commands.registers", "debugger.commands.execution"}
    done = subprocess.run([sys.executable, "-m", "debugger.cli", "--batch", "-ex", "frobnicate"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr == "-ex 1: error: undefined command: \"frobnicate\"; try 'help'\n"


def test_the_quick_release_lookup_agrees_with_the_release_line() -> None:
    line = release_line()
    assert resolve_image(None) == (line.newest.image_path(), str(line.newest.version))
    for release in line.releases:
        assert resolve_image(str(release.version)) == (release.image_path(), str(release.version))


@pytest.mark.parametrize("text", [
    '[[release]]\nversion = "1.0.0"\nimage = "a.elf"\n[other]\n',  # another table
    '[[release]]\nversion = "1.0.0"\nnotes = """x\nimage = "b.elf"\n"""\nimage = "a.elf"\n',  # multi-line
    '[[release]]\nversion = "1.0"\nimage = "a.elf"\n',  # not a version
    '[[release]]\nversion = "1.0.0"\n',  # no image
    '[[release]]\nversion = "1.0.0"\nimage = "a.elf"\nimage = "b.elf"\n',  # twice
])
def test_the_quick_release_lookup_leaves_unusual_files_to_the_release_line(text: str) -> None:
    assert _release_rows(text) is None


def test_the_quick_release_lookup_reads_plain_rows() -> None:
    text = '# c\n[[release]]\nversion = "1.0.0"  # first\nflags = { A = 1 }\nimage = "a.elf"\n\n' \
           '[[release]]\nimage = "b.elf"\nversion = "2.0.0"\n'
    assert _release_rows(text) == [{"version": "1.0.0", "image": "a.elf"},
                                   {"version": "2.0.0", "image": "b.elf"}]


def test_an_unknown_release_is_reported_by_the_release_line() -> None:
    with pytest.raises(NpuError, match=r"^no firmware release 9\.9\.9 \(releases: 1\.0\.0, "):
        resolve_image("9.9.9")


def test_the_struct_symbol_reader_agrees_with_pyelftools() -> None:
    """Symbols are read without pyelftools (fast on the images' ~1000 absolute symbols); same result."""
    from elftools.elf.elffile import ELFFile

    kinds = {"STT_NOTYPE": "notype", "STT_OBJECT": "object", "STT_FUNC": "func", "STT_SECTION": "section",
             "STT_FILE": "file"}
    for release in release_line().releases:
        data = Path(str(release.image_path())).read_bytes()
        elf = ELFFile(io.BytesIO(data))
        names = [s.name for s in elf.iter_sections()]
        expected = [(s.name, s["st_value"], s["st_size"], kinds.get(s["st_info"]["type"], "notype"),
                     s["st_info"]["bind"][4:].lower(),
                     names[s["st_shndx"]] if isinstance(s["st_shndx"], int) else None)
                    for s in list(elf.get_section_by_name(".symtab").iter_symbols())[1:]]
        got = [(s.name, s.value, s.size, s.kind, s.binding, s.section) for s in load_elf(data).symbols]
        assert len(got) > 1000 and got == expected, release.version


def test_start_up_restores_the_collector_state() -> None:
    """Start-up runs without cyclic GC and freezes what it made while the session lives;
    afterwards the caller's setting is back and nothing stays frozen, on success or failure."""
    from debugger.cli import main

    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert main(["--batch", "-ex", "p 1"]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert main(["--firmware", "9.9.9", "--batch"]) == 1
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:
        assert main(["--batch", "-ex", "p 1"]) == 0
        assert not gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        gc.enable()
