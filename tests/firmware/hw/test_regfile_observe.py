"""Observers and hooks: who sees which access, with which values, and when hooks run."""

from __future__ import annotations

import pytest

from firmware.hw.regfile import Access, RegisterFile
from firmware.hw.regmap import RegisterError, regmap

RMAP = regmap()




def record(regs: RegisterFile) -> list[Access]:
    seen: list[Access] = []
    regs.observe(seen.append)
    return seen


def test_observers_see_host_writes_with_the_call_site(regs: RegisterFile) -> None:
    seen = record(regs)
    tail = RMAP.register("queue0.sq_tail")
    regs.write(tail.offset, 3, "host", origin="driver/queues.py:42")
    assert seen == [
        Access("host", "write", tail.path, tail.offset, 32, 0, 3, 100, "driver/queues.py:42"),
        Access("host", "change", tail.path, tail.offset, 32, 0, 3, 100, "driver/queues.py:42"),
    ]


def test_observers_see_firmware_reads_with_the_pc(regs: RegisterFile) -> None:
    seen = record(regs)
    rev = RMAP.register("id.hw_rev")
    value = regs.read(rev.address, "firmware", origin=0x1F4)
    assert value == rev.reset
    assert seen == [Access("firmware", "read", rev.path, rev.offset, 32, rev.reset, rev.reset, 100, 0x1F4)]


def test_an_ignored_write_is_an_access_but_not_a_change(regs: RegisterFile) -> None:
    seen = record(regs)
    head = RMAP.register("queue1.sq_head")  # the host may only read it
    regs.write(head.offset, 9, "host")
    assert [(a.kind, a.old, a.new) for a in seen] == [("write", 0, 9)]
    assert regs.peek(head.path) == 0


def test_a_w1c_write_reports_the_data_and_the_change(regs: RegisterFile) -> None:
    status = RMAP.register("host_irq.status")
    cq0, cq1 = (RMAP.field(f"host_irq.status.{n}").mask for n in ("cq0", "cq1"))
    regs.write(status.path, cq0 | cq1, "unit", origin="cube")
    seen = record(regs)
    regs.write(status.offset, cq1, "host")
    assert [(a.side, a.kind, a.old, a.new) for a in seen] == [
        ("host", "write", cq0 | cq1, cq1),
        ("host", "change", cq0 | cq1, cq0),
    ]


def test_a_clear_on_read_read_reports_the_value_and_the_clear(regs: RegisterFile) -> None:
    lost = RMAP.register("errlog.lost")
    regs.write(lost.path, 4, "unit")
    seen = record(regs)
    assert regs.read(lost.offset, "host") == 4
    assert [(a.kind, a.old, a.new) for a in seen] == [("read", 4, 4), ("change", 4, 0)]


def test_peek_is_invisible_and_changes_nothing(regs: RegisterFile) -> None:
    for path in ("errlog.lost", "host_irq.status", "wdog.expired"):
        regs.write(path, 1, "unit")
    seen = record(regs)
    for path in ("errlog.lost", "host_irq.status", "wdog.expired"):
        assert regs.peek(path) == regs.peek(path.upper()) == 1
    assert seen == []


def test_poke_is_a_change_by_the_debugger(regs: RegisterFile) -> None:
    seen = record(regs)
    hooked = []
    regs.on_write("queue0.sq_doorbell", hooked.append)
    regs.poke("queue0.sq_doorbell", 1)  # no strobe, no hook
    regs.poke("timer.mtime_lo", 77, origin="set var")
    regs.poke("timer.mtime_lo", 77)
    assert hooked == []
    assert [(a.side, a.kind, a.path, a.old, a.new, a.origin) for a in seen] == [
        ("debugger", "change", "queue0.sq_doorbell", 0, 1, "debugger"),
        ("debugger", "change", "timer.mtime_lo", 0, 77, "set var"),
    ]


