"""Every example runs as its header says and exits 0 (the scripts in batch mode, the programs alone)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.gdb"))
PROGRAMS = sorted(p for p in EXAMPLES.glob("*.py"))


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")


def documented_command(script: Path) -> list[str]:
    """The `npudbg ...` line of the script's header, as arguments (paths relative to the repository)."""
    for line in script.read_text().splitlines():
        words = line.lstrip("# ").split()
        if words[:1] == ["npudbg"]:
            args = shlex.split(line.lstrip("# "))[1:]
            return [str(ROOT / a) if a.startswith("examples/") else a for a in args]
    raise AssertionError(f"{script.name}: no 'npudbg ...' line in its header")


def run_script(script: Path, cwd: Path) -> subprocess.CompletedProcess:
    args = documented_command(script)
    assert "--batch" in args and str(script) in args
    return subprocess.run([sys.executable, "-m", "debugger.cli", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=300)


def test_every_example_is_tested() -> None:
    assert [p.name for p in SCRIPTS] == ["bad_descriptor.gdb", "trace_matmul.gdb", "watch_queue.gdb"]
    assert {p.name for p in PROGRAMS} >= {"bad_descriptor.py", "matmul.py", "trace_session.py"}


def test_bad_descriptor_finds_the_rejection(tmp_path) -> None:
    done = run_script(EXAMPLES / "bad_descriptor.gdb", tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Breakpoint 1, complete () at firmware/src/ring.S:" in out
    assert "#1  0x" in out and " in serve_one () at firmware/src/ring.S:" in out
    assert "  sq[ 0] IN FLIGHT COPY command_id=1 queue=normal flags=irq src=0x" in out
    assert "size=67108864" in out
    assert "the device refused the copy: COPY (command 1) failed: OVERLAP" in out
    assert out.rstrip().endswith("[Host program exited normally]")


def test_trace_matmul_writes_its_three_files(tmp_path) -> None:
    done = run_script(EXAMPLES / "trace_matmul.gdb", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "  sq[ 0] pending   MATMUL command_id=1 queue=normal flags=irq" in done.stdout
    assert "matmul 32x48 @ 48x16 on the NPU: max |error| vs numpy 0" in done.stdout
    lines = (tmp_path / "matmul.mmiotrace").read_text().splitlines()
    assert lines[0] == "VERSION 20070824" and len(lines) > 20
    records = [json.loads(x) for x in (tmp_path / "matmul.jsonl").read_text().splitlines()[1:]]
    assert {r["register"] for r in records} >= {"QUEUE0.CQ_TAIL", "HOST_IRQ.RAISE", "HOST_IRQ.STATUS"}
    assert any(r["site"] and r["site"].endswith("examples/matmul.py:20 in main") for r in records)
    timeline = json.loads((tmp_path / "matmul-timeline.json").read_text())
    assert any(e.get("name") == "npu.mmad" for e in timeline["traceEvents"])


def test_watch_queue_stops_at_each_descriptor(tmp_path) -> None:
    done = run_script(EXAMPLES / "watch_queue.gdb", tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert [line for line in out.splitlines() if line.startswith("New value")] == [
        "New value = 0x00000001 [IDX=0x1]", "New value = 0x00000002 [IDX=0x2]",
        "New value = 0x00000003 [IDX=0x3]"]
    assert out.count("changed by firmware at 0x") == 3


@pytest.mark.parametrize("program, expected", [
    ("matmul.py", "matmul 32x48 @ 48x16 on the NPU: max |error| vs numpy 0\n"),
    ("bad_descriptor.py", "the device refused the copy: COPY (command 1) failed: OVERLAP (detail 0x"),
    ("trace_session.py", "16384 reads of crc32_table while the firmware checksummed 16 KiB\n"),
])
def test_programs_run_alone(program, expected, tmp_path) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES / program)], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(expected)
