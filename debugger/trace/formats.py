"""Trace files: Linux mmiotrace's text layout, and JSON lines with every field decoded.

mmiotrace (the kernel's `trace_mmiotrace.c` output, read by people and by tools
such as the Nouveau project's parsers): a `VERSION` line, one `MAP` line per mapped
window, then one line per access::

    R|W WIDTH SECONDS.MICROSECONDS MAP-ID PHYS-ADDRESS VALUE PC PID

Map 1 is the host's BAR0 and map 2 the firmware's MMIO port, both at the MMIO
addresses (BAR0 offset N = MMIO base + N); PC is the firmware pc (0 for the host);
times are virtual (1 tick = 1 ns). The format holds MMIO accesses only.

JSON lines: a header object, then one object per record (`type` mmio, mem or insn)
with exact ticks (every kind: one time base), register names, decoded fields and origins.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from debugger.errors import DebuggerError
from debugger.trace.records import MmioRecord

FORMATS = ("mmiotrace", "jsonl")
MMIOTRACE_VERSION = "20070824"
MAP_IDS = {"host": 1, "firmware": 2}
LINE = re.compile(r"^(?P<op>[RW]) (?P<width>[1248]) (?P<secs>\d+)\.(?P<usec>\d{6}) (?P<map>\d+) "
                  r"0x(?P<addr>[0-9a-f]+) 0x(?P<value>[0-9a-f]+) 0x(?P<pc>[0-9a-f]+) (?P<pid>\d+)$")


def format_for(path: str | Path, given: str | None) -> str:
    """The format asked for, or the one the file name implies (`.jsonl` / `.json` → jsonl)."""
    if given is not None:
        if given not in FORMATS:
            raise DebuggerError(f"trace save: unknown format '{given}' (one of {', '.join(FORMATS)})")
        return given
    return "jsonl" if str(path).endswith((".jsonl", ".json")) else "mmiotrace"


def timestamp(tick: int) -> str:
    return f"{tick // 1_000_000_000}.{tick % 1_000_000_000 // 1000:06d}"


def mmiotrace_lines(records: Iterable[MmioRecord], mmio_base: int, mmio_size: int) -> Iterator[str]:
    yield f"VERSION {MMIOTRACE_VERSION}"
    for side, map_id in MAP_IDS.items():
        virt = 0 if side == "host" else mmio_base
        yield f"MAP 0.000000 {map_id} 0x{mmio_base:x} 0x{virt:x} 0x{mmio_size:x} 0x0 0"
    for r in records:
        op = "R" if r.kind == "read" else "W"
        yield (f"{op} {r.width} {timestamp(r.tick)} {MAP_IDS[r.side]} 0x{r.addr:x} 0x{r.value:x} "
               f"0x{r.pc or 0:x} 0")


class MmiotraceAccess(NamedTuple):
    """One R/W line read back."""

    op: str
    width: int
    usec: int  # microseconds of virtual time
    map_id: int
    addr: int
    value: int
    pc: int


def parse_mmiotrace_line(line: str) -> MmiotraceAccess | None:
    """An R/W line, or None for the other lines (VERSION, MAP, MARK); raises on a malformed R/W line."""
    if not line.startswith(("R ", "W ")):
        return None
    m = LINE.match(line.rstrip("\n"))
    if m is None:
        raise DebuggerError(f"not an mmiotrace access line: {line.strip()!r}")
    g = m.groupdict()
    return MmiotraceAccess(g["op"], int(g["width"]), int(g["secs"]) * 1_000_000 + int(g["usec"]),
                           int(g["map"]), int(g["addr"], 16), int(g["value"], 16), int(g["pc"], 16))


def jsonl_lines(header: dict[str, Any], mmio: Iterable[MmioRecord], mem: Iterable[dict[str, Any]],
                insn: Iterable[dict[str, Any]]) -> Iterator[str]:
    yield json.dumps({"type": "header", **header}, sort_keys=True)
    for r in mmio:
        yield json.dumps(r.to_json(), sort_keys=True)
    for row in mem:
        yield json.dumps(row, sort_keys=True)
    for row in insn:
        yield json.dumps(row, sort_keys=True)


def write_lines(path: str | Path, lines: Iterable[str]) -> int:
    """Write atomically (a temporary file renamed into place); returns the number of lines."""
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".trace-", dir=str(target.parent or Path(".")))
    except OSError as exc:
        raise DebuggerError(f"cannot write {path}: {exc.strerror}") from None
    n = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for line in lines:
                f.write(line + "\n")
                n += 1
        os.replace(tmp, target)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise DebuggerError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return n
