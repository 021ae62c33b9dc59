"""The `npudbg` command line. The debugger proper arrives with its Session API."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    try:
        return version("npudbg")
    except PackageNotFoundError:
        return "0+unknown"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        sys.stdout.write("usage: npudbg [--version]\n")
        return 0
    sys.stdout.write(f"npudbg {package_version()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
