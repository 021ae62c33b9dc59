"""`python -m isa.run PROG.elf`: run a bare-metal RV32IM program on the core and exit with its code.

Exit status: the program's exit code (or tohost fail number) in 0..255, where a
non-zero code whose low byte is 0 becomes 1 so that a failure never reads as
success; 124 when the instruction budget runs out; 125 for a guest fault the
program did not handle; 130 when interrupted (Ctrl-C); 2 when the file cannot be run (bad ELF, wrong
architecture, a segment outside the memory map).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from isa.errors import NpuError

EXIT_BUDGET = 124
EXIT_FAULT = 125
EXIT_UNRUNNABLE = 2
EXIT_INTERRUPTED = 130
PROG = "isa.run"


def _count(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number of instructions")
    return value


def _parser() -> argparse.ArgumentParser:
    from isa.memmap import CONFIGS
    from isa.run import DEFAULT_MAX_INSNS

    parser = argparse.ArgumentParser(prog="python -m isa.run",
                                     description="Run a bare-metal RV32IM ELF on the NPU control core "
                                                 "(memory map only, no device).")
    parser.add_argument("elf", type=Path, help="the ELF file to run (code in ITCM, data in DTCM)")
    parser.add_argument("--max-insns", type=_count, default=DEFAULT_MAX_INSNS, metavar="N",
                        help=f"stop with an error after N instructions (default {DEFAULT_MAX_INSNS})")
    parser.add_argument("--trace", action="store_true",
                        help="print every executed pc with its disassembly and symbol")
    parser.add_argument("--regs", action="store_true", help="print the final registers (ABI names, hex)")
    parser.add_argument("--config", choices=CONFIGS, default="default",
                        help="device configuration whose memory map to use")
    return parser


def exit_status(status: str, code: int) -> int:
    """The process exit status for a run that ended with `status` and program `code`."""
    if status == "budget":
        return EXIT_BUDGET
    if status == "fault":
        return EXIT_FAULT
    if status == "interrupted":
        return EXIT_INTERRUPTED
    low = code & 0xFF
    return 1 if code and not low else low


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from isa.run import Runner, load
    from isa.run.report import TraceWriter, format_regs

    try:
        runner = Runner(load(args.elf), args.config)
    except NpuError as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return EXIT_UNRUNNABLE
    writer = TraceWriter(runner, sys.stdout) if args.trace else None
    # Ctrl-C ends the run at the next instruction boundary, with the usual report.
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, lambda *_: runner.core.request_stop()) if in_main else None
    try:
        result = runner.run(args.max_insns, writer)
    except NpuError as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return EXIT_FAULT
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)
    stream = sys.stdout if result.status in ("exit", "pass", "fail") else sys.stderr
    stream.write(f"{PROG}: {result.message}\n")
    if args.regs:
        sys.stdout.write(format_regs(result.regs, result.pc))
    return exit_status(result.status, result.code)


if __name__ == "__main__":
    sys.exit(main())
