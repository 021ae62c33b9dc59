"""Matrix benchmark: the full shipped driver × firmware matrix with 1 and with 2 worker processes.

Prints where the time goes as well: bring-up (boot, handshake; for a refused pair the
whole refusal check), the workloads, and the rest (static checks, process start,
reporting) — summed over the cells of the 1-job run. The last line with `--json`
is one JSON object with `cells`, `wall_s_1_job`, `wall_s_2_jobs`, `cells_per_s`
(of the 2-job run) and the breakdown.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def breakdown(cells: list[dict]) -> dict[str, float]:
    """Seconds summed over cells: bring-up of running cells, workloads, refusals, image checks."""
    ran = [c["timing"] for c in cells if "timing" in c]
    refused = [c for c in cells if "timing" not in c]
    return {"bringup_s": round(sum(t["bringup_s"] for t in ran), 3),
            "workloads_s": round(sum(s for t in ran for s in t["workloads_s"].values()), 3),
            "refusal_checks_s": round(sum(c["seconds"] for c in refused), 3),
            "cells_s": round(sum(c["seconds"] for c in cells), 3)}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="bench.py matrix")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = p.parse_args(argv)
    from debugger.compat.runner import run_matrix
    from debugger.compat.workloads import NAMES
    from driver.releases import driver_line
    from firmware.releases import release_line

    drivers = [str(v) for v in driver_line().versions]
    firmware = [str(v) for v in release_line().versions]
    t = time.perf_counter()
    one = run_matrix(drivers, firmware, list(NAMES), jobs=1)
    wall1 = time.perf_counter() - t
    t = time.perf_counter()
    two = run_matrix(drivers, firmware, list(NAMES), jobs=2)
    wall2 = time.perf_counter() - t
    parts = breakdown(one.cells)
    same = [(c["outcome"], c["known"]) for c in one.sorted_cells()] == \
        [(c["outcome"], c["known"]) for c in two.sorted_cells()]
    result = {"cells": len(two.cells), "wall_s_1_job": round(wall1, 3), "wall_s_2_jobs": round(wall2, 3),
              "cells_per_s": round(len(two.cells) / wall2, 3), "speedup_2_jobs": round(wall1 / wall2, 3),
              "cpus": os.cpu_count(), "load_avg_1min": round(os.getloadavg()[0], 2),
              "outcomes": two.summary(), "same_outcomes_1_and_2_jobs": same,
              "one_job_overhead_s": round(wall1 - parts["cells_s"], 3)}
    result |= {f"one_job_{k}": v for k, v in parts.items()}
    if not args.json:
        for k, v in result.items():
            sys.stdout.write(f"{k:28} {v}\n")
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n" if args.json else "")
    return 0
