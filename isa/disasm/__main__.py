"""`python -m isa.disasm FILE.elf [-S]`: print the disassembly of an ELF image."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from isa.errors import NpuError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m isa.disasm",
                                     description="Disassemble an NPU firmware ELF file (objdump style).")
    parser.add_argument("elf", type=Path, help="the ELF file to disassemble")
    parser.add_argument("-S", "--source", action="store_true",
                        help="interleave source lines (from DWARF) with the instructions")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from isa.disasm.listing import listing
    from isa.elfread import load_elf

    try:
        program = load_elf(args.elf)
    except NpuError as exc:
        sys.stderr.write(f"isa.disasm: error: {exc}\n")
        return 1
    roots = [args.elf.parent, Path.cwd()]
    sys.stdout.write(listing(program, str(args.elf), args.source, roots))
    return 0


if __name__ == "__main__":
    sys.exit(main())
