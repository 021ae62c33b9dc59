"""The device end to end: firmware drives DMA, cube and flags through Xnpu instructions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_device_programs import load, symbol

from firmware.hw.device import Device
from firmware.hw.units import costs, descriptor

M = K = N = 32
A_OFF, B_OFF, OUT_OFF = 0x0, 0x10000, 0x20000
RUN = 10_000_000  # ticks: far more than any program here needs


def _region(dev: Device, name: str) -> int:
    return dev.config.region(name).base


def matmul_device(flag: int, seed: int = 1, **config) -> tuple[Device, object, np.ndarray, np.ndarray]:
    dev = Device("default", **config)
    image = load(dev, "matmul", boot=False, M=M, K=K, N=N, FLAG=flag)
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((M, K)).astype(np.float16)
    b = rng.standard_normal((K, N)).astype(np.float16)
    hbm = _region(dev, "hbm")
    dev.bar2_write(A_OFF, a.tobytes())
    dev.bar2_write(B_OFF, b.tobytes())
    descs = {
        "desc_a": descriptor.encode(hbm + A_OFF, _region(dev, "l0a"), a.nbytes),
        "desc_b": descriptor.encode(hbm + B_OFF, _region(dev, "l0b"), b.nbytes),
        "desc_c": descriptor.encode(_region(dev, "l0c"), _region(dev, "ub"), M * N * 4),
        "desc_out": descriptor.encode(_region(dev, "ub"), hbm + OUT_OFF, M * N * 4),
    }
    for name, data in descs.items():
        dev.core.write_mem(symbol(image, name), data)
    dev.boot(image.entry)
    return dev, image, a, b


def result(dev: Device) -> np.ndarray:
    return np.frombuffer(dev.bar2_read(OUT_OFF, M * N * 4), np.float32).reshape(M, N)


def test_dma_cube_dma_with_flags_matches_numpy_and_is_race_free() -> None:
    dev, image, a, b = matmul_device(flag=1)
    stop = dev.run_until(lambda: dev.asleep, RUN)
    assert stop.reason == "predicate"
    np.testing.assert_allclose(result(dev), a.astype(np.float32) @ b.astype(np.float32), rtol=1e-5, atol=1e-5)
    assert dev.races == [] and dev.errors == []
    assert dev.core.regs["a5"] == 0  # cfg status: no fault
    spans = {s.pc: s for s in dev.timeline.spans if s.key != "npu_setflag" and s.key != "npu_waitflag"}
    mmad, dma_b = spans[symbol(image, "mmad")], spans[symbol(image, "dma_b")]
    assert mmad.start >= dma_b.end  # the flag held the cube until the data was there
    assert mmad.end - mmad.start == costs.cube_cycles(M, K, N, "fp16") * dev.clock.tpc
    assert dev.regs.peek("perf.busy_m") == costs.cube_cycles(M, K, N, "fp16")
    assert dev.regs.peek("perf.busy_mte2") == 2 * costs.dma_cycles(("hbm", "l0a"), M * K * 2)


def test_missing_flag_reads_stale_data_and_reports_both_races() -> None:
    dev, image, _, _ = matmul_device(flag=0)
    dev.run_until(lambda: dev.asleep, RUN)
    assert not result(dev).any()  # the cube multiplied the zeros L0A/L0B held before the DMA landed
    pairs = {(r.first.pc, r.second.pc, r.kind) for r in dev.races}
    mmad = symbol(image, "mmad")
    assert pairs == {(symbol(image, "dma_a"), mmad, "read-after-write"),
                     (symbol(image, "dma_b"), mmad, "read-after-write")}
    text = str(dev.races[0])
    assert "npu.mmad" in text and "npu.dma" in text and f"0x{_region(dev, 'l0a'):08x}" in text
    assert dev.errors == []  # a warning by default


def test_strict_mode_makes_a_race_a_device_error() -> None:
    dev, image, _, _ = matmul_device(flag=0, strict_races=True)
    dev.run_until(lambda: dev.asleep, RUN)
    assert [e.cause for e in dev.errors] == ["race", "race"]
    assert dev.errors[0].pc == symbol(image, "mmad")
    assert dev.regs.field("errlog.entry[0].cause.cause") == dev.cause_value("race")
    assert dev.regs.field("host_irq.status.fw_fatal") == 1


def test_runs_are_identical_tick_for_tick() -> None:
    def trace() -> list:
        dev, _, _, _ = matmul_device(flag=1)
        dev.run_until(lambda: dev.asleep, RUN)
        return [*dev.timeline.spans, dev.now, dev.core.cycles, dev.regs.values()]

    assert trace() == trace()


def test_deadlock_is_a_device_error_naming_pipes_and_flags() -> None:
    dev = Device()
    image = load(dev, "deadlock")
    stop = dev.advance(RUN)
    assert stop.reason == "time" and dev.halted == "deadlock"
    (err,) = dev.errors
    assert err.cause == "deadlock" and err.pc == symbol(image, "wait")
    assert "m waits for mte2->m event 5" in err.detail and "barrier all" in err.detail
    assert dev.regs.map.decode("ctrl.state", dev.regs.peek("ctrl.state"))[0].enum == "fault"
    assert dev.regs.field("host_irq.status.fw_fatal") == 1
    assert dev.regs.field("errlog.entry[0].cause.cause") == dev.cause_value("deadlock")
    assert dev.regs.peek("errlog.entry[0].pc") == symbol(image, "wait")


def test_bad_operand_faults_at_issue_with_status_and_fault_pc() -> None:
    dev, image, _, _ = matmul_device(flag=1)
    dev.core.write_mem(symbol(image, "desc_a"), descriptor.encode(0x1000_0000, _region(dev, "l0a"), 64))
    dev.run_until(lambda: dev.asleep, RUN)
    (err,) = dev.errors
    assert err.cause == "dma_out_of_range" and err.pc == symbol(image, "dma_a")
    assert dev.cfgregs.get("status") == dev.cause_value("dma_out_of_range")
    assert dev.cfgregs.get("fault_pc") == symbol(image, "dma_a")
    assert dev.core.regs["a5"] == dev.cause_value("dma_out_of_range")
    assert dev.regs.peek("dma.err_pc") == symbol(image, "dma_a")
    assert dev.regs.field("host_irq.status.dma_error") == 1


def test_snapshot_run_restore_run_gives_the_same_state() -> None:
    dev, _, _, _ = matmul_device(flag=1)
    dev.advance(300)  # mid-flight: DMAs queued, cube waiting on its flag
    assert not dev.pipes.drained()
    snap = dev.snapshot()

    def finish() -> tuple:
        dev.run_until(lambda: dev.asleep, RUN)
        return (dev.now, dev.core.pc, dev.core.cycles, [dev.core.regs[i] for i in range(32)],
                dev.regs.values(), list(dev.timeline.spans), result(dev).tobytes(), dev.thermal.state())

    first = finish()
    dev.restore(snap)
    assert dev.now < first[0]
    assert finish() == first


def test_idle_advance_in_wfi_is_constant_time() -> None:
    dev, _, _, _ = matmul_device(flag=1)
    dev.run_until(lambda: dev.asleep, RUN)
    calls = []
    real_run = dev.core.run
    dev.core.run = lambda **kw: calls.append(kw) or real_run(**kw)
    start, instret = dev.now, dev.core.instret
    dev.advance(10**12)
    assert dev.now == start + 10**12
    assert calls == [] and dev.core.instret == instret


def test_bar0_reads_registers_and_firmware_only_reads_zero() -> None:
    dev = Device()
    rmap = dev.regs.map
    ident = rmap.register("id.device_id")
    assert dev.bar0_read(ident.offset, 4) == ident.reset
    assert dev.bar0_read(ident.offset + 1, 1) == (ident.reset >> 8) & 0xFF
    hidden = rmap.register("timer.mtimecmp_lo")
    assert dev.regs.peek(hidden.path) != 0
    assert dev.bar0_read(hidden.offset, 4) == 0
    dev.bar0_write(hidden.offset, 4, 0x1234)
    assert dev.regs.peek(hidden.path) == hidden.reset
    scratch = rmap.register("version.scratch[1]")
    dev.bar0_write(scratch.offset + 2, 2, 0xBEEF)
    assert dev.regs.peek(scratch.path) == 0xBEEF0000


def test_host_access_costs_latency() -> None:
    dev = Device()
    t = dev.now
    dev.bar0_read(0, 4)
    assert dev.now == t + dev.config.bar0_latency_ticks
    dev.bar2_write(0, bytes(1600))
    assert dev.now == t + dev.config.bar0_latency_ticks + dev.config.bar2_latency_ticks + 100


@pytest.mark.parametrize("config", ["default", "large"])
def test_memory_map_follows_the_table(config: str) -> None:
    dev = Device(config)
    for region in dev.config.regions:
        if region.kind != "mmio":
            assert dev.memory.by_name[region.name].size == region.size
    dev.bar2_write(dev.config.hbm.size - 4, b"\x01\x02\x03\x04")
    assert dev.core.read_mem(dev.config.hbm.end - 4, 4) == b"\x01\x02\x03\x04"


def test_dma_status_shows_the_busy_dma_pipes() -> None:
    dev, _, _, _ = matmul_device(flag=1)
    status = dev.regs.map.register("dma.status")
    dev.advance(100)  # inbound DMAs run on mte2; mte3 holds its waitflag (busy = work queued or running)
    assert dev.bar0_read(status.offset, 4) == dev.regs.map.encode("dma.status", mte2=1, mte3=1)
    dev.run_until(lambda: dev.asleep, RUN)
    assert dev.bar0_read(status.offset, 4) == 0


def test_observers_see_unit_writes_and_the_timeline_exports() -> None:
    dev, _, _, _ = matmul_device(flag=1)
    seen = []
    dev.regs.observe(lambda a: seen.append((a.side, a.kind, a.path, a.new)))
    dev.run_until(lambda: dev.asleep, RUN)
    cube = costs.cube_cycles(M, K, N, "fp16")
    assert ("unit", "write", "perf.busy_m", cube) in seen
    trace = json.loads(json.dumps(dev.timeline.to_chrome_trace()))
    names = [e["name"] for e in trace["traceEvents"] if e["ph"] == "X" and e["args"]["kind"] == "op"]
    assert names == ["npu.dma", "npu.dma", "npu.mmad", "npu.dma", "npu.dma"]


def test_run_counts_cycles_of_the_current_clock() -> None:
    dev = Device()
    load(dev, "watchdog", TIMEOUT=1 << 30, PETS=1 << 20, SLEEP=1)
    dev.run(1000)
    assert dev.now == 1000 and dev.core.cycles == 1000
    dev.regs.write(dev.regs.map.register("thermal.dvfs_req").address, 250, "firmware")  # DVFS: 4 ticks/cycle
    dev.run(1000)
    assert dev.now == 5000 and dev.core.cycles == 2000
    dev.run(ticks=400)
    assert dev.now == 5400 and dev.core.cycles == 2100


def test_race_reports_are_capped() -> None:
    dev, _, _, _ = matmul_device(flag=0, max_reports=1)
    dev.run_until(lambda: dev.asleep, RUN)
    assert len(dev.races) == 1 and dev.races_dropped == 1


def test_sleeping_in_wfi_while_every_pipe_waits_on_a_flag_is_a_deadlock() -> None:
    dev = Device()
    image = load(dev, "sleep_deadlock", TIMER=0, DELAY=1000)
    stop = dev.advance(RUN)
    assert stop.reason == "time" and dev.halted == "deadlock"
    (err,) = dev.errors
    assert err.cause == "deadlock" and err.pc == symbol(image, "sleep")
    assert "sleeps in wfi" in err.detail and "m waits for mte2->m event 5" in err.detail
    assert dev.regs.map.decode("ctrl.state", dev.regs.peek("ctrl.state"))[0].enum == "fault"
    assert dev.regs.field("host_irq.status.fw_fatal") == 1
    assert dev.regs.field("errlog.entry[0].cause.cause") == dev.cause_value("deadlock")
    assert err.tick < 1000  # found when the core went to sleep, not after a timeout


def test_sleeping_with_an_armed_timer_that_wakes_the_flag_setter_is_no_deadlock() -> None:
    dev = Device()
    load(dev, "sleep_deadlock", TIMER=1, DELAY=20_000)
    dev.advance(10_000)
    assert dev.asleep and dev.pipes.stuck() and dev.errors == []  # asleep, the timer still to come
    dev.advance(RUN)
    assert dev.errors == [] and dev.halted is None and dev.asleep
    assert dev.pipes.drained() and dev.pipes.completed["m"] == 1  # woken, it set the flag
