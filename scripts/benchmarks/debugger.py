"""Debugger benchmark: the firmware's CHECKSUM hot loop under the Session, with and without debugging aids.

The firmware's CHECKSUM command (a scalar CRC-32 loop on the control core, about seven
instructions a byte) runs over a large device buffer, at least 20 million instructions,
under `debugger.Session` with:

- `mips_plain`: nothing set;
- `mips_1000_breakpoints`: 1000 breakpoints on firmware code the command never runs;
- `mips_4_watchpoints`: 4 write watchpoints on firmware data the command never writes;
- `mips_mmio_trace`: `trace mmio on` (every register access of both sides recorded);
- `mips_mem_trace_4k`: `trace mem on` one 4 KiB range of the buffer being checksummed;

and `startup_s`, the wall time of `npudbg --batch -ex quit` (open the default device,
boot the newest firmware, exit), best of five, with bytecode cached as Python does by
default (`startup_cpu_s`: its CPU time, which load from elsewhere disturbs less), and the
same with the environment as it is (`startup_uncached_s`, `startup_uncached_cpu_s`: with
PYTHONDONTWRITEBYTECODE=1 every launch compiles the project's modules again).

Noise: each round runs every configuration once, in an order that rotates from round
to round, and the best round counts. `plain_control` is `plain` measured again, so
`ratio_plain_control` (1.0 when quiet) shows how far apart two identical runs came out
under the current load; `spread_NAME` is the median over the best time of each one.
`core_entries_NAME` and `python_calls_NAME` count, in one more untimed run, how often
the core's C loop was entered and how many Python functions ran: load does not change
them, so a real slow path (a hook that makes the core leave its loop) shows there.
Each configuration's result is checked against zlib.crc32. Targets: breakpoints,
watchpoints and MMIO tracing within 10% of plain; memory tracing at least half of
plain; start-up under 0.5 s.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MIB = 4  # about 30 million instructions
UNUSED_CODE = ("handle_conv2d", "cv_", "conv", "handle_matmul", "mm_", "matmul", "handle_quant", "quant",
               "handle_copy", "copy")
UNTOUCHED_DATA = ("fw_trap_record", "cv_ctx", "cmd_args_off", "boot_dma_desc")


def _code_addresses(session, n: int) -> list[int]:
    """`n` instruction addresses in firmware functions a CHECKSUM never calls (each up to the next)."""
    prog = session.target.program
    funcs = sorted({s.value: s.name for s in prog.symbols if s.kind == "func"}.items())
    addrs: list[int] = []
    for (start, name), (end, _) in itertools.pairwise(funcs):
        if name.startswith(UNUSED_CODE):
            addrs += range(start, end, 4)
    if len(addrs) < n:
        raise SystemExit(f"only {len(addrs)} unused instruction addresses found")
    return addrs[:n]


def _setups(session, buf_addr: int) -> dict[str, tuple[Callable[[], None], Callable[[], None]]]:
    """Per configuration: what to do before the run, and how to undo it."""
    def run(*lines: str) -> Callable[[], None]:
        return lambda: [session.execute(line) for line in lines] and None

    def breakpoints() -> None:
        for addr in _code_addresses(session, 1000):
            session.execute(f"break *{addr:#x}")

    def watchpoints() -> None:
        for name in UNTOUCHED_DATA:
            session.execute(f"watch *(int*){session.symbol_value(name):#x}")

    return {
        "plain": (run(), run()),
        "plain_control": (run(), run()),  # plain again: the spread between the two is the noise floor
        "1000_breakpoints": (breakpoints, run("delete")),
        "4_watchpoints": (watchpoints, run("delete")),
        "mmio_trace": (run("trace mmio on"), run("trace mmio off", "trace clear")),
        "mem_trace_4k": (run(f"trace mem on {buf_addr:#x} +4096"), run("trace mem off", "trace clear")),
    }


def measure(mib: int, repeat: int) -> dict[str, float]:
    import numpy as np

    import driver
    from debugger.session import Session
    from driver import transport

    session = Session()
    with transport.use(transport.InProcess(session.device)):
        dev = driver.open()
    size = mib << 20
    data = np.random.default_rng(1).integers(0, 256, size, dtype=np.uint8)
    buf = dev.ctx.alloc(size)
    buf.write(data)
    want = zlib.crc32(data.tobytes())
    core = session.device.core
    dev.submit("CHECKSUM", src=buf.addr, size=size, seed=0)  # warm-up: caches, predecode, allocations
    session.cont()
    out: dict[str, float] = {}
    best = dict.fromkeys(_setups(session, buf.addr), float("inf"))
    insns: dict[str, int] = {}
    setups = _setups(session, buf.addr)
    times: dict[str, list[float]] = {name: [] for name in setups}
    order = list(setups)
    for round_ in range(repeat):  # interleaved in a rotating order: load from elsewhere hits all alike
        for name in order[round_ % len(order):] + order[:round_ % len(order)]:
            setup, undo = setups[name]
            setup()
            cmd = dev.submit("CHECKSUM", src=buf.addr, size=size, seed=0)
            i0 = core.instret
            t = time.process_time()  # CPU time of this process: what the session itself costs
            ev = session.cont()
            elapsed = time.process_time() - t
            if ev.reason != "idle":
                raise SystemExit(f"{name}: the run stopped with {ev.reason}: {ev.text}")
            insns[name] = core.instret - i0
            got = cmd.wait().value
            if got != want:
                raise SystemExit(f"{name}: CHECKSUM gave {got:#x}, zlib.crc32 {want:#x}")
            best[name] = min(best[name], elapsed)
            times[name].append(elapsed)
            undo()
            session.out.take()
    for name, (setup, undo) in setups.items():  # one more run each, untimed, counting the work done
        setup()
        cmd = dev.submit("CHECKSUM", src=buf.addr, size=size, seed=0)
        counts = _count_calls(session.cont)
        cmd.wait()
        undo()
        session.out.take()
        out[f"core_entries_{name}"], out[f"python_calls_{name}"] = counts
    for name in setups:
        out[f"mips_{name}"] = round(insns[name] / best[name] / 1e6, 2)
        out[f"instructions_{name}"] = insns[name]
        median = sorted(times[name])[len(times[name]) // 2]
        out[f"spread_{name}"] = round(median / best[name] - 1, 3)  # median over best: how noisy this one was
    session.close()
    return out


def _count_calls(run: Callable[[], object]) -> tuple[int, int]:
    """(entries into the C core's loop, Python function calls) while `run()` runs.

    Deterministic, unlike time: a configuration that made the core leave its loop more
    often, or Python run more, shows here whatever the load; equal counts mean a
    difference in MIPS is the C loop itself or noise.
    """
    counts = [0, 0]

    def profile(frame: object, event: str, arg: object) -> None:
        if event == "call":
            counts[1] += 1
        elif event == "c_call" and getattr(arg, "__name__", "") == "core_run":
            counts[0] += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return counts[0], counts[1]


def startup(repeat: int = 5, cached: bool = False) -> tuple[float, float]:
    """Best wall time and best CPU time (user + system) of `npudbg --batch -ex quit`.

    As the environment is (PYTHONDONTWRITEBYTECODE=1 leaves the project's modules to be
    compiled at every start), or `cached`: bytecode written to and read from a scratch cache.
    """
    import resource
    import tempfile

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    scratch = tempfile.TemporaryDirectory(prefix="npudbg-pyc-") if cached else None
    if scratch is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = scratch.name
    cmd = [sys.executable, "-m", "debugger.cli", "--batch", "-ex", "quit"]
    wall = cpu = float("inf")
    for i in range(repeat + (1 if cached else 0)):  # a cached run first fills the cache
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
        elapsed = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if cached and i == 0:
            continue
        wall = min(wall, elapsed)
        cpu = min(cpu, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if scratch is not None:
        scratch.cleanup()
    return round(wall, 3), round(cpu, 3)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.py debugger", description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--mib", type=int, default=DEFAULT_MIB, help="buffer size in MiB (default 4)")
    parser.add_argument("--repeat", type=int, default=9, help="runs per configuration; the best counts")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    result = measure(args.mib, args.repeat)
    # Python's own default caches bytecode, so every launch after the first reads it: that
    # is `startup_s`. An environment with PYTHONDONTWRITEBYTECODE=1 compiles the project's
    # modules at every launch: `startup_uncached_s` as the environment is.
    result["startup_s"], result["startup_cpu_s"] = startup(cached=True)
    result["startup_uncached_s"], result["startup_uncached_cpu_s"] = startup()
    plain = result["mips_plain"]
    result["load_avg_1min"] = round(os.getloadavg()[0], 2)
    for key in ("mips_plain_control", "mips_1000_breakpoints", "mips_4_watchpoints", "mips_mmio_trace",
                "mips_mem_trace_4k"):
        result[key.replace("mips_", "ratio_")] = round(result[key] / plain, 3)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for key, value in result.items():
            print(f"{key:<32} {value}")
    return 0
