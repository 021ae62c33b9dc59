"""A rejected descriptor is logged in the device error log (feature cmd_errlog): cause
cmd_rejected with the completion's status code and detail, written through fw_err.log, so
the host gets no fatal interrupt, the driver no recovery, and the next command is served."""

from __future__ import annotations

import struct

import pytest
from fwharness import FwHarness
from opsharness import releases

import driver
from driver.errors import CommandFailed
from driver.recovery import read_errlog
from driver.transport import InProcess
from firmware.abi import abi

TABLE = abi()
HBM = 0x8000_0000
LOGGING = releases("cmd_errlog")
SILENT = [v for v in releases() if v not in LOGGING]


def opened(version: str) -> FwHarness:
    return FwHarness(version).open()


def malformed(h: FwHarness) -> list[tuple[bytes, str, int]]:
    """(descriptor, status, detail): one of each kind of bad descriptor."""
    layout = TABLE.descriptor_layout(h.gen, "CHECKSUM")
    header = TABLE.generation(h.gen).header
    buf = h.alloc(256)
    nop = bytearray(h.descriptor("NOP"))
    op = header.field("opcode")
    struct.pack_into("<H" if op.size == 2 else "<B", nop, op.offset, 0x7F)
    a, b = h.alloc(4096), h.alloc(4096)
    return [
        (bytes(nop), "BAD_OPCODE", op.offset),
        (h.descriptor("CHECKSUM", src=HBM - 64, size=64), "BAD_ADDRESS", HBM - 64),
        (h.descriptor("CHECKSUM", src=buf + 4, size=64), "MISALIGNED", buf + 4),
        (h.descriptor("CHECKSUM", src=buf, size=0), "BAD_SIZE", layout.field("size").offset),
        (h.descriptor("COPY", src=a, dst=a + 64, size=256), "OVERLAP", a + 64),
        (h.descriptor("MATMUL", a=a, b=b, c=h.alloc(4096), bias=0, m=0x10000, n=0x10000, k=8, dtype="fp16"),
         "SIZE_OVERFLOW", None),
    ]


@pytest.mark.parametrize("version", LOGGING)
def test_each_rejected_descriptor_is_logged_without_a_fatal_irq(version: str) -> None:
    h = opened(version)
    for data, status, detail in malformed(h):
        before = h.rd("errlog.count")
        h.submit_raw(data)
        (done,) = h.wait()
        assert done.status == status
        if detail is not None:
            assert done.detail == detail
        assert h.rd("errlog.count") == before + 1
        entry = h.errlog()[-1]
        assert entry["cause"] == "cmd_rejected"
        assert entry["status"] == TABLE.status(status).code
        assert entry["addr"] == done.detail
        assert h.symbol("log_cmd_error") <= entry["pc"] < h.symbol("log_cmd_error") + 0x100
        assert h.dev.regs.peek("host_irq.status") & h.dev.irq.bits["fw_fatal"] == 0
        assert h.dev.errors == []  # a log entry, not a device error
        assert h.field("ctrl.state.state") == "ready"
        assert h.run("NOP").status == "OK"  # the next good command is served, not a DEVICE_ERROR


@pytest.mark.parametrize("version", SILENT[-1:])
def test_releases_without_the_feature_keep_the_log_for_device_errors(version: str) -> None:
    h = opened(version)
    h.submit_raw(h.descriptor("CHECKSUM", src=HBM - 64, size=64))
    assert h.wait()[0].status == "BAD_ADDRESS"
    assert h.rd("errlog.count") == 0
    assert h.cmd_errors()[-1]["status"] == TABLE.status("BAD_ADDRESS").code


def test_a_device_error_is_not_logged_twice() -> None:
    h = opened(LOGGING[-1])
    src, dst = h.alloc(256), h.alloc(256)
    h.dev.inject("dma_error", on="dma")
    assert h.run("COPY", src=src, dst=dst, size=256).status == "DEVICE_ERROR"
    assert [e["cause"] for e in h.errlog()] == ["injected"]


def test_the_driver_reads_a_rejection_and_does_not_recover() -> None:
    """A raw command the firmware refuses (BAD_ADDRESS) fails its wait; no recovery, no reset,
    and the driver's error-log reader names the cause, the status and the detail."""
    t = InProcess()
    dev = driver.open(LOGGING[-1], transport=t)
    ready = dev.live.ready_tick
    cmd = dev.submit("CHECKSUM", src=HBM - 64, size=64)
    with pytest.raises(CommandFailed, match="BAD_ADDRESS"):
        cmd.wait()
    assert dev.recoveries == [] and dev.live.ready_tick == ready
    entry = read_errlog(dev.regs)[-1]
    assert (entry.cause, entry.status, entry.addr) == ("cmd_rejected", "BAD_ADDRESS", HBM - 64)
    assert not entry.fatal
    assert str(entry).startswith("cmd_rejected BAD_ADDRESS at tick ") and "detail 0x7fffffc0" in str(entry)
    assert t.device.regs.peek("host_irq.status") & t.device.irq.bits["fw_fatal"] == 0
    assert dev.nop().status == "OK"
