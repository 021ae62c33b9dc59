"""The idle horizon: a host access while the core cannot run is time passing, yet every due
event still fires at its tick.

Each scenario runs on two fresh devices: one as it is (plain registers from the host
access plan, the idle horizon inline), one forced through the general paths (a
register-file observer empties the plan, and `host_latency` is `advance`, which never
looks at the horizon). Values read, ticks, registers, the core's state, events, pipes,
thermal state, errors and the timeline must come out the same; and the fast device must
have made the full check on only a few of its accesses, so the horizon was in use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from test_device_programs import load, symbol

from firmware.hw.clock import Clock
from firmware.hw.device import Device
from firmware.hw.regfile import RegisterFile
from firmware.hw.regmap import regmap

RMAP = regmap()
SCRATCH = RMAP.register("version.scratch[0]").offset
TEMP = RMAP.register("thermal.temp").offset
STATUS = RMAP.register("host_irq.status").offset
DOORBELL = RMAP.register("queue0.sq_doorbell").offset
RUN = RMAP.register("ctrl.run").offset

Script = Callable[[Device, Callable[[int], None]], list[int]]


def _device(general: bool) -> tuple[Device, list[int]]:
    """A device, and the ticks at which it made the full check (`_learn_horizon`)."""
    dev = Device()
    full: list[int] = []
    if general:
        dev.regs.observe(lambda a: None)
        dev.host_latency = lambda ticks: dev.advance(ticks)  # type: ignore[method-assign]
    else:
        learn = dev._learn_horizon
        dev._learn_horizon = lambda: (full.append(dev.now), learn())[1]  # type: ignore[method-assign]
    return dev, full


def _word(dev: Device, addr: int) -> int:
    return int.from_bytes(dev.core.read_mem(addr, 4), "little")


def _state(dev: Device) -> tuple[Any, ...]:
    return (dev.now, dev.core.snapshot(), dev.regs.snapshot(), dev.clock.state(), dev.thermal.state(),
            dev.watchdog.state(), dev.timer.state(), dev.irq.state(), dev.timeline.state()[0],
            dev.halted, dev.asleep, dev.hung, [str(e) for e in dev.errors], dict(dev.pipes.completed))


def _twins(script: Script, pairs: int) -> tuple[tuple[Any, ...], list[int]]:
    """Run `script` on both devices; returns the fast run's outcome and its full checks."""
    outcomes = []
    for general in (False, True):
        dev, full = _device(general)

        def poll(n: int, dev: Device = dev) -> None:
            for i in range(n):
                dev.bar0_write(SCRATCH, 4, i)
                dev.bar0_read(SCRATCH, 4)

        got = script(dev, poll)
        poll(pairs)
        outcomes.append(((got, *_state(dev)), full))
    (fast, full), (general_outcome, _) = outcomes
    assert fast == general_outcome
    return fast, full


def test_the_timer_wakes_the_sleeping_core_at_its_tick_while_the_host_polls() -> None:
    def script(dev: Device, poll: Callable[[int], None]) -> list[int]:
        image = load(dev, "irq", DELAY=40_000)
        dev.advance(2_000)
        assert dev.asleep
        poll(200)
        got = [dev.bar0_read(STATUS, 4)]
        dev.bar0_write(DOORBELL, 4, 1)  # the handler counts it and raises cq0 (the general path)
        poll(50)
        got += [dev.bar0_read(STATUS, 4), _word(dev, symbol(image, "doorbells"))]
        dev.bar0_write(STATUS, 4, got[-2])  # W1C
        poll(300)
        return [*got, _word(dev, symbol(image, "timer_at"))]

    (got, *_), full = _twins(script, 100)
    assert got[0] == 0 and got[1] == 1 and got[2] == 1  # the doorbell was taken
    assert 40_000 <= got[3] < 40_000 + 2_000  # the handler ran when the timer rose, not later
    assert len(full) < 40  # of 1 300 accesses


def test_a_pipe_completes_at_its_tick_while_the_host_polls() -> None:
    def script(dev: Device, poll: Callable[[int], None]) -> list[int]:
        load(dev, "sleep_deadlock", TIMER=1, DELAY=30_000)
        dev.advance(1_000)
        assert dev.asleep and not dev.pipes.drained()
        poll(400)
        return [dev.bar0_read(TEMP, 4)]

    state, full = _twins(script, 10)
    spans = state[9]
    cube = [s for s in spans if s.pipe == "m"]
    assert [s.key for s in cube] == ["npu_waitflag", "npu_mmad"]
    assert 30_000 <= cube[1].start < cube[1].end < state[1]  # it ran once the timer set the flag
    assert len(full) < 40  # of 820 accesses


def test_the_watchdog_of_a_hung_core_expires_at_its_tick_while_the_host_polls() -> None:
    def script(dev: Device, poll: Callable[[int], None]) -> list[int]:
        load(dev, "watchdog", TIMEOUT=60_000, PETS=1, SLEEP=1)
        dev.advance(5_000)
        dev.inject("hang", at=dev.now + 7_777)
        poll(600)
        return [dev.bar0_read(STATUS, 4)]

    state, full = _twins(script, 10)
    assert state[10] == "watchdog" and state[12]  # halted, hung
    assert "watchdog expired" in state[13][0]
    assert len(full) < 40


