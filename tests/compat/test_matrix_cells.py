"""Every shipped driver × firmware cell as its own test, so `pytest -n N` spreads the matrix.

A representative subset runs by default (one cell per kind of outcome and per rule
that decides it); the whole matrix is `long`.
"""

from __future__ import annotations

import pytest

from debugger.compat.cell import run_cell
from driver.releases import driver_line
from firmware.releases import release_line
from tests.compat.expected import expected, mismatch

EXPECTED = expected()
# (driver, firmware): why it represents the others
DEFAULT = {
    ("1.2.0", "1.2.0"): "the known defect: declared compatible but fails",
    ("1.2.0", "2.0.0"): "at the edge, across the ABI transition release",
    ("2.0.0", "1.3.0"): "degraded: a declared-unavailable op",
    ("2.1.0", "2.1.0"): "works, ABI 2",
    ("1.0.0", "2.1.0"): "ABI mismatch refused cleanly",
    ("1.3.0", "1.0.0"): "too far apart refused cleanly",
}
CELLS = [pytest.param(d, f, id=f"driver{d}-fw{f}",
                      marks=() if (d, f) in DEFAULT else pytest.mark.long)
         for d in map(str, driver_line().versions) for f in map(str, release_line().versions)]


def test_expected_file_covers_every_shipped_cell() -> None:
    shipped = {(str(d), str(f)) for d in driver_line().versions for f in release_line().versions}
    assert set(EXPECTED) == shipped
    assert {w["outcome"] for w in EXPECTED.values()} == {"works", "fails", "refused"}


@pytest.mark.parametrize(("driver", "firmware"), CELLS)
def test_cell(driver: str, firmware: str) -> None:
    cell = run_cell(driver, firmware)
    assert mismatch(cell, EXPECTED[(driver, firmware)]) is None
    assert cell["verdict"]["driver"] == driver and cell["verdict"]["firmware"] == firmware


@pytest.mark.long
def test_full_matrix_in_two_processes_reproduces_every_expected_cell() -> None:
    from debugger.compat.runner import run_matrix
    from debugger.compat.workloads import NAMES

    drivers, firmware = sorted({d for d, _ in EXPECTED}), sorted({f for _, f in EXPECTED})
    report = run_matrix(drivers, firmware, list(NAMES), jobs=2)
    assert not report.incomplete and len(report.cells) == len(EXPECTED)
    assert [m for c in report.cells if (m := mismatch(c, EXPECTED[(c["driver"], c["column"])]))] == []
    assert report.exit_status() == 0  # the only findings are the known defect's
