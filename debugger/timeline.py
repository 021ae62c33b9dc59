"""The session's timeline as Chrome/Perfetto trace-event JSON: pipes, core stops, driver calls, MMIO.

Process "NPU device" has one track per pipe (every Xnpu instruction from its start
to its end tick, from the device's own pipe timeline) and a "core" track with the
core's stops and the firmware's MMIO accesses. Process "host" has the driver calls
(spans grouped from the MMIO trace's host records) and the host's MMIO accesses.
Flow arrows join a doorbell write to the firmware's first access of that queue,
and the firmware's interrupt raise to the host's next read of the interrupt
status, so one request can be followed from the doorbell through the firmware and
the units to the completion interrupt. Times are microseconds of virtual time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from debugger.trace import tracer
from debugger.trace.formats import write_lines

if TYPE_CHECKING:
    from debugger.session import Session
    from debugger.trace.records import MmioRecord

DEVICE_PID, HOST_PID = 1, 2
CORE_TID, CALLS_TID, HOST_MMIO_TID = 0, 1, 2


def _us(tick: int) -> float:
    return tick / 1000


def _meta(pid: int, tid: int | None, name: str) -> dict[str, Any]:
    if tid is None:
        return {"ph": "M", "name": "process_name", "pid": pid, "args": {"name": name}}
    return {"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": name}}


def _mmio_event(r: MmioRecord, pid: int, tid: int) -> dict[str, Any]:
    op = "W" if r.kind == "write" else "R"
    return {"ph": "i", "s": "t", "name": f"{op} {r.register}", "cat": "mmio", "pid": pid, "tid": tid,
            "ts": _us(r.tick), "args": {"value": f"0x{r.value:08x}", "fields": r.decoded(),
                                        "origin": r.origin()}}


def _flows(records: list[MmioRecord]) -> list[dict[str, Any]]:
    """Doorbell → the firmware's first access of that queue; interrupt raise → the host's status read."""
    flows: list[dict[str, Any]] = []
    waiting: list[tuple[str, str, MmioRecord]] = []  # (side wanted, path prefix, from)
    for r in records:
        for item in list(waiting):
            side, prefix, start = item
            if r.side == side and r.path.startswith(prefix) and r.seq > start.seq:
                waiting.remove(item)
                fid = len(flows) // 2 + 1
                name = "doorbell" if prefix.startswith("queue") else "interrupt"
                for ph, rec in (("s", start), ("f", r)):
                    pid, tid = (HOST_PID, HOST_MMIO_TID) if rec.side == "host" else (DEVICE_PID, CORE_TID)
                    event = {"ph": ph, "id": fid, "name": name, "cat": "flow", "pid": pid, "tid": tid,
                             "ts": _us(rec.tick)}
                    if ph == "f":
                        event["bp"] = "e"
                    flows.append(event)
        if r.kind != "write":
            continue
        if r.side == "host" and r.path.endswith(".sq_doorbell"):
            waiting.append(("firmware", r.path.split(".")[0] + ".", r))
        elif r.side == "firmware" and r.path == "host_irq.raise":
            waiting.append(("host", "host_irq.status", r))
    return flows


def _calls(records: list[MmioRecord]) -> list[dict[str, Any]]:
    """One span per host driver call: from its first register access to its last."""
    spans: dict[int, list[Any]] = {}
    for r in records:
        if r.side == "host" and r.call:
            span = spans.get(r.call)
            if span is None:
                spans[r.call] = [r.api or "driver", r.tick, r.tick, r.site, 1]
            else:
                span[2] = r.tick
                span[4] += 1
    return [{"ph": "X", "name": api, "cat": "driver", "pid": HOST_PID, "tid": CALLS_TID, "ts": _us(t0),
             "dur": _us(t1 - t0), "args": {"call": call, "first access": site, "accesses": n}}
            for call, (api, t0, t1, site, n) in spans.items()]


def build(session: Session) -> tuple[dict[str, Any], dict[str, int]]:
    """The trace-event document and what it holds (counts by kind)."""
    dev = session.target.device
    t = tracer(session)
    pipes = list(dev.pipes.names)
    tid = {p: i + 1 for i, p in enumerate(pipes)}
    events: list[dict[str, Any]] = [_meta(DEVICE_PID, None, "NPU device"), _meta(HOST_PID, None, "host"),
                                    _meta(DEVICE_PID, CORE_TID, "core (S)"),
                                    _meta(HOST_PID, CALLS_TID, "driver calls"),
                                    _meta(HOST_PID, HOST_MMIO_TID, "host MMIO")]
    events += [_meta(DEVICE_PID, tid[p], p.upper()) for p in pipes]
    spans = list(dev.timeline.spans)
    for s in spans:
        events.append({"ph": "X", "name": s.mnemonic, "cat": s.kind, "pid": DEVICE_PID, "tid": tid[s.pipe],
                       "ts": _us(s.start), "dur": _us(s.end - s.start),
                       "args": {"pc": f"0x{s.pc:08x}", "seq": s.seq, "issued": _us(s.issue)}})
    for ev in t.stops:
        events.append({"ph": "i", "s": "t", "name": ev.reason, "cat": "stop", "pid": DEVICE_PID,
                       "tid": CORE_TID, "ts": _us(ev.tick),
                       "args": {"pc": f"0x{ev.pc:08x}", "text": ev.text}})
    records = list(t.mmio.records)
    calls = _calls(records)
    events += calls
    for r in records:
        where = (HOST_PID, HOST_MMIO_TID) if r.side == "host" else (DEVICE_PID, CORE_TID)
        events.append(_mmio_event(r, *where))
    flows = _flows(records)
    events += flows
    doc = {"traceEvents": events, "displayTimeUnit": "ns",
           "otherData": {"firmware": session.target.name, "dropped_spans": dev.timeline.dropped,
                         "dropped_mmio": t.mmio.dropped}}
    counts = {"pipe spans": len(spans), "stops": len(t.stops), "driver calls": len(calls),
              "MMIO accesses": len(records), "flows": len(flows) // 2}
    return doc, counts


def save_timeline(session: Session, path: str | Path) -> dict[str, int]:
    doc, counts = build(session)
    write_lines(path, [json.dumps(doc, sort_keys=True)])
    return counts