def test_run_control_pokes_and_a_rewound_snapshot_between_host_accesses() -> None:
    def script(dev: Device, poll: Callable[[int], None]) -> list[int]:
        image = load(dev, "irq", DELAY=25_000)
        dev.advance(2_000)
        poll(20)
        snap = dev.snapshot()
        dev.bar0_write(RUN, 4, 0)  # host halt, then resume: the timer's tick passes while halted
        poll(60)
        dev.bar0_write(RUN, 4, 1)
        poll(20)
        first = _word(dev, symbol(image, "timer_at"))
        dev.restore(snap)  # back in time: the horizon learned since is gone with it
        dev.regs.poke("thermal.temp", 0)
        dev.inject("hang", at=dev.now + 3_000)
        poll(20)
        dev.halt("debugger")
        poll(20)
        dev.resume()
        poll(20)
        return [first, _word(dev, symbol(image, "timer_at")), dev.bar0_read(TEMP, 4)]

    (got, *_), _ = _twins(script, 50)
    assert got[0] >= 25_000 and got[2] != 0


def test_a_boot_a_debugger_halt_and_a_resume_between_host_accesses() -> None:
    def script(dev: Device, poll: Callable[[int], None]) -> list[int]:
        image = load(dev, "watchdog", boot=False, TIMEOUT=1 << 30, PETS=1, SLEEP=0)  # it spins once booted
        poll(10)  # held in reset: time passes
        dev.boot(image.entry)  # (schedules nothing yet: only its register writes forget the horizon)
        poll(10)
        dev.halt("debugger")
        poll(40)  # nothing runs: time passes
        halted_at = dev.core.csr("minstret")
        dev.resume()  # (a register write: the horizon learned while halted is forgotten)
        poll(20)
        return [halted_at, dev.core.csr("minstret")]

    (got, *_), full = _twins(script, 10)
    assert got[1] > got[0] + 10_000  # it ran again from the first access after the resume
    assert 80 <= len(full) < 90  # each of the 80 accesses while it runs is a full check; halted, a few


def test_the_horizon_is_forgotten_by_events_register_writes_hooks_and_state_loads() -> None:
    clock = Clock()
    regs = RegisterFile()
    regs.horizon = clock.horizon
    forgetters: list[Callable[[], object]] = [
        lambda: clock.schedule("timer", 10), lambda: clock.cancel("timer"), clock.clear,
        lambda: clock.load_state(clock.state()),
        lambda: regs.write("version.scratch[0]", 1, "unit"),
        lambda: regs.write(SCRATCH + 1, 1, "host", width=1),
        lambda: regs.poke("thermal.temp", 3), regs.reset, lambda: regs.restore(regs.snapshot()),
    ]
    regs.on_read("version.scratch[1]", lambda a: None)
    forgetters.append(lambda: regs.read(SCRATCH + 4, "host"))
    for forget in forgetters:
        clock.horizon.until = 1_000
        forget()
        assert clock.horizon.until == 0, forget
    clock.horizon.until = 1_000
    regs.read(SCRATCH, "host")  # a read with no hook changes nothing the horizon depends on
    regs.peek("thermal.temp")
    assert clock.horizon.until == 1_000


def test_a_plain_access_before_the_horizon_costs_only_its_latency() -> None:
    dev, full = _device(False)
    dev.advance(1_000)
    dev.bar0_read(SCRATCH, 4)  # learns the horizon: the next thermal update
    until = dev.clock.horizon.until
    assert full == [1_500] and until == dev._accounted[0] + dev.config.thermal_update_ticks
    latency = dev.config.bar0_latency_ticks
    n = (until - dev.now - 1) // latency
    for i in range(n):
        dev.bar0_write(SCRATCH, 4, i)
    assert dev.now == 1_500 + n * latency < until and full == [1_500]
    dev.bar0_read(SCRATCH, 4)  # crosses it: the thermal update, and the horizon moves on
    assert dev._accounted[0] == dev.now
    assert dev.clock.horizon.until == dev.now + dev.config.thermal_update_ticks


def test_a_debugger_enabling_an_interrupt_wakes_the_sleeping_core_at_the_next_host_access() -> None:
    """CSR writes and interrupt lines driven through the core's API (a debugger's `set $mie`)
    are no register writes, yet they decide whether the sleeping core wakes."""
    def script(dev: Device, poll: Callable[[int], None]) -> list[int]:
        load(dev, "irq", DELAY=400_000)
        dev.advance(2_000)
        poll(50)  # the horizon is the timer, far ahead
        dev.core.set_interrupt("software", True)  # pending, not enabled: it sleeps on
        poll(10)
        slept = [int(dev.asleep), dev.core.csr("mcause")]
        dev.core.set_csr("mie", dev.core.csr("mie") | 0x8)  # MSIE
        poll(10)
        return [*slept, int(dev.asleep), dev.core.csr("mcause")]

    (got, *_), _ = _twins(script, 10)
    assert got[:2] == [1, 0] and got[2:] == [0, 0x80000003]  # woken into the handler by the software line
