"""Race detection: overlapping accesses of different pipes are races unless a flag orders them."""

from __future__ import annotations

from firmware.hw.hazards import HazardTracker
from firmware.hw.pipes import Entry

PIPES = ("mte1", "mte2", "m", "v", "mte3")
A = (0x21000000, 512)
B = (0x21100000, 512)
C = (0x21200000, 1024)


class Rig:
    def __init__(self) -> None:
        self.h = HazardTracker(PIPES)
        self.seq = 0
        self.races: list = []

    def _entry(self, pipe: str, key: str, kind: str = "op", flag=None) -> Entry:
        self.seq += 1
        return Entry(self.seq, pipe, key, 0x100 + 4 * self.seq, 0, kind, None, flag)

    def op(self, pipe: str, key: str, reads=(), writes=()) -> Entry:
        e = self._entry(pipe, key)
        self.races += self.h.issue_op(e, reads, writes)
        return e

    def set(self, src: str, dst: str, ev: int = 0) -> None:
        self.races += self.h.issue_set(self._entry(src, "npu_setflag", "set", (src, dst, ev)))

    def wait(self, src: str, dst: str, ev: int = 0) -> None:
        self.h.issue_wait(self._entry(dst, "npu_waitflag", "wait", (src, dst, ev)))


def test_missing_flag_between_dma_and_cube_is_a_race_naming_both() -> None:
    r = Rig()
    dma = r.op("mte2", "npu_dma", reads=[(0x80000000, 512)], writes=[A])
    cube = r.op("m", "npu_mmad", reads=[A, B], writes=[C])
    assert len(r.races) == 1
    race = r.races[0]
    assert (race.first, race.second, race.kind) == (dma, cube, "read-after-write")
    assert (race.lo, race.hi) == (A[0], A[0] + A[1])
    text = str(race)
    assert "npu.mmad at pc 0x" in text and "npu.dma at pc 0x" in text and "0x21000000..0x21000200" in text


def test_flag_orders_them() -> None:
    r = Rig()
    r.op("mte2", "npu_dma", writes=[A])
    r.set("mte2", "m")
    r.wait("mte2", "m")
    r.op("m", "npu_mmad", reads=[A, B], writes=[C])
    assert r.races == []


def test_flag_with_other_event_or_direction_does_not_order() -> None:
    r = Rig()
    r.op("mte2", "npu_dma", writes=[A])
    r.set("mte2", "m", 1)
    r.wait("mte2", "m", 1)
    r.op("mte2", "npu_dma", writes=[A])  # issued after the setflag: not covered
    r.op("m", "npu_mmad", reads=[A])
    assert [x.first.seq for x in r.races] == [4]


def test_write_after_read_and_write_after_write() -> None:
    r = Rig()
    r.op("m", "npu_mmad", reads=[A], writes=[C])
    r.op("mte2", "npu_dma", writes=[A])
    r.op("mte3", "npu_dma", reads=[C], writes=[(0x22000000, 64)])
    r.op("v", "npu_vadd", writes=[(0x22000020, 64)])
    assert [x.kind for x in r.races] == ["write-after-read", "read-after-write", "write-after-write"]


def test_completed_instruction_no_longer_races() -> None:
    r = Rig()
    dma = r.op("mte2", "npu_dma", writes=[A])
    r.h.complete(dma)
    r.op("m", "npu_mmad", reads=[A])
    assert r.races == []


def test_disjoint_ranges_and_same_pipe_are_silent() -> None:
    r = Rig()
    r.op("mte2", "npu_dma", writes=[A])
    r.op("mte2", "npu_dma", reads=[A], writes=[A])
    r.op("m", "npu_mmad", reads=[B], writes=[C])
    assert r.races == []


def test_transitive_ordering_through_a_third_pipe() -> None:
    r = Rig()
    r.op("mte2", "npu_dma", writes=[A])
    r.set("mte2", "mte1")
    r.wait("mte2", "mte1")
    r.op("mte1", "npu_dma", reads=[(0x20000000, 16)], writes=[B])
    r.set("mte1", "m")
    r.wait("mte1", "m")
    r.op("m", "npu_mmad", reads=[A, B], writes=[C])
    assert r.races == []


def test_wait_issued_before_its_set_is_resolved_later() -> None:
    r = Rig()
    r.op("mte2", "npu_dma", writes=[A])
    r.wait("mte2", "m")
    r.op("m", "npu_mmad", reads=[A])
    assert r.races == []  # undecided until the setflag shows up
    r.set("mte2", "m")
    assert r.races == []


def test_wait_issued_before_a_set_that_does_not_cover_the_writer() -> None:
    r = Rig()
    r.wait("mte2", "m")
    r.set("mte2", "m")  # resolves the wait before the dma exists
    r.op("mte2", "npu_dma", writes=[A])
    r.op("m", "npu_mmad", reads=[A])
    assert len(r.races) == 1


def test_pending_wait_reports_races_once_resolved() -> None:
    r = Rig()
    r.op("mte2", "npu_dma", writes=[A])
    r.set("mte2", "v")  # a flag towards another pipe
    r.wait("mte1", "m")
    r.op("m", "npu_mmad", reads=[A])
    assert r.races == []
    r.set("mte1", "m")
    assert len(r.races) == 1 and r.races[0].second.key == "npu_mmad"


def test_state_round_trip_is_independent_of_later_changes() -> None:
    r = Rig()
    r.op("mte2", "npu_dma", writes=[A])
    r.wait("mte2", "m")
    r.op("m", "npu_mmad", reads=[A])
    saved = r.h.state()
    r.set("mte1", "m")
    r.h.load_state(saved)
    r.set("mte2", "m")
    r.h.load_state(saved)
    r.set("v", "m")  # a different flag: still pending
    r.set("mte2", "m")
    assert r.races == []
