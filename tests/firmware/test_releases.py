"""The firmware release line and its known issues: shipped facts, derived build inputs, validation."""

from __future__ import annotations

import re

import pytest

from firmware.releases import MANIFEST_KEYS, Version, load, release_line
from isa.errors import NpuError, SpecError


def test_six_releases_across_two_abi_generations() -> None:
    line = release_line()
    assert [str(v) for v in line.versions] == ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "2.0.0", "2.1.0"]
    assert [r.abi for r in line.releases] == [(1,), (1,), (1,), (1,), (1, 2), (2,)]
    assert line.newest.version == Version(2, 1, 0)
    for r in line.releases:
        assert r.image == f"images/npu-fw-{r.version}.elf"
        assert r.image_path().name == f"npu-fw-{r.version}.elf"


def test_features_grow_along_the_line() -> None:
    line = release_line()

    def first(feature: str) -> str:
        return str(next(r.version for r in line.releases if feature in r.features))

    assert first("matmul_fp16") == "1.0.0"
    assert first("matmul_int8") == "1.1.0"
    assert first("conv_fused") == "1.2.0"
    assert first("checksum") == "1.3.0"
    assert first("priority_queue") == "2.0.0"
    assert first("matmul_int4") == "2.1.0"
    for older, newer in zip(line.releases, line.releases[1:], strict=False):
        assert set(older.features) <= set(newer.features)


def test_known_defect_of_1_2_0_is_fixed_in_1_3_0() -> None:
    line = release_line()
    (issue,) = line.issues
    assert (issue.id, str(issue.release), issue.operator, str(issue.fixed_in)) == ("FW-120-1", "1.2.0",
                                                                                  "ELTWISE", "1.3.0")
    assert "max" in issue.condition and "16" in issue.condition
    assert [str(v) for v in line.versions if line.issues_for(v)] == ["1.2.0"]
    assert line.issues_for("1.2.0", "ELTWISE") == (issue,)
    assert line.issues_for("1.2.0", "MATMUL") == ()
    assert [dict(r.flags)["ELTWISE_MAX_TAIL_BUG"] for r in line.releases] == [0, 0, 1, 0, 0, 0]


def test_manifest_entries_for_a_release() -> None:
    r = release_line().release("2.0.0")
    assert r.manifest() == {"version": "2.0.0", "abi": "1,2", "driver_min": "1.2.0", "driver_max": "2.1.0",
                            "features": "0x0000003f"}
    assert tuple(r.manifest()) == tuple(MANIFEST_KEYS)


def test_defsyms_carry_versions_abi_features_and_build_flags() -> None:
    syms = release_line().release("1.2.0").defsyms()
    assert syms["FW_VERSION"] == 0x010200
    assert (syms["FW_VERSION_MAJOR"], syms["FW_VERSION_MINOR"], syms["FW_VERSION_PATCH"]) == (1, 2, 0)
    assert syms["FW_ABI_MASK"] == 0b10 and (syms["SPEAKS_ABI1"], syms["SPEAKS_ABI2"]) == (1, 0)
    assert syms["FW_FEATURES"] == 0b1111
    assert (syms["HAS_CONV_FUSED"], syms["HAS_CHECKSUM"], syms["HAS_MATMUL_INT4"]) == (1, 0, 0)
    assert (syms["ELTWISE_MAX_TAIL_BUG"], syms["DOUBLE_BUFFER"]) == (1, 1)
    assert release_line().release("2.0.0").defsyms()["FW_ABI_MASK"] == 0b110


def test_versions_parse_order_and_pack() -> None:
    assert Version.parse("1.10.0") > Version.parse("1.9.3")
    assert str(Version.parse(" 2.0.1 ")) == "2.0.1"
    assert Version.parse("3.4.5").packed == 0x030405
    for bad in ("1.2", "1.2.x", "v1.2.3", "1.256.0"):
        with pytest.raises(NpuError, match="bad version"):
            Version.parse(bad)
    with pytest.raises(NpuError, match=r"no firmware release 9.9.9 \(releases: 1.0.0, "):
        release_line().release("9.9.9")


RELEASES = """
[[release]]
version = "1.0.0"
abi = [1]
driver_min = "1.0.0"
driver_max = "1.1.0"
features = ["matmul_fp16"]
image = "images/npu-fw-1.0.0.elf"
flags = { BUG = 1 }

[[release]]
version = "1.1.0"
abi = [1, 2]
driver_min = "1.0.0"
driver_max = "1.1.0"
features = ["matmul_fp16", "matmul_int8"]
image = "images/npu-fw-1.1.0.elf"
flags = { BUG = 0 }
"""

