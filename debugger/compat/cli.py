"""`npudbg compat check | matrix | merge`: parsers, and the one place that picks exit statuses.

Exit status: 0 when the check passes or the matrix has no new finding and is
complete; 1 for a refused/invalid pair, a new finding or an interrupted run;
2 for a usage or input error (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from isa.errors import NpuError


def _listed(values: list[str] | None) -> list[str] | None:
    """Space- or comma-separated values, in order, duplicates dropped."""
    if not values:
        return None
    out: list[str] = []
    for v in values:
        out += [x for x in v.split(",") if x and x not in out]
    return out


def build_parser() -> argparse.ArgumentParser:
    from debugger.compat.formats import FORMATS
    from debugger.compat.workloads import NAMES

    p = argparse.ArgumentParser(prog="npudbg compat", description="Driver × firmware compatibility: the "
                                "version policy's verdict, image validation, and what actually happens live.")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="static (and live) check of one driver release against one image")
    c.add_argument("--driver", metavar="VERSION", help="driver release (default: the newest)")
    c.add_argument("--firmware", metavar="IMAGE", required=True,
                   help="firmware image path or release version")
    c.add_argument("--live", action="store_true", help="also boot it, handshake and run the smoke workload")
    c.add_argument("--force", action="store_true", help="as the driver's force=True would decide")
    c.add_argument("--json", action="store_true", help="one JSON object instead of text")
    m = sub.add_parser("matrix", help="every driver release × every firmware, with the workload suite")
    m.add_argument("--drivers", nargs="+", metavar="VERSION", help="driver releases (default: all)")
    m.add_argument("--firmware", nargs="+", metavar="IMAGE", help="firmware versions or image paths "
                   "(default: every release)")
    m.add_argument("--workloads", nargs="+", metavar="NAME",
                   help=f"workloads (default: all of {', '.join(NAMES)})")
    m.add_argument("--jobs", "-j", type=int, default=1, metavar="N", help="worker processes (default 1)")
    m.add_argument("--format", choices=FORMATS, default="table", help="output format (default table)")
    m.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    m.add_argument("--force", action="store_true", help="run forceable refusals anyway (force=True)")
    m.add_argument("--shard", metavar="I/N", help="run only the I-th of N deterministic slices of the cells")
    m.add_argument("--cell-timeout", type=float, default=300.0, metavar="SECONDS",
                   help="host seconds a cell may take before it counts as a hang (default 300)")
    m.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour the table")
    g = sub.add_parser("merge", help="join JSON reports of matrix shards into one report")
    g.add_argument("files", nargs="+", metavar="FILE", help="JSON reports (compat matrix --format json)")
    g.add_argument("-o", "--output", metavar="FILE", help="write the merged report to FILE")
    g.add_argument("--format", choices=FORMATS, default="json", help="output format (default json)")
    return p


def _write(text: str, output: str | None, stdout: TextIO) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        stdout.write(text)
        stdout.flush()


def _check(args: argparse.Namespace, stdout: TextIO) -> int:
    from debugger.compat.check import live_check, static_check

    static = static_check(args.driver, args.firmware, args.force)
    live = live_check(args.driver, args.firmware, args.force) if args.live and static.image_ok else None
    ok = static.image_ok and static.verdict is not None and static.verdict.ok
    if live is not None:
        ok = ok and live.accepted and all(w["status"] == "pass" for w in live.workloads)
    if args.json:
        data = {"static": static.to_dict(), "live": live.to_dict() if live else None, "ok": ok}
        stdout.write(json.dumps(data, sort_keys=True) + "\n")
    else:
        stdout.write(str(static) + "\n" + (str(live) + "\n" if live else ""))
    return 0 if ok else 1


def _matrix(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from debugger.compat.formats import render
    from debugger.compat.runner import parse_shard, run_matrix
    from debugger.compat.workloads import select
    from driver.releases import driver_line
    from firmware.releases import release_line

    drivers = _listed(args.drivers) or [str(v) for v in driver_line().versions]
    for d in drivers:
        driver_line().release(d)  # an unknown release is a usage error before anything runs
    firmware = _listed(args.firmware) or [str(v) for v in release_line().versions]
    workloads = [w.name for w in select(_listed(args.workloads))]
    parse_shard(args.shard)
    if args.jobs < 1:
        raise NpuError(f"--jobs {args.jobs}: must be at least 1")
    if args.cell_timeout <= 0:
        raise NpuError(f"--cell-timeout {args.cell_timeout:g}: must be more than 0 seconds")
    report = run_matrix(drivers, firmware, workloads, jobs=args.jobs, force=args.force, shard=args.shard,
                        progress=stderr, cell_timeout_s=args.cell_timeout)
    colour = args.color == "always" or (args.color == "auto" and not args.output and stdout.isatty())
    _write(render(report, args.format, colour), args.output, stdout)
    return report.exit_status()


def _merge(args: argparse.Namespace, stdout: TextIO) -> int:
    from debugger.compat.formats import render
    from debugger.compat.report import MatrixReport, merge

    report = merge([MatrixReport.load(f) for f in args.files])
    _write(render(report, args.format), args.output, stdout)
    return report.exit_status()


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    try:
        args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if args.command == "check":
            return _check(args, stdout)
        if args.command == "matrix":
            return _matrix(args, stdout, stderr)
        return _merge(args, stdout)
    except NpuError as exc:
        stderr.write(f"npudbg compat {args.command}: error: {exc}\n")
        return 2
