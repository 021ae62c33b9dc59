"""Debug hooks in the loop: breakpoints, watchpoints, step, budgets, the trace ring, request_stop."""

from __future__ import annotations

import threading
import time

import pytest
from programs import DTCM, load, run_to

from isa.core import KIND_EXEC, KIND_READ, KIND_WRITE, Core, StopReason
from isa.errors import NpuError

COUNT_LOOP = """
_start:
    li   a0, 0
    li   a1, 100
loop:
    addi a0, a0, 1
body:
    addi a1, a1, -1
    bnez a1, loop
done:
    j    done
"""


def test_a_thousand_breakpoints_none_hit() -> None:
    core = Core()
    sym = load(core, COUNT_LOOP)
    for i in range(1000):
        core.add_breakpoint(0x20000 + 4 * i)
    run_to(core, sym)
    assert core.regs["a0"] == 100 and core.instret == 2 + 300


def test_breakpoint_hit_continue_remove() -> None:
    core = Core()
    sym = load(core, COUNT_LOOP)
    bp = core.add_breakpoint(sym["body"])
    hits = []
    for _ in range(3):
        stop = core.run(max_insns=10_000)
        assert stop.reason == StopReason.BREAKPOINT and stop.breakpoint == bp and stop.pc == sym["body"]
        hits.append(core.regs["a0"])
    assert hits == [1, 2, 3]  # continuing runs the instruction under the breakpoint once
    core.remove_breakpoint(bp)
    run_to(core, sym)
    assert core.regs["a0"] == 100


def test_two_breakpoints_at_one_address_report_the_first_until_removed() -> None:
    core = Core()
    sym = load(core, COUNT_LOOP)
    first, second = core.add_breakpoint(sym["body"]), core.add_breakpoint(sym["body"])
    assert core.run().breakpoint == first
    core.remove_breakpoint(first)
    assert core.run().breakpoint == second


def test_breakpoint_survives_a_store_to_its_instruction() -> None:
    core = Core()
    sym = load(core, COUNT_LOOP)
    core.add_breakpoint(sym["body"])
    core.write_mem(sym["body"], core.read_mem(sym["body"], 4))  # invalidates the predecoded entry
    assert core.run().reason == StopReason.BREAKPOINT


def test_bad_breakpoint_addresses_are_refused() -> None:
    core = Core()
    with pytest.raises(NpuError, match="not in an executable region"):
        core.add_breakpoint(DTCM)
    with pytest.raises(NpuError, match="aligned"):
        core.add_breakpoint(2)
    with pytest.raises(NpuError, match="no breakpoint 7"):
        core.remove_breakpoint(7)


def test_step_runs_one_instruction_and_steps_over_a_breakpoint() -> None:
    core = Core()
    sym = load(core, COUNT_LOOP)
    core.add_breakpoint(sym["_start"])
    pcs = []
    for _ in range(4):
        stop = core.step()
        assert stop.reason == StopReason.STEP
        pcs.append(stop.pc)
    assert pcs == [4, 8, 12, 16] and core.instret == 4


def test_budget_and_until_cycle() -> None:
    core = Core()
    sym = load(core, COUNT_LOOP)
    stop = core.run(max_insns=10)
    assert stop.reason == StopReason.BUDGET and core.instret == 10
    core.add_stall(1000)
    assert core.cycles == 1010
    core.run(until_cycle=1050)
    assert core.cycles == 1050 and core.instret == 50
    assert core.run(until_cycle=10).reason == StopReason.BUDGET and core.instret == 50
    assert core.run(max_insns=0).reason == StopReason.BUDGET
    run_to(core, sym)


WATCH_PROGRAM = f"""
_start:
    li   t0, {DTCM}
    li   t1, 0x11223344
    sb   t1, 0(t0)          # byte 0
    sb   t1, 3(t0)          # byte 3
    sb   t1, 1(t0)          # byte 1: first byte of the watched range [1, 3)
    lw   a0, 0(t0)          # a word overlapping the range
    lbu  a1, 3(t0)          # just past the range
    sh   t1, 2(t0)          # a halfword covering byte 2
    lbu  a2, 2(t0)
done:
    j    done
"""


@pytest.mark.parametrize(("kind", "expected"), [
    ("write", [("write", DTCM + 1, 1, 0, 0x44), ("write", DTCM + 2, 2, 0x4400, 0x3344)]),
    ("read", [("read", DTCM, 4, 0x44004444, 0x44004444), ("read", DTCM + 2, 1, 0x44, 0x44)]),
    ("access", [("write", DTCM + 1, 1, 0, 0x44), ("read", DTCM, 4, 0x44004444, 0x44004444),
                ("write", DTCM + 2, 2, 0x4400, 0x3344), ("read", DTCM + 2, 1, 0x44, 0x44)]),
])
def test_watchpoint_kinds_boundaries_and_values(kind: str, expected: list[tuple]) -> None:
    core = Core()
    sym = load(core, WATCH_PROGRAM)
    wp = core.add_watchpoint(DTCM + 1, 2, kind)
    hits = []
    while True:
        stop = core.run(max_insns=100)
        if stop.reason != StopReason.WATCHPOINT:
            break
        assert stop.watchpoint == wp and stop.pc == stop.insn_pc + 4  # after the access
        hits.append((stop.kind, stop.addr, stop.size, stop.old, stop.new))
    assert hits == expected
    assert core.pc == sym["done"] or stop.reason == StopReason.BUDGET


