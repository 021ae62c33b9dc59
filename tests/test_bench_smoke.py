"""The benchmarks run and print the keys their issues name (small sizes: this checks the harness,
not the speed, which only the benchmarks themselves measure)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from firmware.hw.units import blas

ROOT = Path(__file__).resolve().parents[1]


def bench(*argv: str) -> dict:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench.py"), *argv, "--json"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_driver_benchmark_prints_its_keys_with_sane_values():
    out = bench("driver", "--size", "256", "--pairs", "300", "--nops", "3", "--e2e-repeat", "1",
                "--settle", "0")
    for key in ("e2e_matmul_fp16_gflops", "numpy_fp16_route_gflops", "ratio_e2e_fp16_route",
                "bar0_round_trips_per_s", "bar0_round_trips_traced_per_s", "nop_command_us",
                "e2e_cube_s", "e2e_cube_wait_s", "e2e_cube_issue_s", "e2e_dma_s",
                "e2e_device_bookkeeping_s", "e2e_host_s"):
        assert isinstance(out[key], int | float) and out[key] >= 0, key
    assert out["ratio_e2e_fp16_route"] > 0 and out["e2e_max_abs_error"] < 1e-3
    assert out["e2e_split_total_s"] >= out["e2e_dma_s"] + out["e2e_device_bookkeeping_s"]
    if "openblas" in blas.available_backends():  # a device's mmads go to the cube's worker
        assert out["cube_kernel_jobs"]["queued"] > 0 and out["e2e_cube_s"] > 0


def test_the_cube_benchmark_prints_its_keys():
    out = bench("cube", "--size", "256", "--repeat", "1", "--settle", "0")
    assert out["ratio_fp16_route"] > 0 and out["cube_int8_exact"] is True
    assert set(out["tile_us"]) == {"64x64x64", "128x128x128", "256x128x256"}
    ways = {way for times in out["tile_us"].values() for way in times}
    assert "numpy" in ways and ("openblas" in ways) == ("openblas" in blas.available_backends())