ISSUES = """
[[issue]]
id = "X-1"
release = "1.0.0"
operator = "ELTWISE"
condition = "always"
symptom = "wrong"
fixed_in = "1.1.0"
flag = "BUG"
"""


def test_minimal_tables_load() -> None:
    line = load(RELEASES, ISSUES)
    assert [str(v) for v in line.versions] == ["1.0.0", "1.1.0"]
    assert line.issues[0].affects(Version(1, 0, 0)) and not line.issues[0].affects(Version(1, 1, 0))


@pytest.mark.parametrize(("old", "new", "message"), [
    ('version = "1.1.0"', 'version = "1.1"', r"release 1.1: version: bad version '1.1'"),
    ('version = "1.1.0"', 'version = "1.0.0"', "a release version is listed twice"),
    ('version = "1.0.0"\nabi = [1]\ndriver_min = "1.0.0"\ndriver_max = "1.1.0"',
     'version = "1.2.0"\nabi = [1]\ndriver_min = "1.0.0"\ndriver_max = "1.1.0"', "listed oldest first"),
    ("abi = [1, 2]", "abi = [1, 3]", "release 1.1.0: unknown ABI generation 3"),
    ("abi = [1, 2]", "abi = []", "release 1.1.0: 'abi' must be a non-empty list"),
    ('["matmul_fp16", "matmul_int8"]', '["matmul_fp16", "warp"]', "release 1.1.0: unknown feature 'warp'"),
    ('["matmul_fp16", "matmul_int8"]', '["matmul_fp16", "matmul_fp16"]', "a feature is listed twice"),
    ('image = "images/npu-fw-1.1.0.elf"', 'image = "npu.elf"',
     "release 1.1.0: image must be 'images/npu-fw-1.1.0.elf', not 'npu.elf'"),
    ('abi = [1, 2]\ndriver_min = "1.0.0"', 'abi = [1, 2]\ndriver_min = "1.2.0"',
     "release 1.1.0: driver_min 1.2.0 is newer than driver_max 1.1.0"),
    ('abi = [1, 2]\ndriver_min = "1.0.0"\n', "abi = [1, 2]\n", "release 1.1.0: missing 'driver_min'"),
    ("flags = { BUG = 0 }", "flags = { BUG = 0, FAST = 1 }", "every release must set the same build flags"),
    ("flags = { BUG = 0 }", "flags = { bug = 0 }", "'flags' must map UPPER_CASE names to integers"),
    ("flags = { BUG = 1 }", "flags = { BUG = 1, HAS_CHECKSUM = 1 }", "flag HAS_CHECKSUM clashes"),
    ('version = "1.0.0"\nabi', 'version = = "1.0.0"\nabi', r"Invalid value \(at line"),
])
def test_each_release_rule_rejects_its_bad_table(old: str, new: str, message: str) -> None:
    assert RELEASES.count(old) == 1, old
    text = RELEASES.replace(old, new)
    if "HAS_CHECKSUM" in new:
        text = text.replace("flags = { BUG = 0 }", "flags = { BUG = 0, HAS_CHECKSUM = 1 }")
    _rejects(text, ISSUES, "firmware/releases.toml", message)


@pytest.mark.parametrize(("old", "new", "message"), [
    ('operator = "ELTWISE"', 'operator = "SOFTMAX"', "issue X-1: unknown operator 'SOFTMAX'"),
    ('release = "1.0.0"', 'release = "0.9.0"', "issue X-1: release 0.9.0 is not a release in releases.toml"),
    ('fixed_in = "1.1.0"', 'fixed_in = "1.0.0"', "issue X-1: fixed_in 1.0.0 is not after release 1.0.0"),
    ('flag = "BUG"', 'flag = "OTHER"', "issue X-1: flag 'OTHER' is not a build flag of release 1.0.0"),
    ('symptom = "wrong"\n', "", "issue X-1: missing 'symptom'"),
])
def test_each_known_issue_rule_rejects_its_bad_table(old: str, new: str, message: str) -> None:
    assert ISSUES.count(old) == 1, old
    _rejects(RELEASES, ISSUES.replace(old, new), "firmware/known_issues.toml", message)


def test_the_issue_flag_must_be_set_exactly_where_the_issue_applies() -> None:
    both = RELEASES.replace("flags = { BUG = 0 }", "flags = { BUG = 1 }")
    _rejects(both, ISSUES, "firmware/known_issues.toml",
             "issue X-1: flag BUG is 1 in release 1.1.0, which the issue does not affect")


def _rejects(releases: str, issues: str, filename: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        load(releases, issues)
    lines = str(info.value).splitlines()
    assert all(line.startswith(f"{filename}: error: ") for line in lines), lines
    assert any(re.search(message, line) for line in lines), lines
