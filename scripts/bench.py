"""Benchmarks, side by side with their references in one run.

Usage: python scripts/bench.py NAME [--json] [options]

Each benchmark is a module `scripts/benchmarks/NAME.py` with a `main(argv) -> int`
that prints one JSON object as its last line when `--json` is given.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def available() -> list[str]:
    import benchmarks

    return sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    names = available()
    if not argv or argv[0] not in names:
        sys.stderr.write(f"usage: bench.py {{{'|'.join(names)}}} [--json] [options]\n")
        return 2
    module = importlib.import_module(f"benchmarks.{argv[0]}")
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
