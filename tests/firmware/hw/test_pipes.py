"""Pipe queues in modeled time: in-order, concurrent across pipes, ordered by flags."""

from __future__ import annotations

from dataclasses import dataclass, field

from firmware.hw.clock import Clock
from firmware.hw.pipes import Entry, Pipes
from firmware.hw.timeline import Span, Timeline

NAMES = ("mte1", "mte2", "m", "v", "mte3")


@dataclass
class FakePlan:
    cycles: int
    log: list[str] = field(default_factory=list)
    name: str = ""
    reads: tuple = ()
    writes: tuple = ()

    def execute(self) -> None:
        self.log.append(self.name)


class Rig:
    def __init__(self, tpc: int = 1) -> None:
        self.clock = Clock(tpc=tpc)
        self.pipes = Pipes(NAMES, self.clock, depth=4)
        self.timeline = Timeline()
        self.log: list[str] = []
        self.seq = 0
        self.pipes.on_retire.append(self._retire)

    def _retire(self, entry: Entry, start: int, end: int) -> None:
        if entry.plan is not None:
            entry.plan.execute()
        self.timeline.add(Span(entry.pipe, entry.key, entry.pc, entry.seq, entry.issue, start, end,
                                   entry.kind))

    def op(self, pipe: str, cycles: int, name: str) -> Entry:
        return self._issue(Entry(self.seq, pipe, "npu_x", 4 * self.seq, self.clock.now, "op",
                                 FakePlan(cycles, self.log, name)))

    def sync(self, kind: str, src: str, dst: str, ev: int = 0) -> Entry:
        pipe = src if kind == "set" else dst
        key = "npu_setflag" if kind == "set" else "npu_waitflag"
        return self._issue(Entry(self.seq, pipe, key, 4 * self.seq, self.clock.now, kind,
                                 flag=(src, dst, ev)))

    def _issue(self, entry: Entry) -> Entry:
        self.seq += 1
        self.pipes.issue(entry)
        return entry

    def run_to(self, tick: int) -> None:
        self.pipes.advance(tick)
        self.clock.now = tick


def test_ops_on_one_pipe_run_in_order_back_to_back() -> None:
    rig = Rig()
    rig.op("m", 10, "a")
    rig.op("m", 5, "b")
    assert rig.pipes.next_completion() == (10, "m")
    rig.run_to(9)
    assert rig.log == []
    rig.run_to(15)
    assert rig.log == ["a", "b"]
    assert [(s.start, s.end) for s in rig.timeline.spans] == [(0, 10), (10, 15)]
    assert rig.pipes.busy_cycles["m"] == 15 and rig.pipes.drained()


def test_pipes_overlap_and_completion_ties_follow_pipe_order() -> None:
    rig = Rig()
    rig.op("v", 8, "v")
    rig.op("mte2", 8, "dma")
    rig.op("m", 3, "cube")
    rig.run_to(100)
    assert rig.log == ["cube", "dma", "v"]  # mte2 precedes v in the table at the same tick


def test_cycles_scale_with_ticks_per_cycle() -> None:
    rig = Rig(tpc=4)
    rig.op("m", 10, "a")
    assert rig.pipes.next_completion() == (40, "m")


def test_waitflag_holds_the_pipe_until_setflag_retires() -> None:
    rig = Rig()
    rig.op("mte2", 20, "dma")
    rig.sync("set", "mte2", "m")
    rig.sync("wait", "mte2", "m")
    rig.op("m", 5, "cube")
    assert rig.pipes.waiting() == {"m": ("mte2", "m", 0)}
    rig.run_to(100)
    assert rig.log == ["dma", "cube"]
    wait, cube = rig.timeline.for_pipe("m")
    assert (wait.start, wait.end) == (0, 20)  # the span of a waitflag shows how long it held the pipe
    assert (cube.start, cube.end) == (20, 25)
    assert rig.timeline.busy_ticks("m") == 5
    assert rig.pipes.flags == set()  # the wait cleared it


def test_flag_set_before_the_wait_is_kept_and_cleared_once() -> None:
    rig = Rig()
    rig.sync("set", "mte2", "m", 3)
    assert rig.pipes.flags == {("mte2", "m", 3)}
    rig.sync("wait", "mte2", "m", 3)
    rig.op("m", 2, "cube")
    rig.sync("wait", "mte2", "m", 3)  # nobody sets it again
    rig.run_to(10)
    assert rig.log == ["cube"]
    assert rig.pipes.stuck() and rig.pipes.waiting() == {"m": ("mte2", "m", 3)}


def test_room_and_drain_queries() -> None:
    rig = Rig()
    for i in range(5):
        rig.op("v", 1, str(i))
    assert not rig.pipes.has_room("v")  # one running, four queued
    assert not rig.pipes.drained("v") and rig.pipes.drained("m")
    rig.run_to(5)
    assert rig.pipes.drained() and rig.log == ["0", "1", "2", "3", "4"]


def test_discard_blocked_drops_stuck_queues() -> None:
    rig = Rig()
    rig.sync("wait", "v", "m")
    rig.op("m", 1, "never")
    dropped = rig.pipes.discard_blocked()
    assert [e.key for e in dropped] == ["npu_waitflag", "npu_x"]
    assert rig.pipes.drained() and not rig.pipes.stuck()


def test_state_round_trip_replays_the_same_schedule() -> None:
    rig = Rig()
    rig.op("mte2", 7, "a")
    rig.sync("set", "mte2", "m")
    rig.sync("wait", "mte2", "m")
    rig.op("m", 3, "b")
    saved = rig.pipes.state()
    rig.run_to(50)
    first = list(rig.timeline.spans)
    rig.pipes.load_state(saved)
    rig.timeline.clear()
    rig.clock.now = 0
    rig.run_to(50)
    assert list(rig.timeline.spans) == first


def test_chrome_trace_export_has_one_thread_per_pipe() -> None:
    rig = Rig()
    rig.op("m", 1000, "a")
    rig.op("v", 500, "b")
    rig.run_to(2000)
    trace = rig.timeline.to_chrome_trace()
    names = {e["args"]["name"] for e in trace["traceEvents"] if e["ph"] == "M"}
    spans = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert names == {"m", "v"}
    assert [(e["ts"], e["dur"]) for e in spans] == [(0.0, 0.5), (0.0, 1.0)]
