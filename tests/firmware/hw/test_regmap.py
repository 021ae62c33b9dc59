"""The register map model: lookups, display names, decode/encode, errors, layout rules."""

from __future__ import annotations

import subprocess
import sys

import pytest

from firmware.hw.regmap import RegisterError, canonical, display_name, regmap
from isa.errors import NpuError
from isa.memmap import region

REQUIRED_BLOCKS = {
    "id", "version", "ctrl", "host_irq", "queue0", "queue1", "fw_load", "dma", "perf", "wdog",
    "thermal", "features", "errlog", "core_irq", "timer",
}
# The units raise device errors by these names; they are a contract, not a detail.
DEVICE_ERRORS = [
    "none", "dma_bad_descriptor", "dma_out_of_range", "dma_bad_route", "dma_bad_layout",
    "cube_bad_operand", "cube_bad_shape", "cube_bad_dtype", "vec_bad_operand", "vec_bad_length",
    "vec_bad_dtype", "sync_bad_pipe", "deadlock", "race", "cfg_bad_index", "cfg_read_only",
    "watchdog", "fw_trap", "injected",
]


def test_map_has_the_required_blocks_with_descriptions() -> None:
    rmap = regmap()
    assert {b.name for b in rmap.blocks} >= REQUIRED_BLOCKS
    for reg in rmap.registers:
        assert reg.desc, reg.path
        assert reg.fields, reg.path
        assert all(f.desc for f in reg.fields), reg.path


def test_device_error_enum_keeps_the_names_units_raise() -> None:
    enum = regmap().enums["device_error"]
    names = [v.name for v in enum.values]
    assert names[: len(DEVICE_ERRORS)] == DEVICE_ERRORS
    assert enum.by_name["none"].value == 0
    for path in ("dma.err_cause", "errlog.entry[0].cause.cause", "fw_err.cause.cause"):
        assert regmap().field(path).enum is enum


