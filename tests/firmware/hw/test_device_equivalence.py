"""The device's fast paths model exactly what the general paths do (`Device.fast_paths`).

Fast: an earlier pipe completion shortens the running core slice in place, and the hazard
tracker tests only the in-flight operations a new one is not ordered after. General: the
slice is cut and a new one started, and every in-flight operation is tested. Both must give
the same ticks, timeline, hooks (with the tick each saw), register changes, counters, race
and error reports and results.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_device import matmul_device, result
from test_device_programs import load

import driver
from driver.transport import InProcess
from firmware.hw.device import Device
from firmware.hw.hazards import HazardTracker
from firmware.hw.pipes import Entry

PIPES = ("mte1", "mte2", "m", "v", "mte3")


def _observe(dev: Device) -> list[tuple]:
    """Everything the device reports while it runs, each with the tick it was seen at."""
    log: list[tuple] = []
    dev.on_issue.append(lambda entry: log.append(("issue", entry.seq, entry.key, entry.pipe, entry.issue,
                                                  dev.now)))
    dev.on_complete.append(lambda entry, start, end: log.append(("done", entry.seq, start, end, dev.now)))
    dev.on_race.append(lambda race: log.append(("race", str(race), dev.now)))
    dev.on_error.append(lambda error: log.append(("error", str(error), dev.now)))
    dev.regs.observe(lambda access: log.append(("reg", *tuple(access))))
    return log


def _state(dev: Device) -> dict[str, object]:
    return {
        "now": dev.now, "core": (dev.core.cycles, dev.core.instret, dev.core.pc),
        "timeline": list(dev.timeline.spans), "races": [str(r) for r in dev.races],
        "errors": [str(e) for e in dev.errors],
        "pipes": (dev.pipes.busy_ticks, dev.pipes.busy_cycles, dev.pipes.completed),
        "regs": dev.regs.snapshot(), "thermal": dev.thermal.state(),
        "run": (dev.halted, dev.asleep, dev.hung, repr(dev.wait)),
    }


def _count_slices(dev: Device) -> list[int]:
    slices = [0]
    run_slice = dev.core.run_slice

    def counted(until_cycle: int):
        slices[0] += 1
        return run_slice(until_cycle)

    dev.core.run_slice = counted  # type: ignore[method-assign]
    return slices


def _driver_workload(fast: bool) -> tuple:
    dev = Device()
    dev.fast_paths = fast
    host = driver.open(transport=InProcess(dev))
    log, slices = _observe(dev), _count_slices(dev)
    rng = np.random.default_rng(7)
    a = rng.standard_normal((300, 200)).astype(np.float16)
    b = rng.standard_normal((200, 260)).astype(np.float16)
    outs = [host.matmul(a, b, bias=rng.standard_normal(260).astype(np.float32), relu=True)]
    x = rng.standard_normal((1, 8, 12, 12)).astype(np.float16)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float16)
    outs.append(host.conv2d(x, w, padding=1))
    qa = rng.integers(-90, 90, (70, 130)).astype(np.int8)
    qb = rng.integers(-90, 90, (130, 40)).astype(np.int8)
    outs.append(host.matmul(qa, qb, scale=0.02, zero_point=-3))
    state = _state(dev)
    host.close()
    return [o.tobytes() for o in outs], log, state, slices[0]


def test_driver_matmul_and_conv_are_the_same_tick_for_tick_with_fewer_slices() -> None:
    fast_out, fast_log, fast_state, fast_slices = _driver_workload(True)
    ref_out, ref_log, ref_state, ref_slices = _driver_workload(False)
    assert fast_out == ref_out
    assert fast_state == ref_state
    assert fast_log == ref_log
    assert any(e[0] == "done" for e in fast_log) and fast_state["timeline"]
    assert fast_slices < ref_slices  # the fast path did run: completions shortened slices in place


def _count_waits(dev: Device) -> collections.Counter[str]:
    """How each issue into a full queue went: "in_slice" (the core went on in its slice), "ended"
    (rounds ran in the slice, then it ended with the core waiting) or "general"."""
    seen: collections.Counter[str] = collections.Counter()
    wait_in_slice = dev.wait_in_slice

    def counted(entry: Entry, since: int) -> bool:
        took = wait_in_slice(entry, since)
        seen["general" if not took else "in_slice" if dev.wait is None else "ended"] += 1
        return took

    dev.wait_in_slice = counted  # type: ignore[method-assign]
    return seen


def _unobserved_workload(fast: bool, **config: int) -> tuple:
    """Matmuls large enough to fill the pipe queues, with nothing hooked: the fast path then
    waits for room inside the core's slice (`Device.wait_in_slice`)."""
    dev = Device(**config)
    dev.fast_paths = fast
    host = driver.open(transport=InProcess(dev))
    waits, slices = _count_waits(dev), _count_slices(dev)
    rng = np.random.default_rng(11)
    a = rng.standard_normal((300, 700)).astype(np.float16)
    b = rng.standard_normal((700, 520)).astype(np.float16)
    outs = [host.matmul(a, b), host.matmul(a[:, :512], b[:512, :256], bias=np.ones(256, np.float32))]
    x = rng.standard_normal((1, 8, 12, 12)).astype(np.float16)
    outs.append(host.conv2d(x, rng.standard_normal((16, 8, 3, 3)).astype(np.float16), padding=1))
    state = _state(dev)
    host.close()
    return [o.tobytes() for o in outs], state, waits, slices[0]


