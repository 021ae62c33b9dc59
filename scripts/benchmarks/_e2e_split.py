"""Where one end-to-end command's time goes: the units' work, the device's bookkeeping, the host.

`split(device, run)` calls `run()` once with light instruments on the in-process device:
Xnpu instructions are counted; retiring each instruction is timed by table key; the
device's run loop is timed as a whole. The units' data work runs on the worker thread,
alongside the model: `e2e_cube_s` is the worker's time (the mmads and the DMA copies queued
in order with them, from the kernel's counters), `e2e_cube_wait_s` the device thread's time
waiting for it, `e2e_cube_issue_s` and `e2e_dma_s` the device thread's own part of retiring
mmads and DMAs (queueing them; a DMA the worker cannot take is copied here). The rest of
the loop's time is the device's bookkeeping (issue, hazards, pipes, slices, timeline,
thermal), the time outside it the host's (driver, buffers, rings). The instruments cost a
little, so the shares come from this run and the headline time from clean runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from firmware.hw.units import blas


def split(device: Any, run: Callable[[], object]) -> dict[str, float | int]:
    """Run `run()` once and return the e2e_* breakdown keys (seconds, counts, µs per instruction)."""
    retire_s: dict[str, float] = {}
    settle_s: dict[str, float] = {}  # time settling the cube's queue, by what was retiring then
    retiring: list[str] = ["loop"]
    loop_s = [0.0]
    xnpu = [0]
    hooks = device.pipes.on_retire
    saved_hooks, saved_xnpu, saved_loop = list(hooks), device.core.xnpu, device._loop
    saved_settle = blas.settle

    def timed_retire(hook: Callable[..., None]) -> Callable[..., None]:
        def retire(entry: Any, start: int, end: int) -> None:
            t = time.perf_counter()
            retiring.append(entry.key)
            try:
                hook(entry, start, end)
            finally:
                retiring.pop()
                retire_s[entry.key] = retire_s.get(entry.key, 0.0) + time.perf_counter() - t
        return retire

    def timed_settle() -> None:
        t = time.perf_counter()
        try:
            saved_settle()
        finally:
            settle_s[retiring[-1]] = settle_s.get(retiring[-1], 0.0) + time.perf_counter() - t

    def counted(core: Any, word: int, pc: int) -> None:
        xnpu[0] += 1
        saved_xnpu(core, word, pc)

    def timed_loop(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return saved_loop(*args, **kwargs)
        finally:
            loop_s[0] += time.perf_counter() - t

    hooks[:] = [timed_retire(h) for h in saved_hooks]
    device.core.xnpu = counted
    device._loop = timed_loop
    blas.settle = timed_settle
    try:
        kernel_before = blas.stats()
        start = time.perf_counter()
        run()
        total = time.perf_counter() - start
        kernel = {key: value - kernel_before[key] for key, value in blas.stats().items()}
    finally:
        hooks[:] = saved_hooks
        device.core.xnpu = saved_xnpu
        del device._loop
        blas.settle = saved_settle
    settled = sum(settle_s.values())
    queue_full = max(0.0, kernel["wait_s"] - settled)  # (waits inside queueing an mmad)
    cube_issue = max(0.0, retire_s.get("npu_mmad", 0.0) - settle_s.get("npu_mmad", 0.0) - queue_full)
    dma = max(0.0, retire_s.get("npu_dma", 0.0) - settle_s.get("npu_dma", 0.0))
    vector = sum(s - settle_s.get(key, 0.0) for key, s in retire_s.items() if key.startswith("npu_v"))
    other = max(0.0, loop_s[0] - sum(retire_s.values()) - settle_s.get("loop", 0.0))
    queued = bool(kernel["queued"])
    return {
        "e2e_xnpu_instructions": xnpu[0],
        "e2e_split_total_s": round(total, 4),
        "e2e_cube_s": round(kernel["worker_s"] if queued else cube_issue, 4),
        "e2e_cube_wait_s": round(settled + queue_full, 4),
        "e2e_cube_issue_s": round(cube_issue if queued else 0.0, 4),
        "e2e_dma_s": round(dma, 4),
        "e2e_vector_s": round(vector, 4),
        "e2e_device_bookkeeping_s": round(other, 4),
        "e2e_host_s": round(max(0.0, total - loop_s[0]), 4),
        "e2e_bookkeeping_us_per_xnpu": round(other / xnpu[0] * 1e6, 2) if xnpu[0] else None,
    }
