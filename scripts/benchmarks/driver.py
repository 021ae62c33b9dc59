"""Driver benchmark: the whole stack end to end, and the bus, side by side with numpy in one run.

- `e2e_matmul_fp16_gflops`: `dev.matmul(a16, b16)` for 1024×1024×1024 through driver → bus →
  firmware → cube → completion → result array, against numpy's fp16 route
  `a16.astype(np.float32) @ b16.astype(np.float32)` in the same run.
- `bar0_round_trips_per_s`: BAR0 write+read pairs on a scratch register through the
  in-process bus, no observer, while the firmware sleeps in `wfi`; `..._traced_per_s` the
  same with an MMIO tracer attached (an observer keeping the last 64 Ki events in a ring, as
  a trace buffer does; decoding is left for when the trace is shown). Also the raw
  device calls alone and the bus over a transport that does nothing, to show which layer
  the time goes to.
- `nop_command_us`: host microseconds for one NOP from submit to completion.
- `e2e_matmul_s` and numpy's route are timed in alternating rounds, each after `--settle` idle
  seconds, best of `--e2e-repeat` (`e2e_matmul_first_s` is the first matmul alone);
  `e2e_xnpu_instructions`, `e2e_cube_s` (the units' worker thread: mmads and DMA copies),
  `e2e_cube_wait_s`, `e2e_cube_issue_s`, `e2e_dma_s`, `e2e_vector_s`,
  `e2e_device_bookkeeping_s`, `e2e_host_s`, `e2e_bookkeeping_us_per_xnpu`: one more run
  split by where its time goes (see `_e2e_split`); `cube_kernel_jobs`: the mmads and copies
  queued for the worker, and the mmads run at once, during the benchmark.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from collections.abc import Callable

import numpy as np


def best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def round_trips(write: Callable[[int, int, int], None], read: Callable[[int, int], int], at: int,
                pairs: int) -> float:
    def loop() -> None:
        for i in range(pairs):
            write(at, 4, i)
            read(at, 4)

    return pairs / best_of(loop, 5)  # (best of 5: one pass is ~50 ms, easily disturbed)


class NullTransport:
    """A transport that does nothing: what the bus itself costs per access."""

    def bar0_read(self, offset: int, width: int) -> int:
        return 0

    def bar0_write(self, offset: int, width: int, value: int) -> None:
        pass

    def now(self) -> int:
        return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.py driver", description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--size", type=int, default=1024, help="matmul edge (m = n = k)")
    parser.add_argument("--pairs", type=int, default=20_000, help="BAR0 round trips per measurement")
    parser.add_argument("--nops", type=int, default=300, help="NOP commands to average over")
    parser.add_argument("--e2e-repeat", type=int, default=5,
                        help="rounds of numpy's route and the end-to-end matmul, alternated (the best "
                             "of each counts; the first matmul is also reported on its own)")
    parser.add_argument("--settle", type=float, default=0.15,
                        help="idle seconds before each timed run of the matmul comparison")
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="limit BLAS threads for the whole run (numpy's route and the cube alike)")
    args = parser.parse_args(argv)
    if args.blas_threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.blas_threads)

    import driver
    from benchmarks._e2e_split import split
    from driver.bus import Bus
    from driver.registers import offset
    from driver.transport import InProcess
    from firmware.hw.units import blas

    transport = InProcess()
    dev = driver.open(transport=transport)
    out: dict[str, object] = {"firmware": dev.image.version, "abi": dev.abi, "size": args.size,
                              "blas_threads": args.blas_threads}

    scratch = offset("version.scratch[0]")
    dev.bus.advance(10_000)  # the firmware is asleep in wfi after bring-up
    out["bar0_round_trips_per_s"] = round(round_trips(dev.bus.write, dev.bus.read, scratch, args.pairs))
    trace: deque[object] = deque(maxlen=1 << 16)
    tracer = dev.bus.observe(trace.append)
    traced = round_trips(dev.bus.write, dev.bus.read, scratch, args.pairs)
    out["bar0_round_trips_traced_per_s"] = round(traced)
    dev.bus.unobserve(tracer)
    out["traced_events_kept"] = len(trace)
    trace.clear()
    null = Bus(NullTransport())  # type: ignore[arg-type]
    out["bus_only_round_trips_per_s"] = round(round_trips(null.write, null.read, scratch, args.pairs))
    null.observe(trace.append)
    out["bus_only_traced_round_trips_per_s"] = round(round_trips(null.write, null.read, scratch, args.pairs))
    trace.clear()
    device = transport.device
    out["device_bar0_round_trips_per_s"] = round(round_trips(device.bar0_write, device.bar0_read, scratch,
                                                             args.pairs))

    dev.nop()
    t = time.perf_counter()
    for _ in range(args.nops):
        dev.nop()
    out["nop_command_us"] = round((time.perf_counter() - t) / args.nops * 1e6, 1)

    rng = np.random.default_rng(0)
    n = args.size
    a16 = rng.standard_normal((n, n)).astype(np.float16)
    b16 = rng.standard_normal((n, n)).astype(np.float16)
    flops = 2.0 * n * n * n
    ref = a16.astype(np.float32) @ b16.astype(np.float32)

    def numpy_route() -> object:
        return a16.astype(np.float32) @ b16.astype(np.float32)

    def settled(fn: Callable[[], object]) -> float:
        # numpy's two BLAS threads keep spinning on a core for ~0.1 s after a call: let
        # them sleep, so neither side is timed against the other's leftovers.
        time.sleep(args.settle)
        return best_of(fn, 1)

    try:
        t0 = dev.bus.now()
        start = time.perf_counter()
        got = dev.matmul(a16, b16)
        first_s = time.perf_counter() - start
        out["e2e_matmul_device_ticks"] = dev.bus.now() - t0
        # The two sides alternate, round by round, so a busy spell slows both alike.
        numpy_s, e2e_s = float("inf"), first_s
        for _ in range(max(1, args.e2e_repeat)):
            numpy_s = min(numpy_s, settled(numpy_route))
            e2e_s = min(e2e_s, settled(lambda: dev.matmul(a16, b16)))
        out["numpy_fp16_route_gflops"] = round(flops / numpy_s / 1e9, 2)
        out["e2e_matmul_first_s"] = round(first_s, 3)
        out["e2e_matmul_s"] = round(e2e_s, 3)
        out["e2e_matmul_fp16_gflops"] = round(flops / e2e_s / 1e9, 2)
        out["ratio_e2e_fp16_route"] = round(numpy_s / e2e_s, 3)
        out["e2e_max_abs_error"] = float(np.abs(got - ref).max())
        out.update(split(transport.device, lambda: dev.matmul(a16, b16)))
        jobs = blas.stats()
        out["cube_kernel_jobs"] = {"queued": jobs["queued"], "copies": jobs["copies"], "run": jobs["run"]}
    except driver_errors() as exc:
        out["e2e_matmul_fp16_gflops"] = None
        out["ratio_e2e_fp16_route"] = None
        out["e2e_error"] = str(exc)
    dev.close()

    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key:36} {value}")
    return 0


def driver_errors() -> tuple[type[BaseException], ...]:
    from isa.errors import NpuError

    return (NpuError,)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