@pytest.mark.parametrize("config", [{}, {"max_slice_ticks": 3_000, "thermal_update_ticks": 2_000}],
                         ids=["default", "short-slices"])
def test_waiting_for_room_inside_the_slice_is_the_run_loop_tick_for_tick(config: dict[str, int]) -> None:
    fast_out, fast_state, fast_waits, fast_slices = _unobserved_workload(True, **config)
    ref_out, ref_state, ref_waits, ref_slices = _unobserved_workload(False, **config)
    assert fast_out == ref_out
    assert fast_state == ref_state
    assert set(ref_waits) == {"general"}  # the general path never waits in the slice
    assert fast_waits["in_slice"] and fast_waits["ended"] and fast_waits["general"]  # every way was taken
    assert sum(fast_waits.values()) <= ref_waits["general"] and fast_slices < ref_slices


def _racy_program(fast: bool, strict: bool, steps: int) -> tuple:
    dev, _, _, _ = matmul_device(flag=0, strict_races=strict)
    dev.fast_paths = fast
    log = _observe(dev)
    stops = [str(dev.step()) for _ in range(steps)]
    stops.append(str(dev.run_until(lambda: dev.asleep, 10_000_000)))
    return stops, log, _state(dev), result(dev).tobytes()


@settings(max_examples=4, deadline=None)
@given(strict=st.booleans(), steps=st.sampled_from([0, 7, 60]))
def test_missing_flag_reports_the_same_races_and_stale_data(strict: bool, steps: int) -> None:
    fast, ref = _racy_program(True, strict, steps), _racy_program(False, strict, steps)
    assert fast == ref
    assert len(fast[2]["races"]) == 2


def test_deadlock_is_reported_the_same_way() -> None:
    runs = []
    for fast in (True, False):
        dev = Device()
        dev.fast_paths = fast
        log = _observe(dev)
        load(dev, "deadlock")
        runs.append((str(dev.advance(50_000)), log, _state(dev)))
    assert runs[0] == runs[1]
    assert runs[0][2]["run"][0] == "deadlock"


# ---------------------------------------------------------------- the hazard tracker alone

_block = st.tuples(st.integers(0, 15), st.integers(0, 3))  # (first 64-byte block, blocks - 1)
_step = st.one_of(
    st.tuples(st.just("op"), st.sampled_from(PIPES), st.lists(_block, max_size=3),
              st.lists(_block, max_size=2)),
    st.tuples(st.just("set"), st.sampled_from(PIPES), st.sampled_from(PIPES), st.integers(0, 1)),
    st.tuples(st.just("wait"), st.sampled_from(PIPES), st.sampled_from(PIPES), st.integers(0, 1)),
    st.tuples(st.just("done"), st.sampled_from(PIPES)),
)


def _ranges(blocks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(0x2000_0000 + 64 * first, 64 * (extra + 1)) for first, extra in blocks]


def _races_of(steps: list[tuple], fast: bool) -> list[tuple]:
    h = HazardTracker(PIPES)
    h.fast = fast
    issued: dict[str, list[Entry]] = {p: [] for p in PIPES}
    found: list[tuple] = []
    for seq, step in enumerate(steps):
        if step[0] == "op":
            _, pipe, reads, writes = step
            entry = Entry(seq, pipe, "npu_dma", 4 * seq, 0)
            issued[pipe].append(entry)
            races = h.issue_op(entry, _ranges(reads), _ranges(writes))
        elif step[0] == "done":  # the pipe's oldest operation completes
            if issued[step[1]]:
                h.complete(issued[step[1]].pop(0))
            continue
        else:
            kind, src, dst, ev = step
            if src == dst:
                continue
            entry = Entry(seq, src if kind == "set" else dst, f"npu_{kind}flag", 4 * seq, 0, kind,
                          flag=(src, dst, ev))
            races = h.issue_set(entry) if kind == "set" else h.issue_wait(entry) or []
        found += [(r.first.seq, r.second.seq, r.kind, r.lo, r.hi) for r in races]
    return found


@settings(max_examples=300)
@given(steps=st.lists(_step, max_size=40))
def test_fast_hazard_checks_report_what_the_full_scan_reports(steps: list[tuple]) -> None:
    assert _races_of(steps, True) == _races_of(steps, False)


def test_fast_hazard_checks_still_find_races_behind_an_ordered_operation() -> None:
    steps = [("op", "mte2", [], [(0, 0)]),  # unordered with the cube's read below
             ("set", "mte2", "m", 0), ("wait", "mte2", "m", 0),
             ("op", "mte2", [], [(4, 0)]),  # issued after the set: not covered by the wait
             ("op", "m", [(0, 0), (4, 0)], [(8, 0)])]
    assert _races_of(steps, True) == _races_of(steps, False) == [(3, 4, "read-after-write", 0x2000_0100,
                                                                  0x2000_0140)]
