"""The compatibility tool: static and live checks of a driver release against a firmware image, the
driver × firmware matrix with a workload suite per cell, and its reports (`npudbg compat …`).

The verdict is always the driver's own (`driver.policy.evaluate`); this package only
chooses the pairs, runs them, and reports what the policy said and what happened.

    check.py      static_check / live_check of one pair
    workloads.py  the workload suite, compared with numpy
    cell.py       one cell: verdict → suite or refusal → outcome (known issues)
    runner.py     cells in worker processes, shards, progress, interruption
    report.py     the JSON report, its schema, merge
    formats.py    table, Markdown, JSON, JUnit XML
    cli.py        `npudbg compat check | matrix | merge`
"""

from __future__ import annotations

from typing import TextIO


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """`npudbg compat …` (the debugger's command line hands everything after `compat` here)."""
    from debugger.compat.cli import main as _main

    return _main(argv, stdout, stderr)
