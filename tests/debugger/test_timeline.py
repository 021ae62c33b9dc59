"""The Chrome/Perfetto timeline: pipe tracks, stops, driver calls, MMIO and the doorbell-to-IRQ flows."""

from __future__ import annotations

import json

import numpy as np

from debugger.timeline import build
from debugger.trace import tracer
from tests.debugger.conftest import run


def _eltwise(session, host) -> None:
    buf = host.h.put(np.arange(64, dtype=np.float32))
    host.submit("ELTWISE", a=buf, b=buf, out=buf + 256, count=64, op="add", dtype="fp32")
    run(session, "continue")


def test_timeline_file_has_a_track_per_pipe_and_every_span(session, host, tmp_path) -> None:
    run(session, "trace mmio on")
    _eltwise(session, host)
    path = tmp_path / "tl.json"
    out = run(session, f"timeline save {path}")
    doc = json.loads(path.read_text())
    events = doc["traceEvents"]
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e.get("name") == "thread_name"}
    assert sorted(names.values()) == \
        ["M", "MTE1", "MTE2", "MTE3", "V", "core (S)", "driver calls", "host MMIO"]
    spans = [e for e in events if e["ph"] == "X" and e["cat"] != "driver"]
    dev_spans = list(session.device.timeline.spans)
    assert len(spans) == len(dev_spans) > 0
    for e, s in zip(spans, dev_spans, strict=True):
        assert names[(e["pid"], e["tid"])] == s.pipe.upper()
        assert (e["name"], e["ts"], e["dur"]) == (s.mnemonic, s.start / 1000, (s.end - s.start) / 1000)
    assert [e["name"] for e in spans].count("npu.vadd") == 2  # the ELTWISE's two tiles on the V pipe
    stops = [e for e in events if e.get("cat") == "stop"]
    assert [e["name"] for e in stops] == ["idle"]
    assert out == (f"Timeline saved to {path}: {len(dev_spans)} pipe spans, 1 stops, 0 driver calls, "
                   f"{sum(1 for e in events if e.get('cat') == 'mmio')} MMIO accesses, 1 flows.\n")


def test_flows_join_the_doorbell_to_the_firmware_and_the_irq_to_the_host(session, host) -> None:
    run(session, "trace mmio on")
    host.submit("NOP")
    run(session, "continue")
    session.device.regs.read("host_irq.status", "host", origin="test host")  # the host takes the IRQ
    doc, counts = build(session)
    flows = [e for e in doc["traceEvents"] if e.get("cat") == "flow"]
    assert [(e["ph"], e["name"], e["pid"]) for e in flows] == [
        ("s", "doorbell", 2), ("f", "doorbell", 1), ("s", "interrupt", 1), ("f", "interrupt", 2)]
    bell = next(r for r in tracer(session).mmio.records if r.register == "QUEUE0.SQ_DOORBELL")
    assert flows[0]["ts"] == bell.tick / 1000 and flows[1]["ts"] > flows[0]["ts"]
    assert flows[0]["id"] == flows[1]["id"] != flows[2]["id"] == flows[3]["id"]
    assert counts["flows"] == 2


def test_driver_calls_become_spans(session) -> None:
    import driver
    from driver import transport

    with transport.use(transport.InProcess(session.device)):
        dev = driver.open()
    run(session, "trace mmio on host")
    dev.nop()
    dev.add(np.ones(8, np.float32), np.ones(8, np.float32))
    doc, counts = build(session)
    calls = [e for e in doc["traceEvents"] if e.get("cat") == "driver"]
    assert [e["name"] for e in calls] == ["Ops.nop", "Ops.add"]
    assert all(e["dur"] > 0 for e in calls) and calls[1]["ts"] >= calls[0]["ts"] + calls[0]["dur"]
    assert calls[0]["args"]["first access"].startswith("driver/")
    assert counts["driver calls"] == 2
