"""The execution core against unicorn on one RV32IM workload, with and without debug hooks.

Usage: python scripts/bench.py core [--json] [--outer N]

The workload (integer loops, loads/stores, mul/div, calls with a stack frame) runs to
its `ecall` on our core raw, with 1000 breakpoints (none hit), with 4 watchpoints
(none hit) and with every load and store traced (the ring drained whenever it fills);
then on unicorn (UC_ARCH_RISCV, UC_MODE_RISCV32) raw, and with a per-instruction
Python UC_HOOK_CODE checking a breakpoint set on a shorter slice (it is ~100x slower).
Times are the benchmark thread's CPU time (robust to other load on the machine), the
best of --repeat runs per configuration.
The last line printed with --json is one JSON object of MIPS figures and ratios.
"""

from __future__ import annotations

import argparse
import json
import time

from isa.asm import assemble
from isa.core import Core, StopReason
from isa.memmap import region

ELEMENTS = 256
DEFAULT_OUTER = 20_000  # about 56 M instructions
HOOKED_SLICE = 2_000_000

SOURCE = """
.text
_start:
    li   sp, {stack}
    li   s0, {outer}
    la   s1, array
    li   a2, 0
outer:
    mv   t0, s1
    li   t1, {elements}
    li   t2, 0
inner:
    lw   t3, 0(t0)
    mul  t4, t3, t3
    addi t4, t4, 7
    xor  t3, t3, t4
    mulhu t5, t4, t3
    srli t5, t4, 3
    add  t2, t2, t5
    sw   t3, 0(t0)
    addi t0, t0, 4
    addi t1, t1, -1
    bnez t1, inner
    mv   a0, t2
    call mix
    add  a2, a2, a0
    addi s0, s0, -1
    bnez s0, outer
    ecall
mix:                        # a0 = (a0 / 12345) ^ (a0 % 12345), with a stack frame
    addi sp, sp, -16
    sw   ra, 12(sp)
    sw   s0, 8(sp)
    li   s0, 12345
    divu t6, a0, s0
    remu a0, a0, s0
    xor  a0, a0, t6
    div  t6, a0, s0
    rem  t6, a0, s0
    lw   s0, 8(sp)
    lw   ra, 12(sp)
    addi sp, sp, 16
    ret
.data
array:
    .fill {elements}, 4, 0x12345
"""


def build(outer: int) -> tuple[dict[int, bytes], int, int]:
    """The workload's sections, its entry point and the address of its final ecall."""
    dtcm = region("dtcm")
    image = assemble(SOURCE.format(stack=dtcm.end - 16, outer=outer, elements=ELEMENTS))
    sections = {s.addr: bytes(s.data) for s in image.sections if s.data}
    text = next(s for s in image.sections if s.name == ".text")
    words = [int.from_bytes(text.data[i:i + 4], "little") for i in range(0, len(text.data), 4)]
    end = text.addr + 4 * words.index(0x00000073)  # the ecall
    return sections, image.entry, end


def time_core(sections: dict[int, bytes], entry: int, setup: str) -> tuple[float, int]:
    core = Core()
    for addr, data in sections.items():
        core.write_mem(addr, data)
    core.pc = entry
    core.stop_on_ecall = True
    itcm, dtcm = region("itcm"), region("dtcm")
    if setup == "breakpoints":
        for i in range(1000):  # the upper half of ITCM: never executed
            core.add_breakpoint(itcm.base + itcm.size // 2 + 4 * i)
    elif setup == "watchpoints":
        spare = dtcm.base + dtcm.size // 2  # data the workload never touches, in its region
        core.add_watchpoint(spare, 4, "read")
        core.add_watchpoint(spare + 0x100, 4, "write")
        core.add_watchpoint(spare + 0x200, 8, "access")
        core.add_watchpoint(spare + 0x300, 2, "access")
    elif setup == "trace":
        core.trace_memory(True, mode="stop", capacity=1 << 16)
    entries = 0
    start = time.thread_time()
    while True:
        stop = core.run()
        if stop.reason != StopReason.TRACE_FULL:
            break
        entries += len(core.drain_trace())
    elapsed = time.thread_time() - start
    if stop.reason != StopReason.ECALL:
        raise RuntimeError(f"workload ended with {stop}")
    if setup == "trace":
        entries += len(core.drain_trace())
    return elapsed, core.instret


def time_unicorn(sections: dict[int, bytes], entry: int, end: int, hooked: bool) -> tuple[float, int]:
    from unicorn import UC_ARCH_RISCV, UC_HOOK_CODE, UC_MODE_RISCV32, Uc

    uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
    for name in ("itcm", "dtcm"):
        r = region(name)
        uc.mem_map(r.base, r.size)
    for addr, data in sections.items():
        uc.mem_write(addr, data)
    count = 0
    if hooked:
        breakpoints = {region("itcm").base + region("itcm").size // 2 + 4 * i for i in range(1000)}

        def hook(uc: Uc, address: int, size: int, user: object) -> None:
            if address in breakpoints:
                uc.emu_stop()

        uc.hook_add(UC_HOOK_CODE, hook)
        count = HOOKED_SLICE
    start = time.thread_time()
    uc.emu_start(entry, end, count=count)
    elapsed = time.thread_time() - start
    return elapsed, count


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.py core", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the results as one JSON line last")
    parser.add_argument("--outer", type=int, default=DEFAULT_OUTER, help="outer loop iterations")
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration (the best counts)")
    args = parser.parse_args(argv)
    sections, entry, end = build(args.outer)
    results: dict[str, object] = {}
    insns = 0
    for key, setup in (("core_raw_mips", "raw"), ("core_1000_breakpoints_mips", "breakpoints"),
                       ("core_4_watchpoints_mips", "watchpoints"), ("core_mem_trace_mips", "trace")):
        runs = [time_core(sections, entry, setup) for _ in range(args.repeat)]
        insns = runs[0][1]
        results[key] = round(insns / min(t for t, _ in runs) / 1e6, 1)
    elapsed = min(time_unicorn(sections, entry, end, hooked=False)[0] for _ in range(args.repeat))
    results["unicorn_raw_mips"] = round(insns / elapsed / 1e6, 1)
    elapsed, count = time_unicorn(sections, entry, end, hooked=True)
    results["unicorn_hooked_mips"] = round(count / elapsed / 1e6, 3)
    results["unicorn_hooked_slice_insns"] = count
    results["instructions"] = insns
    results["timer"] = f"thread CPU time, best of {args.repeat}"
    raw = float(results["core_raw_mips"])  # type: ignore[arg-type]
    results["ratio_core_raw_vs_unicorn_raw"] = round(raw / float(results["unicorn_raw_mips"]), 3)  # type: ignore[arg-type]
    results["ratio_breakpoints_vs_raw"] = round(float(results["core_1000_breakpoints_mips"]) / raw, 3)  # type: ignore[arg-type]
    results["ratio_watchpoints_vs_raw"] = round(float(results["core_4_watchpoints_mips"]) / raw, 3)  # type: ignore[arg-type]
    results["ratio_mem_trace_vs_raw"] = round(float(results["core_mem_trace_mips"]) / raw, 3)  # type: ignore[arg-type]
    results["ratio_breakpoints_vs_unicorn_hooked"] = round(
        float(results["core_1000_breakpoints_mips"]) / float(results["unicorn_hooked_mips"]), 1)  # type: ignore[arg-type]
    if not args.json:
        for key, value in results.items():
            print(f"{key:40} {value}")
        return 0
    print(f"workload: {insns} instructions")
    print(json.dumps(results))
    return 0
