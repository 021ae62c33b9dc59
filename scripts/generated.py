"""What every `scripts/gen_*.py` does last: write the files it generates, or check them.

One place for the write-or-check step, so each generator holds only its own rendering and
every one answers `--check` alike (exit 1 and one line per stale file, as CI and the
freshness tests expect).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shown(path: Path) -> str:
    """A path as a person reads it: relative to the project when it is inside."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def write_or_check(outputs: Mapping[Path, str], script: str, check: bool) -> int:
    """Write the outputs whose text changed; with `check`, write nothing and report them instead.

    Returns the exit status: 1 when checking found a stale or missing file, else 0.
    """
    stale = [p for p, text in outputs.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    if check:
        for p in stale:
            sys.stderr.write(f"{shown(p)} is stale: run python scripts/{script}\n")
        return 1 if stale else 0
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(outputs[p], encoding="utf-8")
        sys.stdout.write(f"wrote {shown(p)}\n")
    return 0
