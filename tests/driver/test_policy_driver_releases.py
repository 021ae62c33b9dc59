"""The driver release profiles the policy reads: shipped facts and every validation rule."""

from __future__ import annotations

import re

import pytest

from driver.releases import current_release, driver_line, load
from firmware.abi import abi
from firmware.releases import Version, release_line
from isa.errors import NpuError, SpecError


def test_at_least_as_many_driver_releases_as_firmware_releases_across_both_abis() -> None:
    line = driver_line()
    assert len(line.releases) >= len(release_line().releases)
    assert [(str(r.version), r.abi) for r in line.releases] == [
        ("1.0.0", (1,)), ("1.1.0", (1,)), ("1.2.0", (1,)), ("1.3.0", (1,)), ("2.0.0", (1, 2)),
        ("2.1.0", (2,))]
    assert current_release() is line.release() is line.newest
    assert line.release("1.2.0").version == Version(1, 2, 0)
    with pytest.raises(NpuError, match=r"no driver release 3.0.0 \(releases: 1.0.0, "):
        line.release("3.0.0")


def test_op_needs_combine_the_opcode_feature_and_the_ops_own() -> None:
    line = driver_line()
    ops = {op.name: op for op in line.catalogue}
    assert ops["checksum"].features == ("checksum",)  # from CHECKSUM's feature in abi.toml
    assert ops["matmul_int4"].features == ("matmul_int4",)  # from MATMUL_INT4's
    assert ops["conv2d_fused"].features == ("conv_fused",)  # the op's own
    assert ops["priority_submit"].opcode is None and ops["nop"].features == ()
    assert line.release("1.0.0").needs == {"matmul_fp16", "layout_transform"}
    assert line.release("2.1.0").needs == {f.name for f in abi().features}
    assert line.release("1.2.0").op("conv2d_fused").opcode == "CONV2D"
    with pytest.raises(NpuError, match=r"driver 1\.0\.0 has no op 'checksum'"):
        line.release("1.0.0").op("checksum")


def test_driver_needs_match_the_firmware_of_the_same_version() -> None:
    """The lines share version numbers: driver N.M needs exactly what firmware N.M has."""
    for fw in release_line().releases:
        assert driver_line().release(fw.version).needs == set(fw.features)


TABLE = """
[ops]
nop    = { opcode = "NOP", desc = "n" }
int4   = { opcode = "MATMUL_INT4", desc = "i" }
fused  = { opcode = "CONV2D", features = ["conv_fused"], desc = "f" }

[[release]]
version = "1.0.0"
abi = [1]
ops = ["nop", "fused"]

[[release]]
version = "2.0.0"
abi = [2]
ops = ["nop", "int4"]
"""


def test_minimal_table_loads() -> None:
    line = load(TABLE)
    assert line.release("2.0.0").needs == {"matmul_int4"}


@pytest.mark.parametrize(("old", "new", "message"), [
    ('opcode = "NOP"', 'opcode = "NOPE"', "op nop: unknown opcode 'NOPE'"),
    ('["conv_fused"]', '["warp"]', "op fused: unknown feature 'warp'"),
    ('ops = ["nop", "fused"]', 'ops = ["nop", "fast"]', r"release 1.0.0: unknown op 'fast' \(not in"),
    ('ops = ["nop", "fused"]', 'ops = ["nop", "int4"]',
     "release 1.0.0: op int4 submits MATMUL_INT4, which none of ABI 1 defines"),
    ('ops = ["nop", "fused"]', 'ops = ["nop", "nop"]', "release 1.0.0: an op is listed twice"),
    ('version = "2.0.0"', 'version = "1.0.0"', "a release version is listed twice"),
    ('version = "2.0.0"', 'version = "0.9.0"', "releases must be listed oldest first"),
    ('version = "2.0.0"', 'version = "2.0"', "release 2.0: bad version '2.0'"),
    ("abi = [2]", "abi = [5]", "release 2.0.0: unknown ABI generation 5"),
    ("abi = [2]", "abi = 2", "release 2.0.0: 'abi' must be a non-empty list"),
    ('abi = [2]\nops = ["nop", "int4"]', "abi = [2]\nops = 3", "release 2.0.0: 'ops' must be a list"),
])
def test_each_rule_rejects_its_bad_table(old: str, new: str, message: str) -> None:
    assert TABLE.count(old) == 1, old
    with pytest.raises(SpecError) as info:
        load(TABLE.replace(old, new))
    lines = str(info.value).splitlines()
    assert all(line.startswith("driver/releases.toml: error: ") for line in lines), lines
    assert any(re.search(message, line) for line in lines), lines
