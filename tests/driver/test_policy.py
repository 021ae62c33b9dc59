"""The version policy over every shipped driver × firmware pair, and each rule on its own.

The expected grid is reasoned from the release tables, not recorded from the code.
Release order (both lines share it): 1.0.0 1.1.0 1.2.0 1.3.0 2.0.0 2.1.0, so the
distance of a pair is the difference of positions. Firmware facts used:
  ABI: 1.x speak 1; 2.0.0 speaks 1 and 2; 2.1.0 speaks 2.
  driver range: 1.x accept drivers 1.0.0..2.0.0; 2.0.0 accepts 1.2.0..2.1.0; 2.1.0 accepts 2.0.0..2.1.0.
  features: 1.0 fp16+transform, 1.1 +int8, 1.2 +conv_fused, 1.3 +checksum, 2.0 +priority_queue, 2.1 +int4.
Driver facts: 1.x speak ABI 1, 2.0.0 speaks 1 and 2, 2.1.0 speaks 2; driver N.M needs the features
firmware N.M introduced and everything before.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driver.errors import FeatureMissing, Incompatible
from driver.policy import FirmwareDescription, Policy, Verdict, evaluate, release_distance
from driver.releases import DriverOp, DriverRelease, driver_line
from firmware.abi import abi
from firmware.releases import Version, release_line
from isa.elfwrite import write_elf
from isa.errors import NpuError
from isa.image import ObjectImage, Section
from isa.manifest import read_manifest

FW = ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "2.0.0", "2.1.0"]
# Cell: status letter, then the chosen ABI, then what makes it so.
#   C compatible · W compatible with warning (distance 2) · D degraded (missing features listed)
#   F incompatible, forceable (distance > 2) · X incompatible, never forceable (blocking rules listed)
GRID = {
    "1.0.0": ["C1", "C1", "W1", "F1", "X1 driver_range distance", "X- abi driver_range distance"],
    "1.1.0": ["D1 matmul_int8", "C1", "C1", "W1", "X1 driver_range distance", "X- abi driver_range distance"],
    "1.2.0": ["D1 conv_fused matmul_int8", "D1 conv_fused", "C1", "C1", "W1", "X- abi driver_range distance"],
    "1.3.0": ["F1", "D1 checksum conv_fused", "D1 checksum", "C1", "C1", "X- abi driver_range"],
    "2.0.0": ["F1", "F1", "D1 checksum priority_queue", "D1 priority_queue", "C2", "C2"],
    "2.1.0": ["X- abi driver_range distance", "X- abi driver_range distance", "X- abi driver_range distance",
              "X- abi driver_range", "D2 cmd_errlog conv_tiled matmul_int4", "C2"],
}
STATUS = {"C": "compatible", "W": "compatible_with_warning", "D": "degraded", "F": "incompatible",
          "X": "incompatible"}
CELLS = [(d, FW[i], cell) for d, row in GRID.items() for i, cell in enumerate(row)]


def verdict(driver: str, firmware: str, **kwargs) -> Verdict:
    fw = FirmwareDescription.from_release(release_line().release(firmware))
    return evaluate(driver_line().release(driver), fw, **kwargs)


def test_grid_covers_every_shipped_pair() -> None:
    assert list(GRID) == [str(v) for v in driver_line().versions]
    assert [str(v) for v in release_line().versions] == FW


@pytest.mark.parametrize(("driver", "firmware", "cell"), CELLS, ids=[f"d{d}-f{f}" for d, f, _ in CELLS])
def test_shipped_pair(driver: str, firmware: str, cell: str) -> None:
    letter, abi_gen, *detail = cell[0], cell[1], *cell[2:].split()
    v = verdict(driver, firmware)
    assert v.status == STATUS[letter]
    assert v.abi == (None if abi_gen == "-" else int(abi_gen))
    assert v.forceable == (letter == "F")
    assert v.distance == abs(FW.index(driver) - FW.index(firmware))
    if letter == "D":
        assert v.missing_features == tuple(detail)
    if letter in "CW":
        assert v.missing_features == () and v.blocking() == ()
    if letter == "W":
        assert [r.rule for r in v.reasons if r.severity == "warning"] == ["distance"]
    if letter == "F":
        assert [r.rule for r in v.blocking()] == ["distance"]
    if letter == "X":
        assert [r.rule for r in v.blocking()] == detail
    assert Verdict.from_dict(json.loads(v.to_json())) == v


def test_distance_message_is_the_products_wording() -> None:
    v = verdict("1.0.0", "1.3.0")
    assert [r.message for r in v.blocking()] == [
        "driver 1.0.0 and firmware 1.3.0 are 3 releases apart; at most 2 allowed"]
    assert [r.message for r in verdict("1.0.0", "1.2.0").reasons if r.rule == "distance"] == [
        "driver 1.0.0 and firmware 1.2.0 are 2 releases apart: at the edge of the 2 allowed"]


def test_str_is_a_headline_and_one_line_per_reason() -> None:
    assert str(verdict("1.1.0", "2.0.0")) == "\n".join([
        "driver 1.1.0 × firmware 2.0.0: incompatible",
        "  info         [abi] ABI 1 chosen (driver 1.1.0 speaks 1, firmware 2.0.0 speaks 1, 2)",
        "  incompatible [driver_range] driver 1.1.0 is outside firmware 2.0.0's supported driver range "
        "1.2.0..2.1.0",
        "  incompatible [distance] driver 1.1.0 and firmware 2.0.0 are 3 releases apart; at most 2 allowed",
        "  info         [features] firmware 2.0.0 has every feature driver 1.1.0 needs",
    ])
    assert str(verdict("1.0.0", "1.3.0")).splitlines()[0] == (
        "driver 1.0.0 × firmware 1.3.0: incompatible (forceable with force=True)")


def test_force_runs_a_forceable_pair_with_a_warning() -> None:
    v = verdict("1.0.0", "1.3.0", force=True)
    assert (v.status, v.forced, v.ok) == ("compatible_with_warning", True, True)
    assert v.reasons[-1].rule == "force" and v.reasons[-1].severity == "warning"
    assert str(v).splitlines()[0] == "driver 1.0.0 × firmware 1.3.0: compatible with warning (forced)"
    # Forcing does not hide missing features.
    assert verdict("2.0.0", "1.0.0", force=True).status == "degraded"


def test_force_cannot_override_abi_or_driver_range() -> None:
    for driver, firmware in (("1.0.0", "2.0.0"), ("2.1.0", "1.3.0")):
        v = verdict(driver, firmware, force=True)
        assert (v.status, v.forced, v.forceable) == ("incompatible", False, False)
        assert v.reasons[-1].rule == "force" and "ignored" in v.reasons[-1].message
        with pytest.raises(Incompatible, match=f"driver {driver} cannot use firmware {firmware}: "):
            v.check()


def test_degraded_ops_raise_feature_missing_and_the_rest_work() -> None:
    v = verdict("2.1.0", "2.0.0")
    assert v.unavailable_ops == (("conv2d_tiled", ("conv_tiled",)), ("errlog_rejects", ("cmd_errlog",)),
                                 ("matmul_int4", ("matmul_int4",)))
    with pytest.raises(FeatureMissing, match=r"matmul_int4 needs firmware feature matmul_int4, which "
                                             r"firmware 2\.0\.0 lacks"):
        v.require("matmul_int4")
    v.require("matmul")
    assert v.check() is v
    assert dict(verdict("1.2.0", "1.0.0").unavailable_ops) == {"matmul_int8": ("matmul_int8",),
                                                               "conv2d_fused": ("conv_fused",)}


def test_incompatible_check_says_why_and_how_to_force() -> None:
    with pytest.raises(Incompatible, match=r"3 releases apart; at most 2 allowed \(force=True runs it"):
        verdict("1.0.0", "1.3.0").check()


def test_distance_counts_in_the_union_of_both_tables() -> None:
    v = [Version.parse(x) for x in ("1.0.0", "1.1.0", "1.2.0", "1.3.0", "2.0.0")]
    assert release_distance(v[2], v[4], v) == 2
    # A driver-only bug-fix release sits between them in the union.
    assert release_distance(v[2], v[4], [*v, Version(1, 3, 1)]) == 3
    # A version in neither table still takes its place.
    assert release_distance(v[0], Version(1, 2, 5), v) == 3
    assert release_distance(v[3], v[3], v) == 0


def test_policy_is_configurable() -> None:
    assert verdict("1.0.0", "1.3.0", policy=Policy(max_distance=3)).status == "compatible_with_warning"
    assert verdict("1.0.0", "1.2.0", policy=Policy(warn_at_edge=False)).status == "compatible"
    loose = verdict("1.1.0", "2.0.0", policy=Policy(check_driver_range=False))
    assert (loose.status, loose.forceable) == ("incompatible", True)
    assert verdict("1.2.0", "1.2.0", policy=Policy(max_distance=0)).status == "compatible"
    assert verdict("1.2.0", "1.3.0", policy=Policy(max_distance=0)).status == "incompatible"
    with pytest.raises(NpuError, match="max_distance must be at least 0"):
        Policy(max_distance=-1)


MANIFEST = {"version": "1.3.0", "abi": "1", "driver_min": "1.0.0", "driver_max": "2.0.0",
            "features": "0x0000001f", "sha256": "00" * 32}


def test_firmware_description_from_manifest() -> None:
    fw = FirmwareDescription.from_manifest(MANIFEST)
    assert (fw.version, fw.abi, fw.driver_min, fw.driver_max) == (Version(1, 3, 0), (1,), Version(1, 0, 0),
                                                                  Version(2, 0, 0))
    assert fw.features == ("matmul_fp16", "layout_transform", "matmul_int8", "conv_fused", "checksum")
    assert fw == FirmwareDescription.from_release(release_line().release("1.3.0"))
    newer = FirmwareDescription.from_manifest(MANIFEST | {"features": "0x21f"})
    assert newer.features[-1] == "bit9"
    assert evaluate(driver_line().release("1.3.0"), newer).status == "compatible"


@pytest.mark.parametrize(("change", "message"), [
    ({"abi": None}, "firmware manifest: missing key abi"),
    ({"features": "lots"}, "firmware manifest: malformed abi or features value"),
    ({"abi": "1,x"}, "firmware manifest: malformed abi or features value"),
    ({"version": "1.3"}, "bad version '1.3'"),
])
def test_malformed_manifest_is_refused_with_the_key(change: dict, message: str) -> None:
    manifest = {k: v for k, v in (MANIFEST | change).items() if v is not None}
    with pytest.raises(NpuError, match=message):
        FirmwareDescription.from_manifest(manifest)


def test_live_registers_that_agree_change_nothing() -> None:
    fw = FirmwareDescription.from_manifest(MANIFEST)
    live = fw.with_live(fw_version=0x010300, abi_supported=0b10, fw_features=0x1F, handshake="accepted")
    assert live.mismatches == () and live.handshake == "accepted"
    assert evaluate(driver_line().release("1.3.0"), live).status == "compatible"


def test_live_registers_that_contradict_the_manifest_are_refused() -> None:
    live = FirmwareDescription.from_manifest(MANIFEST).with_live(fw_version=0x010200, abi_supported=0b110,
                                                                 fw_features=0x0F)
    v = evaluate(driver_line().release("1.3.0"), live, force=True)
    assert (v.status, v.forceable) == ("incompatible", False)
    assert [r.message for r in v.blocking()] == [
        "the manifest says version 1.3.0, version.fw_version reads 1.2.0",
        "the manifest says ABI 1, version.abi_supported reads 1, 2",
        "the manifest says features matmul_fp16, layout_transform, matmul_int8, conv_fused, checksum, "
        "version.fw_features reads matmul_fp16, layout_transform, matmul_int8, conv_fused",
    ]


def test_a_live_handshake_refusal_is_reported_as_such() -> None:
    live = FirmwareDescription.from_manifest(MANIFEST).with_live(handshake="refused_abi")
    v = evaluate(driver_line().release("1.3.0"), live, force=True)
    assert (v.status, v.forceable) == ("incompatible", False)
    assert [(r.rule, r.message) for r in v.blocking()] == [
        ("handshake", "firmware 1.3.0 answered the handshake with refused_abi")]


def test_manifest_written_into_an_image_reads_back_into_the_same_verdict() -> None:
    """The static path: release row → manifest note in an ELF → description → verdict."""
    release = release_line().release("1.2.0")
    image = ObjectImage(sections=[Section(".text", 0x0, bytearray(b"\x13\x00\x00\x00"), 4, "ax")],
                        manifest=release.manifest())
    manifest = read_manifest(write_elf(image))
    assert manifest is not None
    fw = FirmwareDescription.from_manifest(manifest.entries)
    assert fw == FirmwareDescription.from_release(release)
    assert evaluate(driver_line().release("1.0.0"), fw) == verdict("1.0.0", "1.2.0")


_VERSIONS = st.builds(Version, st.integers(1, 3), st.integers(0, 3), st.integers(0, 1))
_GENS = st.sets(st.integers(1, 3), min_size=1).map(lambda s: tuple(sorted(s)))
_FEATURES = st.sets(st.sampled_from([f.name for f in abi().features]))


@settings(max_examples=100)
@given(dv=_VERSIONS, fv=_VERSIONS, dgens=_GENS, fgens=_GENS, lo=_VERSIONS, hi=_VERSIONS, has=_FEATURES,
       needs=_FEATURES, others=st.lists(_VERSIONS, max_size=6), force=st.booleans())
def test_rules_hold_for_any_pair(dv, fv, dgens, fgens, lo, hi, has, needs, others, force) -> None:
    op = DriverOp("op", None, tuple(sorted(needs)), "")
    driver = DriverRelease(dv, dgens, (op,))
    fw = FirmwareDescription(fv, fgens, min(lo, hi), max(lo, hi), tuple(sorted(has)))
    v = evaluate(driver, fw, force=force, versions=others)
    rules = {r.rule for r in v.blocking()}
    never = bool(rules & {"abi", "driver_range"})
    assert v.distance == release_distance(dv, fv, others)
    assert (v.abi is None) == (not set(dgens) & set(fgens))
    if never:
        assert (v.status, v.forceable, v.forced) == ("incompatible", False, False)
    elif v.distance > 2:
        assert v.forceable and v.forced == force and v.ok == force
    else:
        assert v.ok and not v.forceable
    if v.ok:
        assert v.missing_features == tuple(sorted(needs - has))
        assert v.status == ("degraded" if needs - has else "compatible_with_warning"
                            if v.distance == 2 or v.forced else "compatible")
    assert Verdict.from_dict(json.loads(v.to_json())) == v
