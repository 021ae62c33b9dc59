"""The matrix runner: which cells, which shard, worker processes, progress, and interruption.

Cells are independent, so they run in a pool of `jobs` worker processes (inline
when `jobs` is 1). `--shard I/N` takes every N-th cell of the row-major cell list
starting at I-1: deterministic, and the shards of one matrix together hold every
cell exactly once. SIGINT and SIGTERM stop the run: the workers are terminated and
the report holds the cells that finished, marked incomplete.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from debugger.compat.cell import CELL_TIMEOUT_S, run_cell
from debugger.compat.report import MatrixReport
from isa.errors import NpuError


class Interrupted(BaseException):
    """Raised in the runner by SIGINT/SIGTERM so the report can still be written.

    A BaseException, so that a cell running inline (one job) does not record it as its own error."""


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """"I/N" → (I, N) with 1 <= I <= N; raises NpuError on anything else."""
    if text is None:
        return None
    head, sep, tail = text.partition("/")
    try:
        i, n = int(head), int(tail)
    except ValueError:
        i = n = 0
    if not sep or not 1 <= i <= n:
        raise NpuError(f"--shard {text}: expected I/N with 1 <= I <= N, e.g. 2/4")
    return i, n


def cells_of(drivers: list[str], firmware: list[str], shard: tuple[int, int] | None) -> list[tuple[str, str]]:
    """The (driver, firmware) pairs of the matrix or of its shard, row-major."""
    cells = [(d, f) for d in drivers for f in firmware]
    if shard is None:
        return cells
    i, n = shard
    return cells[i - 1::n]


def _worker_init() -> None:
    # The runner decides what an interrupt means; workers just stop when terminated.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run(args: tuple[str, str, list[str] | None, bool, float | None]) -> dict[str, Any]:
    return run_cell(*args)


@contextmanager
def _interruptible() -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted in the main thread for the duration."""
    def stop(signum: int, _frame: Any) -> None:
        raise Interrupted(signal.Signals(signum).name)

    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


class Progress:
    """A progress bar on a TTY, plain lines otherwise (CI logs)."""

    def __init__(self, total: int, stream: TextIO | None) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.tty = bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())

    def update(self, cell: dict[str, Any]) -> None:
        self.done += 1
        if self.stream is None:
            return
        what = f"driver {cell['driver']} × firmware {cell['column']}: {cell['outcome']}"
        if self.tty:
            width = 30
            filled = width * self.done // max(self.total, 1)
            bar = "#" * filled + "." * (width - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} {what}\x1b[K")
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(f"[{self.done}/{self.total}] {what}\n")
        self.stream.flush()


def run_matrix(drivers: list[str], firmware: list[str], workloads: list[str], *, jobs: int = 1,
               force: bool = False, shard: str | None = None, progress: TextIO | None = None,
               on_cell: Callable[[dict[str, Any]], None] | None = None,
               cell_timeout_s: float | None = CELL_TIMEOUT_S) -> MatrixReport:
    """Run the cells (of the shard) and return the report; an interrupt gives an incomplete one."""
    picked = cells_of(drivers, firmware, parse_shard(shard))
    report = MatrixReport(list(drivers), list(firmware), list(workloads), force, shard)
    bar = Progress(len(picked), progress)
    started = time.perf_counter()
    tasks = [(d, f, list(workloads), force, cell_timeout_s) for d, f in picked]

    def finished(cell: dict[str, Any]) -> None:
        report.cells.append(cell)
        bar.update(cell)
        if on_cell is not None:
            on_cell(cell)

    with _interruptible():
        try:
            if jobs <= 1 or len(tasks) <= 1:
                for task in tasks:
                    finished(_run(task))
            else:
                _prewarm(list(firmware))
                _pooled(tasks, jobs, finished)
        except Interrupted:
            report.incomplete = True
    if progress is not None and bar.tty and report.incomplete:
        progress.write("\n")
    report.incomplete = report.incomplete or len(report.cells) < len(picked)
    report.wall_s = time.perf_counter() - started
    return report


def _prewarm(firmware: list[str]) -> None:
    """Verify the images and load the device model once, so forked workers inherit both."""
    from debugger.compat.check import image_path
    from driver.loader import image_for

    importlib.import_module("firmware.hw.device")
    for f in firmware:
        with contextlib.suppress(NpuError):  # a bad image: its cells report it
            image_for(str(image_path(f)))


def _pooled(tasks: list[tuple[str, str, list[str] | None, bool, float | None]], jobs: int,
            finished: Callable[[dict[str, Any]], None]) -> None:
    forkable = "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"
    method = "fork" if forkable else "spawn"
    pool = multiprocessing.get_context(method).Pool(min(jobs, len(tasks)), initializer=_worker_init)
    try:
        for cell in pool.imap_unordered(_run, tasks, chunksize=1):
            finished(cell)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
