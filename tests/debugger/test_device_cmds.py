"""info device, info queue, info pipes and catch race on the real firmware; views never change the device."""

from __future__ import annotations

import re

import numpy as np
import pytest

from firmware import abi as abi_codec
from firmware.hw.hazards import Race
from tests.debugger.conftest import run


def _queue_now(session, command_id: int, slot: int, opcode: str = "NOP") -> None:
    """Put a descriptor in queue 0's ring and ring the doorbell with no device time passing."""
    dev = session.device
    base = dev.regs.peek("queue0.sq_base")
    data = abi_codec.encode_descriptor(2, opcode, command_id=command_id, queue=0, flags="irq")
    session.write_memory(base + slot * len(data), data)
    dev.regs.write("queue0.sq_tail", slot + 1, "host", origin="test host")
    dev.regs.write("queue0.sq_doorbell", 1, "host", origin="test host")


def test_info_device(session, host) -> None:
    dev = session.device
    lines = run(session, "info device").splitlines()
    where = session.code.symbolic(dev.core.pc)
    busy = "  ".join(f"{p} {dev.regs.peek(f'perf.busy_{p}')}" for p in dev.pipes.names)
    assert lines == [
        f"NPU default  device id 0x4e505531  hw rev 1.0  tick {dev.now}",
        "Driver      2.1.0 (release profile)    Firmware  2.1.0 (npu-fw-2.1.0.elf)",
        "Live        fw_version 2.1.0  ABI supported 2  selected 2  driver -  handshake accepted",
        f"State       ready (debugger: asleep),  core pc 0x{dev.core.pc:08x} <{where}>",
        "Thermal     25.4 C  throttle no (above 65.0 C)  clock 1000 MHz",
        "Queues      queue0 0/16 pending, 0 completions unread; queue1 0/16 pending, 0 completions unread",
        f"Counters    commands done 0  core cycles {dev.core.cycles}  instructions {dev.core.instret}",
        f"Busy        {busy}  (unit cycles)",
        "Watchdog    off  timeout 100000000  expired 0",
        "Races       0   Errors  0 (error log: 0, lost 0)",
    ]
    assert session.code.symbolic(dev.core.pc).startswith("main_loop")


def test_views_do_not_change_the_device(session, host) -> None:
    host.submit("NOP")
    run(session, "continue")
    dev = session.device
    before = (dev.regs.values(), dev.now, dev.core.pc, dev.core.cycles)
    run(session, "info device", "info queue", "info pipes", "info version", "compat check")
    assert (dev.regs.values(), dev.now, dev.core.pc, dev.core.cycles) == before


def test_info_queue_shows_in_flight_pending_and_unread(session, host) -> None:
    run(session, "break handle_nop")
    _queue_now(session, 7, 0)
    run(session, "continue")
    _queue_now(session, 8, 1)
    assert run(session, "info queue 0").splitlines() == [
        "QUEUE0 (enabled, ABI 2): submission ring 0x80000000 x16 (64 B)  head 1 tail 2; completion ring "
        "0x80001000 x16 (32 B)  head 0 tail 0",
        "  sq[ 0] IN FLIGHT NOP command_id=7 queue=normal flags=irq",
        "  sq[ 1] pending   NOP command_id=8 queue=normal flags=irq",
    ]
    run(session, "delete", "continue")
    assert run(session, "info queue 0").splitlines()[1:] == [
        "  sq[ 0] done      NOP command_id=7 queue=normal flags=irq",
        "  sq[ 1] done      NOP command_id=8 queue=normal flags=irq",
        "  cq[ 0] unread    completion command_id=7 status=OK opcode=NOP cycles=83 value=0 detail=0 "
        "queue=normal",
        "  cq[ 1] unread    completion command_id=8 status=OK opcode=NOP cycles=83 value=0 detail=0 "
        "queue=normal",
    ]
    assert run(session, "info queue 1").splitlines()[1:] == ["  nothing pending, nothing unread"]


def test_info_queue_before_the_driver_programs_it(session) -> None:
    assert run(session, "info queue") == \
        "QUEUE0: disabled (not programmed)\nQUEUE1: disabled (not programmed)\n"
    assert session.run_command("info queue 5") is False
    assert session.out.take() == "no queue 5 (queues 0..1)\n"


def test_info_pipes_while_an_eltwise_streams(session, host) -> None:
    buf = host.h.put(np.arange(4096, dtype=np.float32))
    host.submit("ELTWISE", a=buf, b=buf, out=buf + 16384, count=4096, op="add", dtype="fp32")
    assert run(session, "info pipes") == (
        "pipe  state     queued  now\nMTE1  idle           0\nMTE2  idle           0\n"
        "M     idle           0\nV     idle           0\nMTE3  idle           0\nFlags set: none\n")
    run(session, "break stream_run", "continue", "delete")
    for _ in range(25):
        run(session, "stepi 5")
    lines = run(session, "info pipes").splitlines()
    patterns = [
        r"pipe  state     queued  now",
        r"MTE1  idle           0",
        r"MTE2  busy           2  npu.dma at pc 0x[0-9a-f]{8} \(mte2\) ticks (\d+)\.\.(\d+) \((\d+) left\)",
        r"                        queued: npu.dma at pc 0x[0-9a-f]{8} \(mte2\)",
        r"                        queued: npu.setflag at pc 0x[0-9a-f]{8} \(mte2\)",
        r"M     idle           0",
        r"V     waiting        1  waits for mte2->v event \d+ since tick \d+",
        r"                        queued: npu.waitflag at pc 0x[0-9a-f]{8} \(v\)",
        r"MTE3  idle           0",
        r"Flags set: mte3->mte2 event \d+",
    ]
    assert len(lines) == len(patterns)
    for line, pat in zip(lines, patterns, strict=True):
        assert re.fullmatch(pat, line), line
    start, end, left = map(int, re.fullmatch(patterns[2], lines[2]).groups())
    assert start <= session.device.now < end and left == end - session.device.now


def test_catch_race_stops_when_the_device_reports_one(session, host) -> None:
    assert run(session, "catch race") == "Catchpoint 1 (race)\n"
    dev = session.device

    def racy(entry) -> None:  # the device's own race report path, as a missing flag would take it
        if entry.key == "npu_dma":
            dev.front.report_races([Race(entry, entry, "read-after-write", 0x2000_0000, 0x2000_0040)])

    dev.on_issue.append(racy)
    buf = host.h.put(np.arange(64, dtype=np.float32))
    host.submit("ELTWISE", a=buf, b=buf, out=buf + 256, count=64, op="add", dtype="fp32")
    out = run(session, "continue")
    race = dev.races[0]
    pc = race.second.pc
    assert out.splitlines()[0] == (
        f"Catchpoint 1 (race): race (read-after-write) on 0x20000000..0x20000040: npu.dma at pc 0x{pc:08x} "
        f"(mte2) while npu.dma at pc 0x{pc:08x} (mte2) is in flight, no flag orders them")
    assert session.code.symbolic(pc).startswith("dma_2d+")
    assert session.stops.last.reason == "catchpoint" and session.stops.last.number == 1
    assert "race (unordered accesses between pipes)" in run(session, "info breakpoints")
    run(session, "delete 1")
    assert dev.on_race == []


@pytest.mark.parametrize("line", ["info device", "info queue", "info pipes"])
def test_device_views_work_on_a_fresh_device(line) -> None:
    from debugger.session import Session

    s = Session(boot=False)
    assert s.run_command(line) is True
