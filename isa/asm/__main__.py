"""Command line: `python -m isa.asm IN.S [-I DIR]... [--defsym NAME=VALUE]... -o OUT.elf`.

Exit 0 on success; 1 with every diagnostic of the input on stderr; 2 for bad
arguments. Never a traceback for a user error.
"""

from __future__ import annotations

import argparse
import sys

from isa.errors import NpuError


def _defsym(text: str) -> tuple[str, int]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got '{text}'")
    try:
        return name, int(value, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"value of {name} is not an integer: '{value}'") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m isa.asm", description="Assemble RV32IM + Zicsr + Xnpu source into an ELF executable.")
    parser.add_argument("input", help="assembly source file (.S)")
    parser.add_argument("-o", "--output", required=True, help="ELF file to write")
    parser.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR",
                        help="directory to search for .include files (after the including file's own)")
    parser.add_argument("--defsym", action="append", default=[], type=_defsym, metavar="NAME=VALUE",
                        help="define an absolute symbol")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from isa.asm import assemble_elf
    try:
        data = assemble_elf(path=args.input, include_dirs=args.include_dirs, defines=dict(args.defsym))
    except NpuError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    try:
        with open(args.output, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        sys.stderr.write(f"{args.output}: error: cannot write: {exc.strerror}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
