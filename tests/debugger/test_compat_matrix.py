"""compat matrix: outcomes, findings, every output format, shards and merge, interruption."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from debugger.compat import main
from debugger.compat.cell import run_cell
from debugger.compat.formats import render
from debugger.compat.report import SCHEMA, MatrixReport
from debugger.compat.runner import Progress, cells_of, run_matrix
from tests.compat.expected import expected, mismatch
from tests.compat.images import tampered

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[MatrixReport, str]:
    """drivers 1.2.0, 2.1.0 × firmware 1.2.0, a tampered 1.3.0, 2.1.0 — in two worker processes."""
    bad = str(tampered("1.3.0", tmp_path_factory.mktemp("fw") / "npu-fw-1.3.0-tampered.elf"))
    report = run_matrix(["1.2.0", "2.1.0"], ["1.2.0", bad, "2.1.0"], ["eltwise", "error_handling"], jobs=2)
    return report, bad


def outcomes(report: MatrixReport) -> dict[tuple[str, str], str]:
    return {(c["driver"], c["column"]): c["outcome"] for c in report.cells}


def test_small_matrix_outcomes_and_findings(small) -> None:
    report, bad = small
    assert not report.incomplete and len(report.cells) == 6
    assert outcomes(report) == {("1.2.0", "1.2.0"): "fails", ("1.2.0", bad): "image_invalid",
                                ("1.2.0", "2.1.0"): "refused", ("2.1.0", "1.2.0"): "refused",
                                ("2.1.0", bad): "image_invalid", ("2.1.0", "2.1.0"): "works"}
    for d in ("1.2.0", "2.1.0"):
        cell = report.cell(d, "1.2.0")
        assert mismatch(cell, expected()[(d, "1.2.0")] | {"workload": "eltwise"}) is None
    # the corrupted column is a finding for each of its cells, and only those
    assert [(c["driver"], c["column"]) for c in report.new_findings()] == [("1.2.0", bad), ("2.1.0", bad)]
    assert "modified after it was built" in report.cell("1.2.0", bad)["detail"]
    assert report.exit_status() == 1
    known_only = MatrixReport(report.drivers, ["1.2.0", "2.1.0"], report.workloads,
                              cells=[c for c in report.cells if c["column"] != bad])
    assert known_only.exit_status() == 0


def test_defective_release_names_the_workload_and_the_values(small) -> None:
    cell = small[0].cell("1.2.0", "1.2.0")
    assert (cell["outcome"], cell["declared"], cell["known"]) == ("fails", "compatible", ["FW-120-1"])
    (failed,) = [w for w in cell["workloads"] if w["status"] == "fail"]
    assert failed["name"] == "eltwise"
    (m,) = failed["mismatches"]
    assert m["what"] == "eltwise max fp32 ×37"
    assert m["detail"] == "5 of 37 elements differ, first at flat index 32"
    assert m["expected"] == [32.5, 33.5, 34.5, 35.5]
    assert m["actual"] != m["expected"]


def test_table_has_symbols_legend_and_findings(small) -> None:
    report = small[0]
    text = render(report, "table")
    lines = text.splitlines()
    assert lines[1].split() == ["1.2.0", "!", "?", "·"]
    assert lines[2].split() == ["2.1.0", "·", "?", "✓"]
    assert any(x.startswith("legend: ✓ works as declared") for x in lines)
    assert "6/6 cells: 1 works, 1 fails, 1 known, 2 refused, 0 unclean_refusal, 2 image_invalid" in lines
    start = lines.index("findings:")
    assert lines[start + 1] == ("  driver 1.2.0 × firmware 1.2.0: declared compatible but fails: known issue "
                                "(accepted) [FW-120-1]")
    assert lines[start + 3] == ("      known issue FW-120-1: ELTWISE when op = max and count is not a "
                                "multiple of 16; fixed in 1.3.0")
    assert any("workload eltwise: eltwise max fp32 ×37: 5 of 37 elements differ" in x for x in lines[start:])
    assert any("expected [32.5, 33.5, 34.5, 35.5], actual" in x for x in lines[start:])
    assert "\x1b[" not in text and "\x1b[32m✓\x1b[0m" in render(report, "table", colour=True)


def test_every_format_parses(small) -> None:
    report, bad = small
    data = json.loads(render(report, "json"))
    jsonschema.validate(data, SCHEMA)
    assert MatrixReport.from_dict(data).to_dict() == data
    root = ET.fromstring(render(report, "junit"))
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 6 and root.get("tests") == "6"
    assert (root.get("failures"), root.get("skipped")) == ("2", "1")
    failed = {(c.get("classname"), c.get("name")) for c in cases if c.find("failure") is not None}
    assert failed == {("compat.driver_1.2.0", f"firmware {bad}"), ("compat.driver_2.1.0", f"firmware {bad}")}
    md = render(report, "markdown").splitlines()
    assert md[0] == f"| driver \\ firmware | 1.2.0 | {bad} | 2.1.0 |"
    assert md[2] == "| 1.2.0 | ! | ? | · |"
    assert "## Findings" in md


def test_shards_partition_the_cells() -> None:
    drivers, firmware = ["a", "b", "c"], ["1", "2", "3", "4", "5"]
    full = cells_of(drivers, firmware, None)
    for n in (1, 2, 4, 7):
        parts = [cells_of(drivers, firmware, (i, n)) for i in range(1, n + 1)]
        assert sorted(c for part in parts for c in part) == sorted(full)
        assert parts == [cells_of(drivers, firmware, (i, n)) for i in range(1, n + 1)]


def _timeless(report: MatrixReport) -> list[dict]:
    return [{k: v for k, v in c.items() if k not in ("seconds", "timing")} for c in report.sorted_cells()]


def test_shard_and_merge_equal_the_full_run(tmp_path) -> None:
    args = ["--drivers", "1.0.0", "2.1.0", "--firmware", "1.0.0", "2.1.0", "--workloads", "error_handling",
            "--format", "json"]
    full = run_matrix(["1.0.0", "2.1.0"], ["1.0.0", "2.1.0"], ["error_handling"])
    files = []
    for i in (1, 2, 3):
        files.append(str(tmp_path / f"shard{i}.json"))
        rc = main(["matrix", *args, "--shard", f"{i}/3", "-o", files[-1]], io.StringIO(), io.StringIO())
        shard = MatrixReport.load(files[-1])
        assert (rc, shard.incomplete, shard.shard) == (0, False, f"{i}/3")  # a shard is a complete run
    out = io.StringIO()
    assert main(["merge", *files], out, io.StringIO()) == 0
    merged = MatrixReport.from_dict(json.loads(out.getvalue()))
    assert not merged.incomplete and merged.shard is None
    assert _timeless(merged) == _timeless(full)
    assert main(["merge", files[0], files[1]], io.StringIO(), io.StringIO()) == 1  # a shard missing


def test_merge_refuses_reports_of_different_matrices(tmp_path) -> None:
    a = MatrixReport(["1.0.0"], ["1.0.0"], ["eltwise"])
    b = MatrixReport(["1.0.0"], ["2.1.0"], ["eltwise"])
    for name, r in (("a", a), ("b", b)):
        (tmp_path / f"{name}.json").write_text(r.to_json())
    err = io.StringIO()
    assert main(["merge", str(tmp_path / "a.json"), str(tmp_path / "b.json")], io.StringIO(), err) == 2
    assert err.getvalue() == ("npudbg compat merge: error: merge: the reports are of different matrices "
                              "(drivers, firmware, workloads or --force differ)\n")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sigterm_writes_a_complete_report_of_finished_cells(tmp_path, jobs: str) -> None:
    out = tmp_path / "report.json"
    cmd = [sys.executable, "-c", "import sys; from debugger.cli import main; sys.exit(main())", "compat",
           "matrix", "--drivers", "1.2.0", "1.3.0", "--firmware", "1.1.0", "1.2.0", "1.3.0",
           "--workloads", "error_handling", "--jobs", jobs, "--format", "json", "-o", str(out)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    first = proc.stderr.readline()
    assert first.startswith("[1/6] driver ")
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 1, rest
    data = json.loads(out.read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["incomplete"] is True
    assert 1 <= len(data["cells"]) < 6
    assert all(c["outcome"] in ("works", "fails") for c in data["cells"])


def test_progress_plain_and_tty() -> None:
    plain = io.StringIO()
    bar = Progress(2, plain)
    bar.update({"driver": "1.0.0", "column": "1.0.0", "outcome": "works"})
    assert plain.getvalue() == "[1/2] driver 1.0.0 × firmware 1.0.0: works\n"

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    bar = Progress(2, tty)
    for _ in range(2):
        bar.update({"driver": "1.0.0", "column": "2.1.0", "outcome": "refused"})
    assert tty.getvalue().endswith("\r[" + "#" * 30 + "] 2/2 driver 1.0.0 × firmware 2.1.0: refused\x1b[K\n")


def test_cli_usage_errors() -> None:
    for argv, message in ((["matrix", "--shard", "3/2"], "--shard 3/2: expected I/N with 1 <= I <= N, "
                           "e.g. 2/4"),
                          (["matrix", "--workloads", "nope"], "unknown workload nope (workloads: "
                           "matmul_fp16, matmul_int8, conv2d_fused, eltwise, quantize_roundtrip, "
                           "error_handling)"),
                          (["matrix", "--jobs", "0"], "--jobs 0: must be at least 1")):
        err = io.StringIO()
        assert main(argv, io.StringIO(), err) == 2
        assert err.getvalue() == f"npudbg compat matrix: error: {message}\n"


def test_force_runs_a_forceable_refusal_but_not_an_abi_mismatch() -> None:
    forced = run_cell("1.0.0", "1.3.0", ["matmul_fp16"], force=True)
    assert (forced["outcome"], forced["declared"]) == ("works", "compatible_with_warning (forced)")
    assert [(w["name"], w["status"]) for w in forced["workloads"]] == [("matmul_fp16", "pass")]
    abi = run_cell("1.0.0", "2.1.0", ["matmul_fp16"], force=True)
    assert (abi["outcome"], abi["declared"], abi["workloads"]) == ("refused", "incompatible", [])


def test_a_refusal_with_the_wrong_error_is_a_finding(monkeypatch) -> None:
    from debugger.compat import check
    from driver.errors import DeviceTimeout

    monkeypatch.setattr(check, "open_device", lambda *a, **k: (None, None, DeviceTimeout("boot: no answer")))
    cell = run_cell("1.0.0", "2.1.0", ["matmul_fp16"])
    assert cell["outcome"] == "unclean_refusal"
    assert cell["detail"] == "wrong error DeviceTimeout: boot: no answer"
    report = MatrixReport(["1.0.0"], ["2.1.0"], ["matmul_fp16"], cells=[cell])
    assert report.exit_status() == 1 and render(report, "table").splitlines()[1].split() == ["1.0.0", "‼"]


def test_a_hang_is_cut_off_and_reported(monkeypatch) -> None:
    import time

    from debugger.compat import check

    check.static_check("1.0.0", "2.1.0")  # the image is verified once per process, outside the budget
    monkeypatch.setattr(check, "open_device", lambda *a, **k: time.sleep(30))
    t = time.perf_counter()
    cell = run_cell("1.0.0", "2.1.0", ["matmul_fp16"], timeout_s=2)
    assert time.perf_counter() - t < 10
    assert cell["outcome"] == "unclean_refusal"
    assert cell["detail"] == "hang: no result within 2 s of host time"
    cell = run_cell("2.1.0", "2.1.0", ["matmul_fp16"], timeout_s=2)
    assert (cell["outcome"], cell["detail"]) == ("fails", "hang: no result within 2 s of host time")


def test_a_missing_image_is_its_column_finding(tmp_path) -> None:
    missing = str(tmp_path / "npu-fw-9.9.9.elf")
    cell = run_cell("1.0.0", missing, ["eltwise"])
    assert (cell["outcome"], cell["column"], cell["workloads"]) == ("image_invalid", missing, [])
    assert cell["detail"] == f"firmware {missing!r}: neither a file nor a firmware release version"
