"""The core's own tests (debug hooks, callbacks, traps, bad input) once under valgrind.

Run with `-m memcheck`. Valgrind reports errors inside the Python interpreter and
the dynamic loader too; the test fails on any error whose stack passes through the
C core.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SUITES = ["test_debug.py", "test_api.py", "test_traps.py"]


@pytest.mark.memcheck
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_core_tests_run_clean_under_valgrind(tmp_path: Path) -> None:
    log = tmp_path / "valgrind.log"
    env = dict(os.environ, PYTHONMALLOC="malloc")
    cmd = ["valgrind", "-q", f"--log-file={log}", "--num-callers=30", sys.executable, "-m", "pytest", "-q",
           "-p", "no:cacheprovider", "-k", "not request_stop", *[str(HERE / s) for s in SUITES]]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600, check=False)
    assert result.returncode == 0, result.stdout[-2000:]
    errors = re.split(r"\n==\d+== (?=\S[^\n]*\n==\d+==    at )", log.read_text(errors="replace"))
    ours = [e for e in errors if "_core.abi3.so" in e or "core_run" in e or "mem_load" in e]
    assert not ours, ours[0]
