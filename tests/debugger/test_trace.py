"""MMIO, memory and instruction traces recorded while the firmware serves real commands."""

from __future__ import annotations

import itertools
import re

import pytest

from debugger.errors import UsageError
from debugger.trace import tracer
from tests.debugger.conftest import run


def test_mmio_trace_follows_one_nop_from_doorbell_to_interrupt(session, host) -> None:
    run(session, "trace mmio on")
    host.submit("NOP")
    run(session, "continue")
    recs = list(tracer(session).mmio.records)
    first = recs[0]
    assert (first.side, first.kind, first.register, first.value, first.width) == \
        ("host", "write", "QUEUE0.SQ_TAIL", 1, 4)
    assert first.site.startswith("tests/firmware/fwharness.py:") and first.pc is None
    bell = recs[1]
    assert (bell.side, bell.kind, bell.register, bell.site) == \
        ("host", "write", "QUEUE0.SQ_DOORBELL", "test host")
    assert bell.addr == 0x1000_0000 + bell.offset
    fw = [r for r in recs if r.side == "firmware"]
    assert fw and all(r.pc is not None and r.site is None for r in fw)
    assert fw[0].tick > bell.tick
    raise_irq = [r for r in fw if r.register == "HOST_IRQ.RAISE"]
    assert len(raise_irq) == 1 and raise_irq[0].decoded() == "CQ0"
    tail = next(r for r in fw if r.register == "QUEUE0.CQ_TAIL" and r.kind == "write")
    assert (tail.value, tail.decoded()) == (1, "IDX=1")
    assert session.code.symbolic(tail.pc).startswith("complete")
    assert [r.seq for r in recs] == list(range(1, len(recs) + 1))
    assert [r.tick for r in recs] == sorted(r.tick for r in recs)


def test_trace_show_lines(session, host) -> None:
    run(session, "trace mmio on queue0 write")
    host.submit("NOP")
    run(session, "continue")
    lines = run(session, "trace show 3").splitlines()
    assert lines[0] == "MMIO trace: 4 accesses" and len(lines) == 4
    pattern = [
        r" +(\d+)  host W4 QUEUE0.SQ_DOORBELL       -> 0x00000001  RING=1 {24}test host",
        r" +(\d+)  fw   W4 QUEUE0.SQ_HEAD           -> 0x00000001  IDX=1 {25}"
        r"pc 0x([0-9a-f]{8}) <serve_one\+\d+>",
        r" +(\d+)  fw   W4 QUEUE0.CQ_TAIL           -> 0x00000001  IDX=1 {25}"
        r"pc 0x([0-9a-f]{8}) <complete\+\d+>",
    ]
    recs = list(tracer(session).mmio.records)[-3:]
    for line, pat, rec in zip(lines[1:], pattern, recs, strict=True):
        m = re.fullmatch(pat, line)
        assert m, line
        assert int(m.group(1)) == rec.tick
        if rec.pc is not None:
            assert int(m.group(2), 16) == rec.pc


def test_filters_by_register_direction_and_side(session, host) -> None:
    run(session, "trace mmio on QUEUE0.SQ_TAIL DMA host read")
    t = tracer(session)
    assert t.mmio.filter.sides == {"host"} and t.mmio.filter.kinds == {"read"}
    assert "queue0.sq_tail" in t.mmio.filter.paths and "dma.err_cause" in t.mmio.filter.paths
    host.submit("NOP")
    run(session, "continue")
    assert list(t.mmio.records) == []  # the host only wrote
    run(session, "trace mmio on queue0.sq_tail.idx firmware")
    host.submit("NOP")
    run(session, "continue")
    recs = list(t.mmio.records)
    assert {(r.side, r.register) for r in recs} == {("firmware", "QUEUE0.SQ_TAIL")}
    assert len(recs) == 2 and recs[0].pc == recs[1].pc and recs[0].tick < recs[1].tick
    assert session.code.symbolic(recs[0].pc).startswith("serve_one+")


@pytest.mark.parametrize("words, message", [
    ("QUEUE9", "trace mmio: 'QUEUE9' is not a register block, register, field, direction (read, write) or "
               "side (host, firmware); did you mean QUEUE1?"),
    ("sideways", "trace mmio: 'sideways' is not a register block, register, field, direction (read, write) "
                 "or side (host, firmware)"),
])
def test_malformed_filter_is_one_line_and_the_session_goes_on(session, words, message) -> None:
    with pytest.raises(UsageError) as err:
        session.execute(f"trace mmio on {words}")
    assert str(err.value) == message
    assert not tracer(session).mmio.on
    assert session.run_command(f"trace mmio on {words}") is False
    assert session.out.take() == message + "\n"
    assert run(session, "trace mmio on queue0") == "MMIO tracing on: queue0.\n"


@pytest.mark.parametrize("line, message", [
    ("trace mmio off queue0", "trace mmio off takes no filters"),
    ("trace mem on 0x100000", "trace mem on: give a range as START END, START,END or START +LENGTH"),
    ("trace mem on 0x100010 0x100000", "trace mem on: the range 0x100010..0x100000 is empty"),
    ("trace show -1", "trace show: N must be 0 or more"),
    ("trace insn maybe", "trace insn: argument state: invalid choice: 'maybe' (choose from 'on', 'off')"),
])
def test_bad_trace_arguments(session, line, message) -> None:
    assert session.run_command(line) is False
    assert session.out.take() == message + "\n"
    assert session.run_command("trace status") is True