def test_layout_fits_the_mmio_region_without_overlap() -> None:
    rmap = regmap()
    mmio = region("mmio")
    assert rmap.mmio_base == mmio.base
    offsets = [r.offset for r in rmap.registers]
    assert len(set(offsets)) == len(offsets)
    for reg in rmap.registers:
        assert reg.offset % 4 == 0 and reg.width == 32
        assert mmio.contains(reg.address, reg.width // 8), reg.path
        assert reg.address == mmio.base + reg.offset
        used = 0
        for f in reg.fields:
            assert f.mask & used == 0, f.path
            assert f.msb < reg.width and 0 <= f.reset < 1 << f.width, f.path
            used |= f.mask
        assert reg.reset == sum(f.reset << f.lsb for f in reg.fields)


def test_host_visible_blocks_come_before_firmware_only_ones() -> None:
    blocks = regmap().blocks
    visible = [b.offset for b in blocks if b.host_visible]
    hidden = [b.offset for b in blocks if not b.host_visible]
    assert hidden and max(visible) < min(hidden)
    assert {b.name for b in blocks if not b.host_visible} >= {"core_irq", "timer"}
    for b in blocks:
        for reg in b.registers:
            if not reg.host_visible:
                assert reg.host == "na" and all(f.host == "na" for f in reg.fields)


def test_queue_rights_differ_by_side() -> None:
    rmap = regmap()
    for q in ("queue0", "queue1"):
        assert (rmap.register(f"{q}.sq_tail").host, rmap.register(f"{q}.sq_tail").fw) == ("rw", "r")
        assert (rmap.register(f"{q}.sq_head").host, rmap.register(f"{q}.sq_head").fw) == ("r", "rw")
        assert (rmap.register(f"{q}.cq_tail").host, rmap.register(f"{q}.cq_tail").fw) == ("r", "rw")
        assert rmap.register(f"{q}.sq_doorbell").side_effects == ("strobe",)
    names = [[r.name for r in rmap.block(q).registers] for q in ("queue0", "queue1")]
    assert names[0] == names[1]


def test_paths_and_display_names_are_one_name_in_two_spellings() -> None:
    rmap = regmap()
    reg = rmap.register("queue0.sq_tail")
    assert rmap.register("QUEUE0.SQ_TAIL") is reg
    assert rmap.register(" Queue0.Sq_Tail ") is reg
    assert reg.display == "QUEUE0.SQ_TAIL" == display_name(reg.path)
    assert canonical(reg.display) == reg.path
    assert rmap.display_name(reg.path) == reg.display and rmap.canonical(reg.display) == reg.path
    assert rmap.at_offset(reg.offset) is reg
    assert rmap.at_address(reg.address) is reg
    assert rmap.at_offset(reg.offset + 2) is None
    assert rmap.register("ERRLOG.ENTRY[3].PC").path == "errlog.entry[3].pc"
    constants = rmap.constants()
    assert constants["QUEUE0_SQ_TAIL"] == reg.offset
    assert constants["ERRLOG_ENTRY3_PC"] == rmap.register("errlog.entry[3].pc").offset
    assert len(constants) == len(rmap.registers)


def test_field_lookup_by_register_or_full_path() -> None:
    rmap = regmap()
    f = rmap.field("dma.err_cause")
    assert rmap.field("DMA.ERR_CAUSE.CAUSE") is f
    assert f.path == "dma.err_cause.cause"
    assert rmap.find("dma.err_cause").path == "dma.err_cause"
    assert rmap.find("host_irq.status.cq1") is rmap.field("host_irq.status.cq1")
    with pytest.raises(RegisterError) as err:
        rmap.field("version.fw_version")
    assert str(err.value) == "register VERSION.FW_VERSION has 3 fields; name one of PATCH, MINOR, MAJOR"


@pytest.mark.parametrize(
    ("call", "name", "hint"),
    [
        ("register", "queue0.sq_tal", "QUEUE0.SQ_TAIL"),
        ("register", "HOST_IRQ.STATS", "HOST_IRQ.STATUS"),
        ("field", "dma.err_cause.caus", "DMA.ERR_CAUSE.CAUSE"),
        ("block", "wdgo", "WDOG"),
    ],
)
def test_unknown_names_give_one_line_with_a_suggestion(call: str, name: str, hint: str) -> None:
    with pytest.raises(RegisterError) as err:
        getattr(regmap(), call)(name)
    message = str(err.value)
    assert isinstance(err.value, NpuError)
    assert "\n" not in message
    assert message.endswith(f"'{name}'; did you mean {hint}?")


def test_unknown_name_without_a_close_match_has_no_suggestion() -> None:
    with pytest.raises(RegisterError, match=r"^no register named 'zzzz'$"):
        regmap().register("zzzz")


def test_decode_names_enum_members() -> None:
    rmap = regmap()
    handshake = rmap.enums["handshake"]
    value = handshake.by_name["accepted"].value
    assert rmap.decode("version.handshake", value) == [("status", value, "accepted")]
    fw = rmap.register("version.fw_version")
    decoded = rmap.decode("VERSION.FW_VERSION", (1 << fw.field_named("major").lsb) | 7)
    assert [(d.field, d.value, d.enum) for d in decoded] == [("patch", 7, None), ("minor", 0, None),
                                                            ("major", 1, None)]


def test_encode_takes_numbers_and_enum_names() -> None:
    rmap = regmap()
    state = rmap.field("ctrl.state")
    fault = rmap.enums["device_state"].by_name["fault"].value
    assert rmap.encode("ctrl.state", state="FAULT") == fault << state.lsb
    fw = rmap.register("version.fw_version")
    value = rmap.encode("version.fw_version", major=2, minor=3, patch=4)
    assert [d.value for d in rmap.decode(fw.path, value)] == [4, 3, 2]
    assert rmap.encode("host_irq.status") == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"state": "sleepy"}, "CTRL.STATE.STATE: 'sleepy' is not a value of this field (one of off, reset,"),
        ({"state": 8}, "CTRL.STATE.STATE: 8 does not fit in 3 bits"),
        ({"stat": 1}, "no field named 'ctrl.state.stat'; did you mean CTRL.STATE.STATE?"),
    ],
)
def test_encode_errors_name_the_field(kwargs: dict, message: str) -> None:
    with pytest.raises(RegisterError) as err:
        regmap().encode("ctrl.state", **kwargs)
    assert str(err.value).startswith(message)


def test_describe_shows_place_rights_and_decoded_fields() -> None:
    rmap = regmap()
    reg = rmap.register("host_irq.status")
    cq1 = rmap.field("host_irq.status.cq1")
    text = rmap.describe("HOST_IRQ.STATUS", cq1.mask)
    lines = text.splitlines()
    assert lines[0].startswith(f"HOST_IRQ.STATUS  offset 0x{reg.offset:04x}  address 0x{reg.address:08x}")
    assert lines[1] == f"  {reg.desc}"
    assert "effects: w1c" in lines[2]
    assert any(line.split()[:2] == [str(cq1.lsb), "CQ1"] and "= 0x1" in line for line in lines)
    hidden = rmap.describe("core_irq.pending")
    assert "host: na (firmware only)" in hidden


def test_names_list_every_register_for_completion() -> None:
    rmap = regmap()
    words = set(rmap.names())
    assert {r.display for r in rmap.registers} <= words
    assert "QUEUE1" in words and "DMA.ERR_CAUSE.CAUSE" in words


def test_importing_the_model_does_not_import_the_rdl_compiler() -> None:
    code = (
        "import sys; from firmware.hw.regmap import regmap; from firmware.hw.regfile import RegisterFile;"
        "RegisterFile(regmap()).read('queue0.sq_tail', 'host');"
        "assert 'systemrdl' not in sys.modules, 'systemrdl imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