def test_a_watchpoint_added_by_a_callback_takes_effect_at_once() -> None:
    core = Core()
    sym = load(core, f"""
    _start:
        npu.barrier all
        li   t0, {DTCM}
        sw   t0, 0(t0)
    done:
        j    done
    """)
    core.xnpu = lambda c, word, pc: c.add_watchpoint(DTCM, 4, "write")
    stop = core.run(max_insns=100)
    assert stop.reason == StopReason.WATCHPOINT and stop.new == DTCM
    run_to(core, sym)


def test_sixteen_watchpoints_at_once_and_removal() -> None:
    core = Core()
    sym = load(core, WATCH_PROGRAM)
    ids = [core.add_watchpoint(DTCM + 0x100 + 8 * i, 4, "access") for i in range(16)]
    last = core.add_watchpoint(DTCM + 3, 1, "write")
    stop = core.run()
    assert stop.reason == StopReason.WATCHPOINT and stop.watchpoint == last and stop.addr == DTCM + 3
    core.remove_watchpoint(last)
    for wp in ids:
        core.remove_watchpoint(wp)
    run_to(core, sym)


def test_memory_trace_records_every_access_in_order() -> None:
    core = Core()
    sym = load(core, WATCH_PROGRAM)
    core.trace_memory(True)
    run_to(core, sym)
    t = core.drain_trace()
    rows = zip(t["kind"], t["addr"], t["size"], t["value"], strict=True)
    assert [(int(k), int(a), int(s), int(v)) for k, a, s, v in rows] == [
        (KIND_WRITE, DTCM, 1, 0x44), (KIND_WRITE, DTCM + 3, 1, 0x44), (KIND_WRITE, DTCM + 1, 1, 0x44),
        (KIND_READ, DTCM, 4, 0x44004444), (KIND_READ, DTCM + 3, 1, 0x44),
        (KIND_WRITE, DTCM + 2, 2, 0x3344), (KIND_READ, DTCM + 2, 1, 0x44)]
    assert list(t["pc"]) == [sym["_start"] + 4 * i for i in range(3, 10)]
    assert list(t["tick"]) == [4, 5, 6, 7, 8, 9, 10]  # a bare core: one tick per cycle
    assert len(core.drain_trace()) == 0 and core.trace_dropped == 0


def test_trace_ring_full_stops_then_continues_without_losing_entries() -> None:
    core = Core()
    sym = load(core, WATCH_PROGRAM)
    core.trace_memory(True, mode="stop", capacity=3)
    core.add_breakpoint(sym["done"])
    chunks = []
    stop = core.run()
    while stop.reason == StopReason.TRACE_FULL:
        chunks.append(len(core.drain_trace()))
        stop = core.run()
    assert stop.reason == StopReason.BREAKPOINT and core.pc == sym["done"]
    chunks.append(len(core.drain_trace()))
    assert chunks[:2] == [3, 3] and sum(chunks) == 7


def test_trace_ring_keep_newest_counts_what_it_dropped() -> None:
    core = Core()
    sym = load(core, WATCH_PROGRAM)
    core.trace_memory(True, mode="keep_newest", capacity=4)
    run_to(core, sym)
    t = core.drain_trace()
    assert core.trace_dropped == 3
    assert [int(a) for a in t["addr"]] == [DTCM, DTCM + 3, DTCM + 2, DTCM + 2]


def test_pc_trace_records_executed_instructions_with_their_words() -> None:
    core = Core()
    sym = load(core, COUNT_LOOP)
    core.trace_pcs(True)
    core.run(max_insns=6)
    t = core.drain_trace()
    assert list(t["pc"]) == [0, 4, 8, 12, 16, 8] and set(t["kind"]) == {KIND_EXEC}
    assert int(t["value"][0]) == int.from_bytes(core.read_mem(sym["_start"], 4), "little")
    core.trace_pcs(False)
    core.run(max_insns=6)
    assert len(core.drain_trace()) == 0


def test_pc_trace_records_an_instruction_under_a_breakpoint_once() -> None:
    core = Core()
    sym = load(core, COUNT_LOOP)
    core.trace_pcs(True)
    core.add_breakpoint(sym["body"])
    assert core.run().reason == StopReason.BREAKPOINT
    core.run(max_insns=2)
    assert list(core.drain_trace()["pc"]) == [0, 4, 8, 12, 16]


def test_request_stop_from_another_thread() -> None:
    core = Core()
    load(core, "_start:\n j _start\n")
    timer = threading.Timer(0.05, core.request_stop)
    timer.start()
    start = time.monotonic()
    stop = core.run()
    assert stop.reason == StopReason.STOP_REQUESTED and stop.pc == 0
    assert time.monotonic() - start < 30
    assert core.run(max_insns=10).reason == StopReason.BUDGET  # the request was consumed
