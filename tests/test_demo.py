"""The README's first command ends in examples/demo.py: it must keep working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_the_whole_stack_and_matches_numpy() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "demo.py")], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert ": compatible" in out
    assert "all results match" in out
    assert "handle_matmul in npu-fw-" in out
    assert "firmware/src/ops_matmul.S:" in out
