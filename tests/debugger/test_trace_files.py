"""Trace files: jsonl and mmiotrace round trips, determinism, and completeness after an error or at exit."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from debugger.session import Session
from debugger.trace import close_session, tracer
from debugger.trace.formats import parse_mmiotrace_line, timestamp
from tests.debugger.conftest import Host, run

# Linux mmiotrace's access line: R|W width secs.usecs map-id phys value pc pid
MMIOTRACE_RW = re.compile(r"^[RW] [1248] \d+\.\d{6} \d+ 0x[0-9a-f]+ 0x[0-9a-f]+ 0x[0-9a-f]+ \d+$")


def _traced_nop(session: Session, host: Host) -> None:
    run(session, "trace mmio on", "trace mem on cmd_desc +64", "trace insn on")
    host.submit("NOP")
    run(session, "continue")


def test_jsonl_round_trip(session, host, tmp_path) -> None:
    _traced_nop(session, host)
    path = tmp_path / "t.jsonl"
    t = tracer(session)
    n_mem, n_insn = t.core.mem.count, None
    out = run(session, f"trace save {path}")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    header, body = rows[0], rows[1:]
    n_insn = t.core.pcs.count
    assert out == f"Saved {len(body)} records to {path} (jsonl).\n"
    assert header["type"] == "header" and header["format"] == "npudbg-trace" and header["firmware"] == \
        "firmware 2.1.0"
    mmio = [r for r in body if r["type"] == "mmio"]
    assert len(mmio) == len(t.mmio.records)
    assert [r["type"] for r in body].count("mem") == n_mem
    assert [r["type"] for r in body].count("insn") == n_insn
    for rec, row in zip(t.mmio.records, mmio, strict=True):
        got = (row["tick"], row["side"], row["dir"], row["register"], row["value"], row["pc"], row["site"])
        assert got == (rec.tick, rec.side, rec.kind, rec.register, rec.value, rec.pc, rec.site)
        assert row["fields"] == {f.field: f.enum or f.value for f in rec.fields()}
    bell = next(r for r in mmio if r["register"] == "QUEUE0.SQ_DOORBELL")
    assert bell == {"type": "mmio", "seq": 2, "tick": t.mmio.records[1].tick, "side": "host", "dir": "write",
                    "width": 4,
                    "addr": 0x10000410, "offset": 0x410, "register": "QUEUE0.SQ_DOORBELL", "value": 1,
                    "fields": {"ring": 1}, "pc": None, "site": "test host", "call": None, "api": None}


def test_mmiotrace_lines_follow_the_kernel_layout(session, host, tmp_path) -> None:
    _traced_nop(session, host)
    path = tmp_path / "t.mmiotrace"
    assert run(session, f"trace save {path}").endswith("(mmiotrace).\n")
    lines = path.read_text().splitlines()
    assert lines[:3] == ["VERSION 20070824", "MAP 0.000000 1 0x10000000 0x0 0x10000 0x0 0",
                         "MAP 0.000000 2 0x10000000 0x10000000 0x10000 0x0 0"]
    assert all(MMIOTRACE_RW.match(line) for line in lines[3:])
    recs = list(tracer(session).mmio.records)
    parsed = [parse_mmiotrace_line(line) for line in lines[3:]]
    assert len(parsed) == len(recs)
    for rec, p in zip(recs, parsed, strict=True):
        assert (p.op, p.width, p.usec, p.map_id, p.addr, p.value, p.pc) == \
            ("R" if rec.kind == "read" else "W", 4, rec.tick // 1000, 1 if rec.side == "host" else 2,
             rec.addr, rec.value, rec.pc or 0)
    assert lines[4] == f"W 4 {timestamp(recs[1].tick)} 1 0x10000410 0x1 0x0 0"  # the doorbell


def test_format_option_overrides_the_file_name(session, host, tmp_path) -> None:
    _traced_nop(session, host)
    path = tmp_path / "trace.txt"
    assert run(session, f"trace save {path} --format jsonl").endswith("(jsonl).\n")
    assert json.loads(path.read_text().splitlines()[0])["type"] == "header"
    assert session.run_command(f"trace save {tmp_path}/x --format pcap") is False
    assert session.out.take() == "trace save: unknown format 'pcap' (one of mmiotrace, jsonl)\n"
    assert not (tmp_path / "x").exists()
    assert session.run_command(f"trace save {tmp_path}/no/such/dir/t.jsonl") is False
    assert session.out.take().startswith(f"cannot write {tmp_path}/no/such/dir/t.jsonl: ")


def test_same_script_twice_gives_identical_traces(tmp_path) -> None:
    texts = []
    for i in range(2):
        s = Session()
        host = Host(s)
        buf = host.h.put(np.arange(64, dtype=np.float32))
        run(s, "trace mmio on", "trace mem on cmd_desc +64", "trace insn on")
        host.submit("ELTWISE", a=buf, b=buf, out=buf + 256, count=64, op="add", dtype="fp32")
        host.submit("CHECKSUM", src=buf, size=256, seed=7)
        run(s, "continue")
        run(s, f"trace save {tmp_path}/{i}.jsonl", f"trace save {tmp_path}/{i}.mmio",
            f"timeline save {tmp_path}/{i}.json")
        texts.append([(tmp_path / f"{i}.{ext}").read_text() for ext in ("jsonl", "mmio", "json")])
        s.close()
    assert texts[0] == texts[1]
    assert len(texts[0][0].splitlines()) > 1000


def test_trace_is_complete_after_an_exception_mid_run(session, host, tmp_path) -> None:
    """A Python error in the middle of a run: the trace still holds everything up to it."""
    run(session, "trace insn on", "trace mmio on")
    issued = []

    def fail_on_second_issue(entry) -> None:
        issued.append(entry)
        if len(issued) == 2:
            raise RuntimeError("a hook failed")

    session.device.on_issue.append(fail_on_second_issue)
    buf = host.h.put(np.arange(256, dtype=np.float32))
    i0 = session.device.core.instret
    host.submit("ELTWISE", a=buf, b=buf, out=buf + 4096, count=256, op="add", dtype="fp32")
    with pytest.raises(RuntimeError, match="a hook failed"):
        session.execute("continue")
    session.device.on_issue.remove(fail_on_second_issue)
    path = tmp_path / "after.jsonl"
    run(session, f"trace save {path}")
    insns = [json.loads(x) for x in path.read_text().splitlines() if '"insn"' in x]
    # every retired instruction, and last the Xnpu instruction the error interrupted
    assert len(insns) == session.device.core.instret - i0 + 1
    assert insns[-1]["pc"] == session.device.core.pc
    assert run(session, "trace status").startswith("mmio: on")


def test_at_exit_files_are_written_complete_when_the_session_ends(tmp_path) -> None:
    s = Session()
    host = Host(s)
    path = tmp_path / "exit.jsonl"
    run(s, "trace insn on")
    assert run(s, f"trace save {path} --at-exit") == \
        f"Saved 0 records to {path} (jsonl); written again when the session ends.\n"
    host.submit("NOP")
    run(s, "continue")
    executed = tracer(s).core.pcs.count
    close_session(s)
    lines = path.read_text().splitlines()
    assert len(lines) == 1 + executed and executed > 500
    close_session(s)  # idempotent
    assert path.read_text().splitlines() == lines


def test_session_close_writes_at_exit_files(tmp_path) -> None:
    s = Session()
    host = Host(s)
    path = tmp_path / "close.jsonl"
    run(s, "trace insn on", f"trace save {path} --at-exit")
    host.submit("NOP")
    run(s, "continue")
    executed = tracer(s).core.pcs.count
    s.close()
    assert len(path.read_text().splitlines()) == 1 + executed and executed > 500


def test_at_exit_file_of_a_batch_run_that_fails(tmp_path) -> None:
    """npudbg --batch stops at the first error; the trace file is still written, complete."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    path = tmp_path / "batch.jsonl"
    done = subprocess.run([sys.executable, "-m", "debugger.cli", "--batch", "--workload", "nop",
                           "-ex", "trace mmio on", "-ex", f"trace save {path} --at-exit", "-ex", "run",
                           "-ex", "frobnicate", "-ex", "echo not reached"],
                          cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(root)), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1 and "-ex 4: error: undefined command" in done.stderr
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    doorbells = [r for r in rows[1:] if r["register"] == "QUEUE0.SQ_DOORBELL"]
    assert len(doorbells) == 3  # the workload's three NOPs
