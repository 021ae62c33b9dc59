"""Descriptor addresses are checked against the device's HBM size, read at boot from
features.memory: the large configuration's 2 GiB, not the default 256 MiB."""

from __future__ import annotations

import pytest
from fwharness import FwHarness

HBM = 0x8000_0000
MIB = 1 << 20


@pytest.mark.parametrize("version", ["1.3.0", "2.1.0"])
@pytest.mark.parametrize(("config", "hbm_mib"), [("default", 256), ("large", 2048)])
def test_addresses_are_checked_against_the_device_hbm(version: str, config: str, hbm_mib: int) -> None:
    h = FwHarness(version, config=config).open()
    size = hbm_mib * MIB
    assert h.field("features.memory.hbm_mib") == hbm_mib
    assert h.tcm_words(h.symbol("fw_hbm_size"), 1) == [size & 0xFFFF_FFFF]
    inside = [HBM + size - 64, HBM + 200 * MIB]
    outside = [HBM + size] if size < 1 << 31 else []
    for src in inside:
        assert h.run("CHECKSUM", src=src, size=64).status == "OK", hex(src)
    for src in outside + [HBM + 300 * MIB] * (hbm_mib == 256):
        done = h.run("CHECKSUM", src=src, size=64)
        assert (done.status, done.detail) == ("BAD_ADDRESS", src)
    end = h.run("CHECKSUM", src=HBM + size - 64, size=96)  # runs off the end (wraps at 4 GiB on large)
    assert (end.status, end.detail) == ("BAD_ADDRESS", HBM + size - 64)
    if hbm_mib == 2048:
        big = h.run("CHECKSUM", src=HBM + 1024 * MIB, size=64)
        assert big.status == "OK"
