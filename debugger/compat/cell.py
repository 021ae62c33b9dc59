"""One matrix cell: the verdict, then the workload suite live (or the refusal checked), then the outcome.

A cell is plain data (a dict that goes into the JSON report unchanged), so cells
can run in worker processes and reports from several machines can be merged.

Outcomes (`OUTCOMES`), from what the policy declared and what happened:
- `works`: declared compatible (or forced) and every workload behaved as declared
  (an op the verdict declares unavailable raised FeatureMissing before submitting);
- `fails`: declared compatible but a workload failed (expected vs actual, device
  error log) — `known` when a row of `firmware/known_issues.toml` explains every failure;
- `refused`: declared incompatible and the driver refused it cleanly (Incompatible or
  HandshakeRefused, nothing else);
- `unclean_refusal`: declared incompatible but the refusal was not clean (the pair
  opened, timed out, crashed, raised another error, or hung past the cell's host-time
  budget — a hang of a declared-compatible pair is a `fails`);
- `image_invalid`: the firmware image failed validation (digest, layout, manifest).
Every outcome but `works` and `refused` is a finding; a known `fails` does not fail the run.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from debugger.compat.workloads import Workload, select
from isa.errors import NpuError

OUTCOMES = ("works", "fails", "refused", "unclean_refusal", "image_invalid")
FINDINGS = ("fails", "unclean_refusal", "image_invalid")
CLEAN_REFUSALS = ("Incompatible", "HandshakeRefused")
CELL_TIMEOUT_S = 300.0  # host seconds; the driver's own budgets are in virtual time


def run_workload(dev: Any, workload: Workload) -> dict[str, Any]:
    """Run one workload; status pass | fail | unavailable (declared, FeatureMissing) | n/a (no such op)."""
    from driver.errors import FeatureMissing

    names = {op.name for op in dev.release.ops}
    result: dict[str, Any] = {"name": workload.name, "ops": list(workload.ops), "status": "pass",
                              "detail": "", "mismatches": [], "errlog": []}
    if not set(workload.ops) <= names:
        missing = ", ".join(sorted(set(workload.ops) - names))
        return result | {"status": "n/a", "detail": f"driver {dev.release.version} has no op {missing}"}
    declared = sorted({op for op, _ in dev.verdict.unavailable_ops} & set(workload.ops))
    try:
        mismatches = workload.run(dev)
    except FeatureMissing as exc:
        if declared:
            return result | {"status": "unavailable", "detail": str(exc)}
        return result | {"status": "fail", "detail": f"FeatureMissing not declared by the verdict: {exc}"}
    except NpuError as exc:
        return _failed(dev, result, f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        tail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return _failed(dev, result, f"crash: {tail}")
    if declared:
        return _failed(dev, result, f"ran although the verdict declares {', '.join(declared)} unavailable")
    if mismatches:
        result["mismatches"] = [m.__dict__ for m in mismatches]
        return _failed(dev, result, "; ".join(f"{m.what}: {m.detail}" for m in mismatches))
    return result


def _failed(dev: Any, result: dict[str, Any], detail: str) -> dict[str, Any]:
    from driver.recovery import read_errlog

    try:
        log = [str(e) for e in read_errlog(dev.regs)]
    except Exception:
        log = ["(error log unreadable)"]
    return result | {"status": "fail", "detail": detail, "errlog": log}


def known_issues(firmware: str, failed: list[dict[str, Any]]) -> list[str] | None:
    """The known issue ids explaining every failed workload, or None if one is unexplained."""
    from driver.releases import driver_line
    from firmware.releases import Version, release_line

    try:
        version = Version.parse(firmware)
    except NpuError:
        return None
    catalogue = {op.name: op.opcode for op in driver_line().catalogue}
    ids: list[str] = []
    for w in failed:
        opcodes = {catalogue.get(op) for op in w["ops"]} - {None}
        found = [i.id for op in sorted(opcodes) for i in release_line().issues_for(version, op)]
        if not found:
            return None
        ids += [i for i in found if i not in ids]
    return ids


def _refusal(release: Any, image: Any) -> tuple[str, str]:
    """Open without force: a declared refusal must raise Incompatible or HandshakeRefused."""
    from debugger.compat.check import open_device

    dev, _transport, exc = open_device(release, image, force=False)
    if dev is not None:
        dev.close()
        return "unclean_refusal", "the driver opened the pair although the policy refuses it"
    name = type(exc).__name__
    line = str(exc).splitlines()[0] if str(exc) else name
    if name in CLEAN_REFUSALS:
        return "refused", f"{name}: {line}"
    return "unclean_refusal", f"wrong error {name}: {line}"


class CellTimeout(BaseException):
    """A cell ran past its host-time budget: a hang the driver's virtual-time budgets did not catch.

    A BaseException, so that the `except Exception` of a workload does not swallow it."""


@contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Raise CellTimeout after `seconds` of host time (main thread only; no limit when None)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: Any) -> None:
        raise CellTimeout(f"hang: no result within {seconds:g} s of host time")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_cell(driver: str, firmware: str, workloads: list[str] | None = None, force: bool = False,
             timeout_s: float | None = CELL_TIMEOUT_S) -> dict[str, Any]:
    """Everything about one driver × firmware pair, as a JSON-ready dict."""
    from debugger.compat.check import static_check
    from driver.releases import driver_line

    started = time.perf_counter()
    cell: dict[str, Any] = {"driver": driver, "firmware": firmware, "column": firmware, "image": "",
                            "declared": None, "outcome": None, "known": [], "detail": "", "verdict": None,
                            "workloads": [], "seconds": 0.0}
    try:
        with _deadline(timeout_s):
            release = driver_line().release(driver)
            try:
                static = static_check(release, firmware, force)
            except NpuError as exc:  # no such file or release: the column's finding, like a damaged image
                cell["outcome"], cell["detail"] = "image_invalid", str(exc)
                return _timed(cell, started)
            cell["image"], cell["firmware"] = static.image, static.firmware
            verdict = static.verdict
            cell["verdict"] = verdict.to_dict() if verdict else None
            if verdict is not None:
                cell["declared"] = verdict.status + (" (forced)" if verdict.forced else "")
            if not static.image_ok:
                cell["outcome"], cell["detail"] = "image_invalid", "; ".join(static.problems)
            elif not verdict.ok:
                cell["outcome"], cell["detail"] = _refusal(release, static.loaded)
            else:
                _suite(cell, release, static.loaded, select(workloads), force)
    except CellTimeout as exc:
        cell["outcome"] = "unclean_refusal" if cell["declared"] == "incompatible" else "fails"
        cell["detail"] = str(exc)
    except Exception as exc:
        cell["outcome"] = "unclean_refusal" if cell["declared"] == "incompatible" else "fails"
        cell["detail"] = f"internal error: {type(exc).__name__}: {exc}"
    return _timed(cell, started)


def _timed(cell: dict[str, Any], started: float) -> dict[str, Any]:
    cell["seconds"] = round(time.perf_counter() - started, 3)
    return cell


def _suite(cell: dict[str, Any], release: Any, image: Any, workloads: tuple[Workload, ...],
           force: bool) -> None:
    from debugger.compat.check import open_device

    started = time.perf_counter()
    dev, _transport, exc = open_device(release, image, force)
    if dev is None:
        cell["outcome"] = "fails"
        line = str(exc).splitlines()[0] if str(exc) else ""
        cell["detail"] = f"bring-up failed: {type(exc).__name__}: {line}"
        cell["workloads"] = [{"name": "bring-up", "ops": [], "status": "fail", "detail": cell["detail"],
                              "mismatches": [], "errlog": []}]
        return
    timing: dict[str, Any] = {"bringup_s": round(time.perf_counter() - started, 3), "workloads_s": {}}
    cell["timing"] = timing  # host seconds: where the time goes (not part of the outcome)
    try:
        for w in workloads:
            t = time.perf_counter()
            cell["workloads"].append(run_workload(dev, w))
            timing["workloads_s"][w.name] = round(time.perf_counter() - t, 3)
    finally:
        with contextlib.suppress(Exception):
            dev.close()
    failed = [w for w in cell["workloads"] if w["status"] == "fail"]
    if not failed:
        cell["outcome"] = "works"
        return
    cell["outcome"] = "fails"
    cell["detail"] = "; ".join(f"{w['name']}: {w['detail']}" for w in failed)
    cell["known"] = known_issues(cell["firmware"], failed) or []