def test_memory_trace_keeps_only_the_range(session, host) -> None:
    lo = session.symbol_value("cmd_desc")  # the firmware's copy of the descriptor it serves
    hi = lo + 64
    assert run(session, "trace mem on cmd_desc +64") == \
        f"Memory tracing on: 0x{lo:08x}..0x{hi:08x} (64 bytes).\n"
    host.submit("NOP")
    run(session, "continue")
    rows = list(tracer(session).mem_rows())
    assert rows and all(lo - r["size"] < r["addr"] < hi for r in rows)
    assert {r["dir"] for r in rows} == {"read", "write"}
    assert all(session.code.function_at(r["pc"]) is not None for r in rows)


@pytest.mark.parametrize("mhz", [1000, 250])
def test_every_trace_is_stamped_in_ticks_of_one_time_base(session, host, mhz) -> None:
    """MMIO, memory and instruction records of one run use the device's ticks: each firmware
    access carries the tick of the instruction that made it, whatever the core clock."""
    dev = session.device
    dev.regs.write("thermal.dvfs_req", mhz, "firmware")  # the DVFS request the firmware would make
    tpc = dev.clock.tpc
    assert tpc == 1000 // mhz
    run(session, "trace mmio on", "trace insn on", "trace mem on cmd_desc +64")
    start = dev.now
    host.submit("NOP")
    run(session, "continue")
    t = tracer(session)
    insn = [(r["pc"], r["tick"]) for r in t.insn_rows()]
    mem = list(t.mem_rows())
    fw_mmio = [r for r in t.mmio.records if r.side == "firmware"]
    host_mmio = [r for r in t.mmio.records if r.side == "host"]
    assert mem and fw_mmio and host_mmio and len(insn) > 100
    executed = set(insn)
    assert all((r["pc"], r["tick"]) in executed for r in mem)
    assert all((r.pc, r.tick) in executed for r in fw_mmio)
    ticks = [tick for _, tick in insn]
    assert start < ticks[0] and ticks[-1] <= dev.now
    assert all(b - a >= tpc for a, b in itertools.pairwise(ticks))
    assert max(r.tick for r in host_mmio) <= ticks[0]  # the doorbell rang before the firmware woke


def test_instruction_trace_has_every_instruction_even_past_a_full_ring(session, host) -> None:
    """A CHECKSUM of 96 KiB runs several ring-fulls of instructions; none is lost."""
    from debugger.trace.core import RING_CAPACITY

    run(session, "trace insn on")
    buf = host.h.put(__import__("numpy").arange(98304, dtype="uint8"))
    i0 = session.device.core.instret
    host.submit("CHECKSUM", src=buf, size=98304, seed=0)
    run(session, "continue")
    executed = session.device.core.instret - i0
    t = tracer(session)
    assert executed > 2 * RING_CAPACITY
    t.core.drain()
    rows = t.core.pcs.rows()
    assert len(rows) == executed and t.core.pcs.dropped == 0
    assert int(rows["pc"][-1]) == session.device.core.pc - 4  # the last one was the wfi it sleeps in
    assert (rows["tick"][1:] > rows["tick"][:-1]).all()


def test_instruction_trace_shows_the_instructions(session, host) -> None:
    run(session, "trace insn on")
    host.submit("NOP")
    run(session, "continue")
    lines = run(session, "trace show 2 insn").splitlines()
    rows = tracer(session).core.pcs.rows()
    assert lines[0] == f"Instruction trace: {len(rows)} instructions (tick, pc)"
    pc = int(rows["pc"][-1])
    assert lines[2] == f"{int(rows['tick'][-1]):>12}  0x{pc:08x} <{session.code.symbolic(pc)}>  wfi"


def test_trace_clear_and_status(session, host) -> None:
    run(session, "trace mmio on", "trace insn on", "trace mem on 0x100000,0x100100")
    host.submit("NOP")
    run(session, "continue")
    assert run(session, "trace clear") == "Traces cleared.\n"
    assert run(session, "trace status") == (
        "mmio: on (all registers, both sides, reads and writes), 0 accesses\n"
        "mem:  0x00100000..0x00100100 (256 bytes), 0 accesses\n"
        "insn: on, 0 instructions\n")
    run(session, "trace mmio off", "trace mem off", "trace insn off")
    assert tracer(session).active() == []
    assert run(session, "trace show") == \
        "Nothing traced. Use 'trace mmio on', 'trace mem on RANGE' or 'trace insn on'.\n"


def test_host_driver_calls_get_call_sites(session) -> None:
    """The real driver, attached to the session's device: accesses name the driver code and call."""
    import driver
    from driver import transport

    run(session, "trace mmio on host")
    with transport.use(transport.InProcess(session.device)):
        dev = driver.open()
    run(session, "trace clear")
    dev.nop()
    recs = list(tracer(session).mmio.records)
    assert recs[0].register == "QUEUE0.SQ_TAIL" and recs[0].site.startswith("driver/queues.py:")
    assert recs[0].site.endswith(" in _push")
    assert {r.api for r in recs} == {"Ops.nop"} and len({r.call for r in recs}) == 1
    dev.nop()
    assert len({r.call for r in tracer(session).mmio.records}) == 2
