"""Never trust a descriptor: random descriptors always complete, never trap the firmware, and the
firmware serves the next good command."""

from __future__ import annotations

import struct

import pytest
from fwharness import FwHarness
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.abi import abi

TABLE = abi()
HBM = 0x8000_0000
_OPEN: dict[tuple[str, int], FwHarness] = {}

# Addresses: anywhere, or in the harness's data area (never its rings, below HBM + 0x10000).
addresses = st.one_of(st.integers(0, 0xFFFF_FFFF),
                      st.sampled_from([HBM + 0x10000, HBM + 0x20000, HBM + 0x20040, HBM + 0x0FFF_FFE0,
                                       0x0010_0000, 0]))
sizes = st.one_of(st.integers(0, 0xFFFF_FFFF), st.integers(0, 4096), st.sampled_from([0, 1, 64, 0xFFFF_FFFF]))


def shared(version: str, gen: int) -> FwHarness:
    if (version, gen) not in _OPEN:
        _OPEN[(version, gen)] = FwHarness(version).open(gen, entries=64)
    return _OPEN[(version, gen)]


@st.composite
def descriptors(draw: st.DrawFn, gen: int) -> bytes:
    """A descriptor of the basic commands (or a random opcode) with adversarial arguments."""
    g = TABLE.generation(gen)
    names = ["NOP", "FENCE", "GET_INFO", "CHECKSUM", "COPY"]
    data = bytearray(draw(st.binary(min_size=g.descriptor_size, max_size=g.descriptor_size)))
    if draw(st.booleans()):  # a well-formed header around random arguments
        data[: g.args_offset] = bytes(g.args_offset)
        op = TABLE.opcode(draw(st.sampled_from(names)))
        o = g.header.field("opcode")
        data[o.offset: o.offset + o.size] = op.code.to_bytes(o.size, "little")
        if gen == 2:
            data[g.header.field("flags").offset] = 1
        for f in op.args:
            at = g.args_offset + f.offset
            if f.type == "addr":
                struct.pack_into("<I", data, at, draw(addresses))
            elif f.name == "size":
                struct.pack_into("<I", data, at, draw(sizes))
    return bytes(data)


def check(h: FwHarness, data: bytes) -> None:
    h.submit_raw(data)
    (done,) = h.wait(budget=4_000_000_000)
    assert TABLE.status(done.code).name == done.status
    assert h.field("ctrl.state.state") == "ready"
    assert not any(e.cause == "fw_trap" for e in h.dev.errors)
    assert h.run("NOP").status == "OK"


@pytest.mark.parametrize(("version", "gen"), [("1.3.0", 1), ("2.1.0", 2)])
@settings(max_examples=25)
@given(data=st.data())
def test_random_descriptors_complete_and_the_firmware_goes_on(version: str, gen: int,
                                                              data: st.DataObject) -> None:
    h = shared(version, gen)
    check(h, data.draw(descriptors(gen)))


@pytest.mark.long
@pytest.mark.parametrize(("version", "gen"), [("1.3.0", 1), ("2.0.0", 1), ("2.0.0", 2), ("2.1.0", 2)])
@settings(max_examples=500)
@given(data=st.data())
def test_random_descriptors_long(version: str, gen: int, data: st.DataObject) -> None:
    h = shared(version, gen)
    check(h, data.draw(descriptors(gen)))