def test_units_and_reset_are_observed(regs: RegisterFile) -> None:
    seen = record(regs)
    regs.set_bits("wdog.expired", 1, origin="watchdog")
    regs.reset()
    assert [(a.side, a.kind, a.path, a.new, a.origin) for a in seen] == [
        ("unit", "write", "wdog.expired", 1, "watchdog"),
        ("unit", "change", "wdog.expired", 1, "watchdog"),
        ("unit", "change", "wdog.expired", 0, "reset"),
    ]


def test_unobserve_stops_events_and_fields_decode_lazily(regs: RegisterFile) -> None:
    seen = record(regs)
    regs.write("version.handshake", RMAP.encode("version.handshake", status="ready"), "firmware")
    regs.unobserve(seen.append)
    regs.write("version.handshake", 0, "firmware")
    assert len(seen) == 2
    assert seen[0].fields() == [("status", RMAP.enums["handshake"].by_name["ready"].value, "ready")]


def test_without_observers_no_event_is_built(regs: RegisterFile, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_args: object) -> None:
        raise AssertionError("event built with no observer")

    monkeypatch.setattr(regs, "_note", fail)
    monkeypatch.setattr(regs, "clock", fail)
    regs.write("host_irq.status", 1, "host")
    regs.read("errlog.lost", "host")
    regs.reset()


def test_write_hooks_get_the_written_value_after_it_is_stored(regs: RegisterFile) -> None:
    calls = []

    @regs.on_write("QUEUE1.SQ_TAIL")
    def tail_moved(access: Access) -> None:
        stored = regs.peek(access.path)
        calls.append((access.side, access.kind, access.old, access.new, access.origin, stored))

    regs.write("queue1.sq_tail", 6, "host", origin="site")
    regs.write("queue1.sq_tail", 7, "firmware")  # firmware may only read it: no hook
    regs.write("queue1.sq_tail", 8, "unit")  # units do not run software hooks by default
    assert calls == [("host", "write", 0, 6, "site", 6)]


def test_hooks_for_units_when_asked(regs: RegisterFile) -> None:
    calls = []
    regs.on_write("perf.cmd_done", calls.append, sides=("unit",))
    regs.write("perf.cmd_done", 5, "unit")
    regs.write("perf.cmd_done", 6, "host")
    assert [(a.side, a.new) for a in calls] == [("unit", 5)]


def test_host_writes_to_firmware_only_registers_run_no_hook(regs: RegisterFile) -> None:
    calls = []
    regs.on_write("core_irq.pending", calls.append)
    pending = RMAP.register("core_irq.pending")
    regs.poke(pending.path, 1)
    regs.write(pending.offset, 1, "host")
    assert calls == []
    regs.write(pending.address, 1, "firmware")
    assert [a.side for a in calls] == ["firmware"] and regs.peek(pending.path) == 0


def test_read_hooks_run_first_and_may_refresh_the_value(regs: RegisterFile) -> None:
    now = {"cycles": 0x1_2345_6789}

    @regs.on_read("perf.cycle_lo")
    def latch(access: Access) -> None:
        regs.write("perf.cycle_lo", now["cycles"] & 0xFFFFFFFF, "unit")
        regs.write("perf.cycle_hi", now["cycles"] >> 32, "unit")

    assert regs.read("perf.cycle_lo", "host") == 0x2345_6789
    assert regs.read("perf.cycle_hi", "host") == 1
    assert regs.peek("perf.cycle_lo") == 0x2345_6789


@pytest.mark.parametrize(
    ("path", "kind", "message"),
    [
        ("queue0.doorbell", "write", "no register named 'queue0.doorbell'; did you mean QUEUE0.SQ_DOORBELL?"),
        ("id.device_id", "write",
         "ID.DEVICE_ID: no side of host, firmware can write it; the hook would never run"),
        ("wdog.pet", "read", "WDOG.PET: no side of host, firmware can read it; the hook would never run"),
    ],
)
def test_hooks_on_paths_the_map_lacks_fail_at_registration(regs: RegisterFile, path: str, kind: str,
                                                           message: str) -> None:
    with pytest.raises(RegisterError) as err:
        getattr(regs, f"on_{kind}")(path, lambda access: None)
    assert str(err.value) == message
