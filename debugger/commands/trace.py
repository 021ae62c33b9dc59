"""Tracing commands: trace mmio|mem|insn on/off, trace show/save/clear/status, timeline save."""

from __future__ import annotations

from typing import TYPE_CHECKING

from debugger.commands import Text, command, parser
from debugger.errors import UsageError

if TYPE_CHECKING:
    from debugger.trace.tracer import Tracer


def tracer(session) -> Tracer:
    """The session's tracer; the tracing package loads with the first trace command, not at start-up."""
    from debugger.trace import tracer as made

    return made(session)

_mmio = parser("trace mmio", "Record every device-register access of the host and the firmware.\n"
               "Filters narrow what is recorded: register blocks (QUEUE0), registers (QUEUE0.SQ_TAIL),\n"
               "fields (their register), a direction (read, write) and a side (host, firmware).\n"
               "Each record has the virtual time, side, direction, width, address, register, value,\n"
               "its decoded fields and the firmware pc or host call site.")
_mmio.add_argument("state", choices=("on", "off"), help="start (again, with new filters) or stop recording")
_mmio.add_argument("filters", nargs="*", default=[], help="block, register, field, read|write, host|firmware")


@command("trace mmio", _mmio, category="tracing")
def trace_mmio(session, args) -> None:
    t = tracer(session)
    if args.state == "off":
        if args.filters:
            raise UsageError("trace mmio off takes no filters")
        t.mmio.stop()
        session.out.line(f"MMIO tracing off ({len(t.mmio.records)} accesses recorded).")
        return
    from debugger.trace.mmio import parse_filter

    flt = parse_filter(args.filters)
    t.mmio.start(flt)
    session.out.line(f"MMIO tracing on: {flt}.")


def _range(session, words: list[str]) -> tuple[int, int]:
    """`START END`, `START,END` or `START +LENGTH` → [lo, hi)."""
    text = " ".join(words).strip()
    if "," in text:
        first, second = (p.strip() for p in text.split(",", 1))
    else:
        parts = text.split()
        if len(parts) != 2:
            raise UsageError("trace mem on: give a range as START END, START,END or START +LENGTH")
        first, second = parts
    if not first or not second:
        raise UsageError("trace mem on: give a range as START END, START,END or START +LENGTH")
    lo = session.eval(first)
    hi = lo + session.eval(second[1:]) if second.startswith("+") else session.eval(second)
    if hi <= lo:
        raise UsageError(f"trace mem on: the range 0x{lo:x}..0x{hi:x} is empty")
    return lo, hi


_mem = parser("trace mem", "Record the firmware's loads and stores that touch a memory range.\n"
              "The core records accesses in C, in bulk; `trace mem off` stops every range.")
_mem.add_argument("state", choices=("on", "off"), help="add a range, or stop tracing memory")
_mem.add_argument("range", nargs="*", default=[], help="START END, START,END or START +LENGTH (expressions)")


@command("trace mem", _mem, category="tracing")
def trace_mem(session, args) -> None:
    t = tracer(session)
    if args.state == "off":
        t.core.clear_ranges()
        session.out.line(f"Memory tracing off ({t.core.mem.count} accesses recorded).")
        return
    rng = t.core.add_range(*_range(session, args.range))
    session.out.line(f"Memory tracing on: {rng}.")


_insn = parser("trace insn", "Record every instruction the core executes (its pc and tick).")
_insn.add_argument("state", choices=("on", "off"), help="start or stop")


@command("trace insn", _insn, category="tracing")
def trace_insn(session, args) -> None:
    t = tracer(session)
    t.core.set_insn(args.state == "on")
    session.out.line(f"Instruction tracing {args.state}.")


_show = parser("trace show", "Show the newest N records of each trace (default 20).")
_show.add_argument("count", type=int, nargs="?", default=20, help="how many records of each trace")
_show.add_argument("which", nargs="?", choices=("mmio", "mem", "insn"), help="only this trace")


