"""Race detection between pipes: unordered overlapping accesses of in-flight instructions.

Ordering is tracked at issue time with vector clocks, the way data-race detectors do:
every entry on a pipe gets an index; each pipe carries a clock saying, for every other
pipe, up to which index that pipe's work is known to be finished before the pipe's next
entry runs. A `setflag src,dst,ev` publishes src's clock (up to itself) as a token; the
matching `waitflag` on dst merges it into dst's clock. An instruction X that overlaps an
in-flight instruction Y of another pipe (X touches what Y writes, or X writes what Y
reads) races with it unless X's clock covers Y's index.

A waitflag issued before its setflag leaves its pipe's clock unknown until the setflag
is issued; instructions issued behind it on that pipe are checked then, against the
instructions that were in flight when they were issued.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from firmware.hw.pipes import Entry, Flag

Ranges = Sequence[tuple[int, int]]  # (address, byte count)


@dataclass(frozen=True)
class Race:
    """Two instructions of different pipes touching the same bytes with no flag between them."""

    first: Entry  # issued earlier, still in flight when `second` was issued
    second: Entry
    kind: str  # "read-after-write", "write-after-write" or "write-after-read"
    lo: int  # overlapping range [lo, hi)
    hi: int

    def __str__(self) -> str:
        return (f"race ({self.kind}) on 0x{self.lo:08x}..0x{self.hi:08x}: {self.second.describe()} "
                f"while {self.first.describe()} is in flight, no flag orders them")


class _Span:
    """One range list with what the overlap test needs worked out once, at issue.

    `hull` is the smallest [lo, hi) holding every range ((0, 0) for none); `index` the
    ranges' starts and ends when there are many of them, all non-empty, in ascending
    order and disjoint (a strided DMA's rows), so that a lookup replaces a scan.
    """

    __slots__ = ("hull", "index", "ranges")

    def __init__(self, ranges: Ranges) -> None:
        self.ranges = tuple(ranges)
        r = self.ranges
        self.hull = (min(a for a, _ in r), max(a + n for a, n in r)) if r else (0, 0)
        self.index: tuple[list[int], list[int]] | None = None
        if len(r) >= _INDEX_MIN and all(n > 0 for _, n in r) and \
                all(r[i][0] + r[i][1] <= r[i + 1][0] for i in range(len(r) - 1)):
            self.index = ([a for a, _ in r], [a + n for a, n in r])


_INDEX_MIN = 8  # shorter lists are scanned
_SPANS: dict[tuple[tuple[int, int], ...], _Span] = {}  # firmware issues the same tiles over and over
_SPANS_MAX = 4096
# The spans of a memoised unit plan, by the plan's `execute` (shared by every copy a unit
# hands out, see units.plan): hashing a re-issued strided DMA's hundreds of rows again
# would cost more than the rest of the issue. The callable is kept, so its id is never
# reused while cached; the lists' lengths and ends must match too.
_BY_PLAN: dict[int, tuple[object, tuple[Any, ...], tuple[_Span, _Span, tuple[int, int]]]] = {}


def _span(ranges: Ranges) -> _Span:
    """The `_Span` of a range list, shared between issues of the same ranges (spans are never changed)."""
    key = tuple(ranges)
    span = _SPANS.get(key)
    if span is None:
        if len(_SPANS) >= _SPANS_MAX:
            _SPANS.clear()
            _BY_PLAN.clear()
        span = _SPANS[key] = _Span(key)
    return span


def _hull(reads: _Span, writes: _Span) -> tuple[int, int]:
    """[lo, hi) around both lists' hulls, an empty one left out ((0, 0) when both are)."""
    (r_lo, r_hi), (w_lo, w_hi) = reads.hull, writes.hull
    if r_lo >= r_hi:
        return w_lo, w_hi
    if w_lo >= w_hi:
        return r_lo, r_hi
    return min(r_lo, w_lo), max(r_hi, w_hi)


def _spans(reads: Ranges, writes: Ranges, plan_key: object | None) -> tuple[_Span, _Span, tuple[int, int]]:
    """The spans of an operation's reads and writes, and the hull around both."""
    if plan_key is None:
        r, w = _span(reads), _span(writes)
        return r, w, _hull(r, w)
    shape = ((len(reads), reads[0], reads[-1]) if reads else (0,),  # `_shape`, inline
             (len(writes), writes[0], writes[-1]) if writes else (0,))
    hit = _BY_PLAN.get(id(plan_key))
    if hit is not None and hit[0] is plan_key and hit[1] == shape:
        return hit[2]
    r, w = _span(reads), _span(writes)
    spans = r, w, _hull(r, w)
    if len(_BY_PLAN) >= _SPANS_MAX:
        _BY_PLAN.clear()
    _BY_PLAN[id(plan_key)] = (plan_key, shape, spans)
    return spans


class _Op:
    """An operation in flight: its place on its pipe, its clock, what it touches, and (while
    a wait before it is unresolved) the in-flight operations it overlaps."""

    __slots__ = ("candidates", "entry", "hull", "index", "reads", "vc", "writes")

    def __init__(self, entry: Entry, index: int, vc: dict[str, int], reads: _Span, writes: _Span,
                 candidates: list[tuple[_Op, str, int, int]] | None = None,
                 hull: tuple[int, int] | None = None) -> None:
        self.entry = entry
        self.index = index
        self.vc = vc
        self.reads = reads
        self.writes = writes
        self.candidates = [] if candidates is None else candidates
        self.hull = _hull(reads, writes) if hull is None else hull  # the issue's quick rejection test


def _overlap(a: _Span, b: _Span) -> tuple[int, int] | None:
    """The first overlapping byte range of two range lists (strided DMAs have one range per row).

    "First" in the lists' order: the first range of `a` that overlaps any range of `b`, with
    the first such range of `b`. The hulls settle most pairs; an indexed `b` is searched.
    """
    (lo_a, hi_a), (lo_b, hi_b) = a.hull, b.hull
    if max(lo_a, lo_b) >= min(hi_a, hi_b):
        return None
    index = b.index
    for addr_a, n_a in a.ranges:
        end_a = addr_a + n_a
        if n_a <= 0 or addr_a >= hi_b or end_a <= lo_b:
            continue  # empty, or misses b's hull and so every range of b
        if index is not None:
            # b ascending and disjoint: the first range ending after addr_a is the first that can overlap
            i = bisect_right(index[1], addr_a)
            if i < len(index[0]) and index[0][i] < end_a:
                return max(addr_a, index[0][i]), min(end_a, index[1][i])
            continue
        for addr_b, n_b in b.ranges:
            lo, hi = max(addr_a, addr_b), min(end_a, addr_b + n_b)
            if lo < hi:
                return lo, hi
    return None


def _hit(reads: _Span, writes: _Span, other: _Op) -> tuple[str, int, int] | None:
    """How an operation touching `reads`/`writes` overlaps the in-flight `other`, first found first.

    The hull tests of `_overlap`, inline (max(lo) < min(hi) spelled as comparisons): most
    pairs of in-flight tiles stop here. An empty list's hull is never "open".
    """
    (r_lo, r_hi), (w_lo, w_hi) = reads.hull, writes.hull
    (ow_lo, ow_hi), (or_lo, or_hi) = other.writes.hull, other.reads.hull
    if r_lo < r_hi and r_lo < ow_hi and ow_lo < r_hi and ow_lo < ow_hi:
        hit = _overlap(reads, other.writes)
        if hit is not None:
            return "read-after-write", *hit
    if w_lo < w_hi:
        if w_lo < ow_hi and ow_lo < w_hi and ow_lo < ow_hi:
            hit = _overlap(writes, other.writes)
            if hit is not None:
                return "write-after-write", *hit
        if w_lo < or_hi and or_lo < w_hi and or_lo < or_hi:
            hit = _overlap(writes, other.reads)
            if hit is not None:
                return "write-after-read", *hit
    return None


def _merge(into: dict[str, int], other: dict[str, int]) -> None:
    for pipe, index in other.items():
        if into.get(pipe, -1) < index:
            into[pipe] = index


class HazardTracker:
    """Vector clocks per pipe, flag tokens, and the operations still in flight.

    The fast path (`fast`, on unless the device's equivalence tests turn it off): when no
    wait on the issuing pipe is unresolved, its clock is final at issue, so only in-flight
    operations it does not cover can race, and on each pipe those are the newest ones
    (`_by_pipe` keeps each pipe's in-flight operations in issue order). The general path
    collects every overlapping operation and filters by clock afterwards; both report the
    same races in the same order.
    """

    def __init__(self, pipes: Sequence[str]) -> None:
        self.pipes = tuple(pipes)
        self.fast = True
        self.reset()

    def reset(self) -> None:
        self.count = dict.fromkeys(self.pipes, 0)
        self.vc: dict[str, dict[str, int]] = {p: {} for p in self.pipes}
        self.tokens: dict[Flag, dict[str, int]] = {}
        # per pipe: waits issued before their setflag, each with the ops issued behind it
        self.unresolved: dict[str, deque[tuple[Flag, list[_Op]]]] = {p: deque() for p in self.pipes}
        self.inflight: dict[int, _Op] = {}
        self._index_pipes()

    def _index_pipes(self) -> None:
        """`_by_pipe` from `inflight` (whose order is issue order)."""
        self._by_pipe: dict[str, deque[_Op]] = {p: deque() for p in self.pipes}
        for op in self.inflight.values():
            self._by_pipe.setdefault(op.entry.pipe, deque()).append(op)

    def _next_index(self, pipe: str) -> int:
        index = self.count[pipe]
        self.count[pipe] = index + 1
        return index

    # ------------------------------------------------------------ issue

    def issue_op(self, entry: Entry, reads: Ranges, writes: Ranges,
                 plan_key: object | None = None) -> list[Race]:
        """Record an operation; returns the races known now (others may surface at a later setflag).

        `plan_key` (optional) names a memoised plan whose ranges never change (its `execute`).
        """
        pipe = entry.pipe
        vc = self.vc[pipe]
        index = self.count[pipe]  # `_next_index`, inline
        self.count[pipe] = index + 1
        r_span, w_span, hull = _spans(reads, writes, plan_key)
        op = _Op(entry, index, dict(vc), r_span, w_span, None, hull)
        groups = self.unresolved[pipe]
        if groups or not self.fast:
            for other in self.inflight.values():
                if other.entry.pipe != pipe:
                    hit = _hit(op.reads, op.writes, other)
                    if hit is not None:
                        op.candidates.append((other, *hit))
            self._add(op)
            if groups:
                groups[-1][1].append(op)
                return []
            return self._check(op)
        found: list[tuple[int, _Op, tuple[str, int, int]]] = []
        # An in-flight operation whose hull misses this one's cannot overlap it (`_hit`'s first
        # tests, done here without the call).
        lo, hi = hull
        for other_pipe, ops in self._by_pipe.items():
            if other_pipe == pipe or not ops:
                continue
            known = vc.get(other_pipe, -1)
            if ops[-1].index <= known:
                continue  # everything in flight there is ordered before this operation
            for other in reversed(ops):
                if other.index <= known:
                    break
                o_lo, o_hi = other.hull
                if o_lo < hi and lo < o_hi:
                    hit = _hit(r_span, w_span, other)
                    if hit is not None:
                        found.append((other.entry.seq, other, hit))
        self.inflight[entry.seq] = op  # `_add`, inline
        self._by_pipe[pipe].append(op)
        if not found:
            return []
        found.sort(key=lambda f: f[0])
        return [Race(other.entry, entry, kind, lo, hi) for _, other, (kind, lo, hi) in found]

    def _add(self, op: _Op) -> None:
        self.inflight[op.entry.seq] = op
        self._by_pipe[op.entry.pipe].append(op)

    def issue_set(self, entry: Entry) -> list[Race]:
        flag, pipe = entry.flag, entry.pipe
        assert flag is not None
        token = dict(self.vc[pipe])
        index = self.count[pipe]  # `_next_index`, inline
        self.count[pipe] = index + 1
        token[pipe] = index
        previous = self.tokens.get(flag)
        if previous is not None:
            _merge(token, previous)
        self.tokens[flag] = token
        if not self.unresolved[flag[1]]:
            return []  # (`_resolve` has no wait to satisfy)
        return self._resolve(flag[1])

    def issue_wait(self, entry: Entry) -> None:
        flag, pipe = entry.flag, entry.pipe
        assert flag is not None
        self.count[pipe] += 1  # `_next_index`, inline
        groups = self.unresolved[pipe]
        if not groups and flag in self.tokens:
            _merge(self.vc[pipe], self.tokens.pop(flag))
        else:
            groups.append((flag, []))

    def complete(self, entry: Entry) -> None:
        op = self.inflight.pop(entry.seq, None)
        if op is not None:
            ops = self._by_pipe[entry.pipe]
            if ops and ops[0] is op:  # a pipe completes its operations in order
                ops.popleft()
            else:
                ops.remove(op)

    def overlapping(self, second: Any, reads: Ranges, writes: Ranges) -> list[Race]:
        """Races of an access from outside the pipes (the host's BAR2; `second` describes it)
        with every in-flight operation it overlaps, in issue order: no flag can order them."""
        r, w = _span(reads), _span(writes)
        return [Race(op.entry, second, *hit) for op in self.inflight.values()
                if (hit := _hit(r, w, op)) is not None]

    # ------------------------------------------------------------ checks

    def _resolve(self, pipe: str) -> list[Race]:
        """Satisfy `pipe`'s oldest pending waits whose tokens now exist; check what they held."""
        races: list[Race] = []
        groups = self.unresolved[pipe]
        while groups and groups[0][0] in self.tokens:
            flag, ops = groups.popleft()
            token = self.tokens.pop(flag)
            _merge(self.vc[pipe], token)
            for _, later in groups:
                for op in later:
                    _merge(op.vc, token)
            for op in ops:
                _merge(op.vc, token)
                races.extend(self._check(op))
        return races

    @staticmethod
    def _check(op: _Op) -> list[Race]:
        races = []
        for other, kind, lo, hi in op.candidates:
            if op.vc.get(other.entry.pipe, -1) < other.index:
                races.append(Race(other.entry, op.entry, kind, lo, hi))
        op.candidates = []
        return races

    # ------------------------------------------------------------ snapshot

    def state(self) -> Any:
        return _copy_state((self.count, self.vc, self.tokens, self.unresolved, self.inflight))

    def load_state(self, state: Any) -> None:
        # Copied again so that the snapshot stays reusable after this run changes the ops.
        self.count, self.vc, self.tokens, self.unresolved, self.inflight = _copy_state(state)
        self._index_pipes()


def _copy_state(state: Any) -> Any:
    """A copy of the tracker's state sharing nothing mutable (entries are immutable)."""
    count, vc, tokens, unresolved, inflight = state
    memo: dict[int, _Op] = {}

    def cp(op: _Op) -> _Op:
        if id(op) not in memo:
            memo[id(op)] = new = _Op(op.entry, op.index, dict(op.vc), op.reads, op.writes, [], op.hull)
            new.candidates = [(cp(o), k, lo, hi) for o, k, lo, hi in op.candidates]
        return memo[id(op)]

    return (dict(count), {p: dict(v) for p, v in vc.items()}, {f: dict(t) for f, t in tokens.items()},
            {p: deque((f, [cp(o) for o in ops]) for f, ops in g) for p, g in unresolved.items()},
            {s: cp(o) for s, o in inflight.items()})
