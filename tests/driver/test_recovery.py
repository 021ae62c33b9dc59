"""Fault injection through the device's hooks: every fault is recovered, reported, and no accepted
command is lost (each completes, is resubmitted, or fails with a clear error)."""

from __future__ import annotations

import numpy as np
import pytest

import driver
from driver.errors import CommandFailed
from driver.transport import InProcess

DATA = np.arange(2000, dtype=np.int32)


def opened(**options) -> tuple[InProcess, driver.Device]:
    t = InProcess()
    return t, driver.open("2.1.0", transport=t, **options)


def test_a_firmware_hang_is_caught_by_the_watchdog_and_recovered() -> None:
    t, dev = opened()
    t.device.inject("hang", on="doorbell")
    np.testing.assert_array_equal(dev.copy(DATA), DATA)
    (report,) = dev.recoveries
    assert report.fault == "watchdog" and report.reset
    assert [e.cause for e in report.errlog] == ["watchdog"]
    assert report.resubmitted == (1,) and report.failed == ()
    assert report.tick >= dev.watchdog_ticks  # the watchdog, not the driver's timeout, noticed it
    assert "recovered from watchdog" in str(report) and "resubmitted 1 command(s) [1]" in str(report)
    assert dev.nop().status == "OK"  # the device serves again


def test_a_hang_without_watchdog_ends_in_the_drivers_timeout() -> None:
    t, dev = opened(watchdog_ticks=None, timeout_ticks=5_000_000)
    t.device.inject("hang", on="doorbell")
    np.testing.assert_array_equal(dev.copy(DATA), DATA)
    (report,) = dev.recoveries
    assert report.fault == "timeout"
    assert report.detail.startswith("command 1 (COPY) not complete after")
    assert report.resubmitted == (1,)


def test_every_command_in_flight_survives_a_firmware_trap() -> None:
    t, dev = opened()
    t.device.inject("trap", on="doorbell")
    xs = [DATA + i for i in range(4)]
    pending = [dev.copy(x, wait=False) for x in xs]
    results = [p.wait() for p in pending]
    for x, r in zip(xs, results, strict=True):
        np.testing.assert_array_equal(r, x)
    (report,) = dev.recoveries
    assert report.fault == "fw_fatal"
    assert [e.cause for e in report.errlog] == ["fw_trap"]
    assert set(report.resubmitted) | set(report.completed_before_reset) == {1, 2, 3, 4}
    assert report.resubmitted == tuple(sorted(report.resubmitted))  # oldest first
    assert not dev.engine.pending


def test_a_lost_irq_falls_back_to_polling() -> None:
    t, dev = opened()
    t.device.inject("lost_irq", on="doorbell")
    np.testing.assert_array_equal(dev.copy(DATA), DATA)
    assert dev.engine.lost_irqs == 1 and not dev.engine.irq_mode
    assert dev.engine.events[0].endswith("completions arrived without an interrupt (lost IRQ)")
    assert dev.recoveries == []
    np.testing.assert_array_equal(dev.copy(DATA * 2), DATA * 2)  # polling keeps working


def test_a_dma_error_reruns_the_command_without_a_reset() -> None:
    t, dev = opened()
    t.device.inject("dma_error", on="doorbell")
    np.testing.assert_array_equal(dev.copy(DATA), DATA)
    (report,) = dev.recoveries
    assert (report.fault, report.reset, report.dma_error, report.resubmitted) == ("device_error", False,
                                                                                 "injected", (1,))
    assert [e.cause for e in report.errlog] == ["injected"]
    assert "no reset needed" in str(report)


def test_a_persistent_device_error_is_reported_not_retried_forever() -> None:
    t, dev = opened()
    bell = dev.regs.map.register("queue0.sq_doorbell").offset

    def break_every_attempt(event) -> None:  # each doorbell arms a DMA failure for that attempt
        if event.kind == "write" and event.offset == bell:
            t.device.inject("dma_error", on="doorbell")

    dev.bus.observe(break_every_attempt)
    with pytest.raises(CommandFailed, match=r"COPY \(command 1\) failed: DEVICE_ERROR"):
        dev.copy(DATA)
    dev.bus.unobserve(break_every_attempt)
    assert [r.fault for r in dev.recoveries] == ["device_error", "device_error"]  # attempts 2 and 3
    np.testing.assert_array_equal(dev.copy(DATA), DATA)


def test_a_corrupted_completion_is_noticed_and_the_command_rerun() -> None:
    t, dev = opened()
    t.device.inject("corrupt_completion", on="doorbell")
    np.testing.assert_array_equal(dev.copy(DATA), DATA)
    (report,) = dev.recoveries
    assert report.fault == "corrupt_completion"
    assert "unknown command id 0xfffffffe" in report.detail
    assert report.resubmitted == (1,)


def test_recoveries_are_deterministic() -> None:
    def run() -> list[str]:
        t, dev = opened()
        t.device.inject("trap", on="doorbell")
        dev.copy(DATA)
        return [str(r) for r in dev.recoveries] + [str(dev.bus.now())]

    assert run() == run()


def test_a_device_that_cannot_be_brought_back_fails_every_waiter_loudly() -> None:
    from driver.recovery import DeviceLost

    t, dev = opened()
    t.device.inject("trap", on="doorbell")  # both trigger on the doorbell: one traps the command,
    t.device.inject("trap", on="doorbell")  # the other the boot self-test of the recovery
    first = dev.copy(DATA, wait=False)
    second = dev.copy(DATA, wait=False)
    with pytest.raises(DeviceLost, match=r"recovery from fw_fatal failed: .*boot"):
        first.wait()
    with pytest.raises(DeviceLost):
        second.wait()
    assert not dev.engine.pending


def test_a_command_that_keeps_killing_the_device_is_given_up_loudly() -> None:
    from driver.queues import MAX_ATTEMPTS, Command, CommandLost, Fault

    _, dev = opened()
    engine = dev.engine
    doomed = Command(99, "NOP", {}, 0, engine, attempts=MAX_ATTEMPTS)
    engine.pending[99] = doomed
    engine.faults_seen.append(Fault("watchdog", "host interrupt watchdog", 0))
    assert engine.resubmit() == []
    with pytest.raises(CommandLost, match=r"NOP \(command 99\) failed to complete after 3 attempts with "
                                          "recovery in between: host interrupt watchdog"):
        doomed.wait()
    assert dev.nop().status == "OK"
