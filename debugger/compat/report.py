"""The matrix report: the cells of a run (or a shard of one), its JSON form, its schema, and merging.

The JSON report is the exchange format: `compat matrix --format json` writes it,
`compat merge` joins shards of one matrix into one report, and every other format
is rendered from it. `SCHEMA` is its JSON Schema (draft 2020-12).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from debugger.compat.cell import FINDINGS, OUTCOMES
from isa.errors import NpuError

FORMAT = "npudbg-compat-matrix/1"

_CELL = {
    "type": "object",
    "required": ["driver", "firmware", "column", "outcome", "known", "detail", "verdict", "workloads",
                 "declared", "seconds"],
    "properties": {
        "driver": {"type": "string"}, "firmware": {"type": "string"}, "column": {"type": "string"},
        "image": {"type": "string"}, "outcome": {"enum": list(OUTCOMES)},
        "declared": {"type": ["string", "null"]}, "known": {"type": "array", "items": {"type": "string"}},
        "detail": {"type": "string"}, "verdict": {"type": ["object", "null"]}, "seconds": {"type": "number"},
        "timing": {"type": "object", "required": ["bringup_s", "workloads_s"]},
        "workloads": {"type": "array", "items": {
            "type": "object", "required": ["name", "status", "detail"],
            "properties": {"name": {"type": "string"}, "detail": {"type": "string"},
                           "status": {"enum": ["pass", "fail", "unavailable", "n/a"]}}}},
    },
}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["format", "drivers", "firmware", "workloads", "force", "shard", "incomplete", "cells",
                 "summary"],
    "properties": {
        "format": {"const": FORMAT},
        "drivers": {"type": "array", "items": {"type": "string"}},
        "firmware": {"type": "array", "items": {"type": "string"}},
        "workloads": {"type": "array", "items": {"type": "string"}},
        "force": {"type": "boolean"},
        "shard": {"type": ["string", "null"]},
        "incomplete": {"type": "boolean"},
        "wall_s": {"type": "number"},
        "cells": {"type": "array", "items": _CELL},
        "summary": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
}


class ReportError(NpuError):
    """A report file cannot be read or does not fit the others being merged."""


@dataclass
class MatrixReport:
    drivers: list[str]  # row order
    firmware: list[str]  # column order (as given: versions or image paths)
    workloads: list[str]
    force: bool = False
    shard: str | None = None  # "I/N" when this report is one slice
    incomplete: bool = False  # interrupted: cells are missing
    wall_s: float = 0.0
    cells: list[dict[str, Any]] = field(default_factory=list)

    def cell(self, driver: str, column: str) -> dict[str, Any] | None:
        return next((c for c in self.cells if c["driver"] == driver and c["column"] == column), None)

    def sorted_cells(self) -> list[dict[str, Any]]:
        """Cells in row, then column order."""
        rows, cols = {d: i for i, d in enumerate(self.drivers)}, {f: i for i, f in enumerate(self.firmware)}
        last = 1 << 30
        return sorted(self.cells, key=lambda c: (rows.get(c["driver"], last), cols.get(c["column"], last)))

    def findings(self) -> list[dict[str, Any]]:
        return [c for c in self.sorted_cells() if c["outcome"] in FINDINGS]

    def new_findings(self) -> list[dict[str, Any]]:
        """Findings no known issue explains: these fail the run."""
        return [c for c in self.findings() if not (c["outcome"] == "fails" and c["known"])]

    def summary(self) -> dict[str, int]:
        counts = {o: 0 for o in OUTCOMES}
        for c in self.cells:
            counts[c["outcome"]] += 1
        counts["known"] = sum(1 for c in self.cells if c["outcome"] == "fails" and c["known"])
        counts["cells"] = len(self.cells)
        counts["expected_cells"] = len(self.drivers) * len(self.firmware)
        return counts

    def exit_status(self) -> int:
        """0 when every finding is known and the run is complete; 1 otherwise."""
        return 1 if self.new_findings() or self.incomplete else 0

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "drivers": self.drivers, "firmware": self.firmware,
                "workloads": self.workloads, "force": self.force, "shard": self.shard,
                "incomplete": self.incomplete, "wall_s": round(self.wall_s, 3), "cells": self.sorted_cells(),
                "summary": self.summary()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "report") -> MatrixReport:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ReportError(f"{where}: not a compat matrix report (format {FORMAT})")
        try:
            return cls(list(data["drivers"]), list(data["firmware"]), list(data["workloads"]),
                       bool(data["force"]), data["shard"], bool(data["incomplete"]),
                       float(data.get("wall_s", 0.0)), list(data["cells"]))
        except (KeyError, TypeError) as exc:
            raise ReportError(f"{where}: malformed report ({exc})") from None

    @classmethod
    def load(cls, path: str | Path) -> MatrixReport:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ReportError(f"{path}: cannot read the report ({exc})") from None
        return cls.from_dict(data, str(path))


def _timeless(cell: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cell.items() if k not in ("seconds", "timing")}


def merge(reports: list[MatrixReport]) -> MatrixReport:
    """Join reports of one matrix (shards) into one; raises ReportError when they do not belong together."""
    if not reports:
        raise ReportError("merge: no reports given")
    first = reports[0]
    for r in reports[1:]:
        if (r.drivers, r.firmware, r.workloads, r.force) != (first.drivers, first.firmware, first.workloads,
                                                             first.force):
            raise ReportError("merge: the reports are of different matrices (drivers, firmware, workloads "
                              "or --force differ)")
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for r in reports:
        for c in r.cells:
            key = (c["driver"], c["column"])
            if key in cells and _timeless(cells[key]) != _timeless(c):
                raise ReportError(f"merge: cell driver {key[0]} × firmware {key[1]} appears twice, "
                                  "differently")
            cells[key] = c
    merged = MatrixReport(first.drivers, first.firmware, first.workloads, first.force, None,
                          any(r.incomplete for r in reports), max(r.wall_s for r in reports),
                          list(cells.values()))
    merged.incomplete = merged.incomplete or len(cells) < len(first.drivers) * len(first.firmware)
    return merged
