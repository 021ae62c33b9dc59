"""The expected matrix (tests/data/matrix_expected.toml) and how a cell is compared with it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

EXPECTED_FILE = Path(__file__).resolve().parent.parent / "data" / "matrix_expected.toml"


def expected() -> dict[tuple[str, str], dict[str, str]]:
    """(driver, firmware) → {"outcome": …, and for a failing cell "workload" and "known"}."""
    doc = tomllib.loads(EXPECTED_FILE.read_text(encoding="utf-8"))
    out = {}
    for driver, row in doc["driver"].items():
        for firmware, value in row.items():
            out[(driver, firmware)] = {"outcome": value} if isinstance(value, str) else dict(value)
    return out


def mismatch(cell: dict[str, Any], want: dict[str, str]) -> str | None:
    """Why `cell` does not match its expected outcome, or None when it does."""
    where = f"driver {cell['driver']} × firmware {cell['column']}"
    if cell["outcome"] != want["outcome"]:
        return f"{where}: outcome {cell['outcome']}, expected {want['outcome']} ({cell['detail']})"
    if want["outcome"] == "fails":
        failed = [w["name"] for w in cell["workloads"] if w["status"] == "fail"]
        if failed != [want["workload"]]:
            return f"{where}: failing workloads {failed}, expected [{want['workload']}]"
        if cell["known"] != [want["known"]]:
            return f"{where}: known issues {cell['known']}, expected [{want['known']}]"
    elif cell["known"]:
        return f"{where}: known issues {cell['known']} on a cell that does not fail"
    return None
