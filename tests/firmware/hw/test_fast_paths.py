"""The device's fast paths give the same results as the general ones."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from test_device_programs import load

from firmware.hw import hazards
from firmware.hw.clock import Clock
from firmware.hw.config import device_config
from firmware.hw.device import Device
from firmware.hw.thermal import Thermal

PIPES = ("mte1", "mte2", "m", "v", "mte3")


def _overlap_by_scan(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The definition: every pair in order, the first that shares a byte."""
    for addr_a, n_a in a:
        for addr_b, n_b in b:
            lo, hi = max(addr_a, addr_b), min(addr_a + n_a, addr_b + n_b)
            if lo < hi:
                return lo, hi
    return None


_ranges = st.lists(st.tuples(st.integers(0, 600), st.integers(0, 40)), max_size=24)


def _rows(start: int, count: int, length: int, stride: int) -> list[tuple[int, int]]:
    return [(start + i * stride, length) for i in range(count)]


_strided = st.builds(_rows, st.integers(0, 400), st.integers(0, 40), st.integers(1, 16), st.integers(16, 40))


@settings(max_examples=400)
@given(a=st.one_of(_ranges, _strided), b=st.one_of(_ranges, _strided))
def test_hazard_overlap_finds_the_same_first_range_as_the_pairwise_scan(a, b) -> None:
    assert hazards._overlap(hazards._Span(a), hazards._Span(b)) == _overlap_by_scan(a, b)


def test_strided_rows_are_indexed_and_overlap_between_rows_is_none() -> None:
    rows = hazards._Span(_rows(0x1000, 64, 16, 64))
    assert rows.index is not None and rows.hull == (0x1000, 0x1000 + 63 * 64 + 16)
    assert hazards._overlap(hazards._Span([(0x1010, 0x30)]), rows) is None
    assert hazards._overlap(hazards._Span([(0x1010, 0x31)]), rows) == (0x1040, 0x1041)


def test_equal_range_lists_share_one_span() -> None:
    rows = _rows(0x2000, 32, 16, 64)
    span = hazards._span(rows)
    assert hazards._span(list(rows)) is span and span.ranges == tuple(rows)


# ---------------------------------------------------------------- host accesses while the core sleeps


def _host_session(fast: bool) -> tuple:
    """Many BAR0 accesses to a device whose firmware sleeps in wfi, with the die still cooling,
    a poked thermal register, live-read registers and an injected fault on the way."""
    dev = Device()
    general: list[int] = []
    if fast:  # count the accesses that leave the fast path
        loop = dev._loop
        dev._loop = lambda *a: (general.append(1), loop(*a))[1]  # type: ignore[method-assign]
    else:  # every access through the general `advance`
        dev.host_latency = lambda ticks: dev.advance(ticks)  # type: ignore[method-assign]
    seen: list[tuple] = []
    dev.regs.observe(lambda a: seen.append(tuple(a)))
    load(dev, "watchdog", TIMEOUT=1 << 30, PETS=3, SLEEP=1)
    dev.advance(20_000)
    assert dev.asleep
    dev.thermal.temp_c = 47.3
    rmap = dev.regs.map
    scratch, temp = rmap.register("version.scratch[0]").offset, rmap.register("thermal.temp").offset
    remaining, mtime = rmap.register("wdog.remaining").offset, rmap.register("timer.mtime_lo").offset
    got = []
    for i in range(3000):
        dev.bar0_write(scratch, 4, i)
        got.append(dev.bar0_read(scratch, 4))
        dev.bar0_write(scratch + 2, 2, i & 0xFFFF)
        if i % 250 == 0:
            dev.regs.poke("thermal.temp", 0)
            got += [dev.bar0_read(temp, 4), dev.bar0_read(remaining, 4), dev.bar0_read(mtime, 4)]
        if i == 1000:
            dev.inject("hang", at=dev.now + 3_000)
    return (len(general), dev.now, got, seen, dev.regs.snapshot(), dev.thermal.state(), dev.clock.state(),
            dev.hung)


def test_host_accesses_to_a_sleeping_device_match_the_general_path_tick_for_tick() -> None:
    (general, *fast), (_, *slow) = _host_session(True), _host_session(False)
    assert general <= 3  # of 9000 accesses (the injected fault is due inside one of them)
    assert fast[0] == slow[0] and fast[1] == slow[1]
    assert fast[2] == slow[2]  # every observed access and change, with its tick
    assert fast[3:] == slow[3:]
    assert fast[-1]  # the hang fired on the way
    assert 25.0 < fast[4][0] < 47.3  # the die cooled during the accesses, and not all the way


@settings(max_examples=200)
@given(temp=st.floats(0.0, 120.0), dt=st.integers(1, 10_000_000), on=st.sampled_from([30.0, 65.0]))
def test_idle_thermal_step_is_bit_for_bit_the_update_with_no_busy_time(temp: float, dt: int,
                                                                       on: float) -> None:
    cfg = device_config()
    general, idle = Thermal(cfg), Thermal(cfg)
    for t in (general, idle):
        t.temp_c, t.throttle_on_c = temp, on
    zeros = dict.fromkeys((*PIPES, "s"), 0)
    flipped = general.update(dt, zeros)
    assert idle.step(dt, idle.activity(1, zeros)) == flipped
    assert idle.state() == general.state()


def test_publish_restores_a_poked_temperature_at_the_next_update_even_when_nothing_else_changed() -> None:
    dev = Device()
    dev.advance(10_000)
    assert dev.regs.peek("thermal.temp") == round(dev.config.ambient_c * 10)
    dev.regs.poke("thermal.temp", 0)
    dev.advance(dev.config.thermal_update_ticks)
    assert dev.regs.peek("thermal.temp") == round(dev.config.ambient_c * 10)


def test_clock_keeps_its_earliest_event_through_every_change() -> None:
    clock = Clock()
    assert clock.next_event() is None
    clock.schedule("b", 30)
    clock.schedule("a", 30)
    assert clock.next_event() == (30, "a")
    clock.schedule("a", 50)
    assert clock.next_event() == (30, "b")
    clock.cancel("b")
    assert clock.next_event() == (50, "a")
    clock.now = 60
    assert clock.pop_due() == "a" and clock.next_event() is None
    clock.load_state((0, 1, {"x": 5}))
    assert clock.next_event() == (5, "x")
    clock.clear()
    assert clock.next_event() is None and clock.events == {}


def _earliest_completion(pipes) -> tuple[int, str] | None:
    running = [(cur[2], pipes.order[name], name) for name, cur in pipes.current.items() if cur is not None]
    return (min(running)[0], min(running)[2]) if running else None


def test_pipes_keep_their_earliest_completion_through_a_program() -> None:
    dev = Device()
    load(dev, "matmul", M=16, K=16, N=16, FLAG=1)
    seen_running = 0
    for _ in range(400):
        dev.step()
        assert dev.pipes.next_completion() == _earliest_completion(dev.pipes)
        seen_running += dev.pipes.next_completion() is not None
        if dev.halted is not None or dev.asleep:
            break
    assert seen_running > 0
    snap = dev.snapshot()
    dev.reset()
    assert dev.pipes.next_completion() is None
    dev.restore(snap)
    assert dev.pipes.next_completion() == _earliest_completion(dev.pipes)