@command("trace show", _show, category="tracing", repeat=False)
def trace_show(session, args) -> None:
    if args.count < 0:
        raise UsageError("trace show: N must be 0 or more")
    t = tracer(session)
    out = session.out
    code = session.code
    shown = False
    if args.which in (None, "mmio") and (t.mmio.records or args.which == "mmio"):
        shown = True
        recs = list(t.mmio.records)[-args.count:] if args.count else []
        out.line(out.style(f"MMIO trace: {len(t.mmio.records)} accesses"
                           + (f" ({t.mmio.dropped} dropped)" if t.mmio.dropped else ""), "heading"))
        out.lines([r.line() + (f" <{code.symbolic(r.pc)}>" if r.pc is not None else "") for r in recs])
    if args.which in (None, "mem") and (t.core.ranges or t.core.mem.count or args.which == "mem"):
        shown = True
        rows = list(t.mem_rows())
        out.line(out.style(f"Memory trace: {len(rows)} accesses (tick, access, pc)", "heading"))
        for r in rows[-args.count:] if args.count else []:
            op = "R" if r["dir"] == "read" else "W"
            out.line(f"{r['tick']:>12}  {op}{r['size']} 0x{r['addr']:08x} = 0x{r['value']:08x}  "
                     f"pc 0x{r['pc']:08x} <{code.symbolic(r['pc'])}>")
    if args.which in (None, "insn") and (t.core.insn or t.core.pcs.count or args.which == "insn"):
        shown = True
        rows = list(t.insn_rows())
        out.line(out.style(f"Instruction trace: {len(rows)} instructions (tick, pc)", "heading"))
        for r in rows[-args.count:] if args.count else []:
            pc = r["pc"]
            out.line(f"{r['tick']:>12}  0x{pc:08x} <{code.symbolic(pc)}>  {_insn_text(session, pc)}")
    if not shown:
        out.line("Nothing traced. Use 'trace mmio on', 'trace mem on RANGE' or 'trace insn on'.")


def _insn_text(session, pc: int) -> str:
    """The instruction at `pc` as objdump shows it (what is in memory now)."""
    from isa.disasm import disassemble

    try:
        return disassemble(session.read_memory(pc, 4), pc, session.target.program.symbols)[0].text
    except Exception:  # a view: an unreadable word shows as nothing, never an error
        return ""


_save = parser("trace save", "Write the traces to FILE.\n"
               "mmiotrace: Linux mmiotrace's line layout (MMIO accesses only); jsonl: one JSON object\n"
               "per record with every field decoded (MMIO, memory, instructions). The default comes\n"
               "from the file name (.jsonl, .json → jsonl; otherwise mmiotrace).")
_save.add_argument("file", type=Text, help="the file to write")
_save.add_argument("--format", default=None, help="file format: mmiotrace or jsonl (see above)")
_save.add_argument("--at-exit", action="store_true",
                   help="also write it again, complete, when the session ends (even on an error or Ctrl-C)")


@command("trace save", _save, category="tracing")
def trace_save(session, args) -> None:
    fmt, n = tracer(session).save(args.file, args.format, args.at_exit)
    session.out.line(f"Saved {n} records to {args.file} ({fmt})"
                     + ("; written again when the session ends." if args.at_exit else "."))


_clear = parser("trace clear", "Forget every recorded access (tracing that is on stays on).")


@command("trace clear", _clear, category="tracing")
def trace_clear(session, args) -> None:
    tracer(session).clear()
    session.out.line("Traces cleared.")


_status = parser("trace status", "What is being traced now and how much was recorded.")


@command("trace status", _status, category="tracing")
def trace_status(session, args) -> None:
    t = tracer(session)
    out = session.out
    out.line(f"mmio: {'on (' + str(t.mmio.filter) + ')' if t.mmio.on else 'off'}, "
             f"{len(t.mmio.records)} accesses")
    ranges = ", ".join(str(r) for r in t.core.ranges) or "off"
    t.core.drain()
    out.line(f"mem:  {ranges}, {t.core.mem.count} accesses")
    out.line(f"insn: {'on' if t.core.insn else 'off'}, {t.core.pcs.count} instructions")


_timeline = parser("timeline save", "Write a Chrome/Perfetto trace-event JSON file (chrome://tracing, "
                   "ui.perfetto.dev).\nOne track per pipe (every Xnpu instruction, start to end), the "
                   "core's stops, and,\nwhile `trace mmio on` recorded them, host driver calls and MMIO "
                   "accesses of both sides.")
_timeline.add_argument("file", type=Text, help="the JSON file to write")


@command("timeline save", _timeline, category="tracing")
def timeline_save(session, args) -> None:
    from debugger.timeline import save_timeline

    counts = save_timeline(session, args.file)
    parts = ", ".join(f"{n} {what}" for what, n in counts.items())
    session.out.line(f"Timeline saved to {args.file}: {parts}.")
