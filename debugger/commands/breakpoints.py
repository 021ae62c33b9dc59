"""Stop points: break/tbreak, watch/rwatch/awatch, catch, condition, ignore, enable/disable/delete,
commands … end, info breakpoints."""

from __future__ import annotations

from debugger.breakpoints import Breakpoint, resolve_location
from debugger.commands import Expr, Location, Text, command, parser
from debugger.errors import DebuggerError

# Watchpoints and catchpoints (debugger.watch, debugger.catch) are imported by the commands
# that make them: a session that sets none does not load them.


def _split_if(words: str) -> tuple[str, str | None]:
    """`LOCATION if COND` → (LOCATION, COND)."""
    parts = f" {words} ".split(" if ", 1)
    return (parts[0].strip(), parts[1].strip() or None) if len(parts) == 2 else (words.strip(), None)


def _set_break(session, text: str, temporary: bool) -> None:
    spec, cond = _split_if(text or "")
    if not spec:
        spec = f"*0x{session.target.device.core.pc:x}"
    addrs = tuple(resolve_location(session, spec))
    if cond is not None:
        session.eval(cond)  # a condition that does not parse is refused now, not at the first hit
    bp = Breakpoint(session.points.number(), condition=cond, temporary=temporary, spec=spec, addrs=addrs)
    session.points.add(bp)
    label = "Temporary breakpoint" if temporary else "Breakpoint"
    row = session.target.program.line_for(addrs[0])
    where = f": file {row.file}, line {row.line}." if row else ""
    session.out.line(f"{label} {bp.number} at 0x{addrs[0]:x}{where}")


_break = parser("break", "Set a breakpoint at LOCATION (default: the current pc), optionally with a "
                "condition.\nLOCATION: *ADDR, SYMBOL, SYMBOL+OFF, FILE:LINE or LINE.\n"
                "Example: break handle_nop if $a1 == 2")
_break.add_argument("location", type=Location, nargs="*", help="where, then optionally `if CONDITION`")


@command("break", _break, category="breakpoints", aliases=("b", "br"))
def break_(session, args) -> None:
    _set_break(session, args.location or "", temporary=False)


_tbreak = parser("tbreak", "Set a temporary breakpoint: deleted when first hit.")
_tbreak.add_argument("location", type=Location, nargs="*", help="where, then optionally `if CONDITION`")


@command("tbreak", _tbreak, category="breakpoints")
def tbreak(session, args) -> None:
    _set_break(session, args.location or "", temporary=True)


def _watch(session, text: str, kind: str) -> None:
    from debugger.watch import MemoryWatch, RegisterWatch, memory_reference, register_target

    what, cond = _split_if(text)
    if not what:
        raise DebuggerError("watch: an expression or register name is required")
    if cond is not None:
        session.eval(cond, {"value": 0})
    reg = register_target(session, what) if not what.startswith(("*", "{")) else None
    n = session.points.number()
    if reg is not None:
        path, field = reg
        name = what.upper()
        session.points.add(RegisterWatch(n, condition=cond, name=name, path=path, field_name=field,
                                         kind=kind))
        label = {"write": "Register watchpoint", "read": "Register read watchpoint",
                 "access": "Register access watchpoint"}[kind]
        session.out.line(f"{label} {n}: {name}")
        return
    addr, size = memory_reference(session, what)
    session.points.add(MemoryWatch(n, condition=cond, expr=what, addr=addr, size=size, kind=kind))
    label = {"write": "Hardware watchpoint", "read": "Hardware read watchpoint",
             "access": "Hardware access (read/write) watchpoint"}[kind]
    session.out.line(f"{label} {n}: {what}")


for _name, _kind, _desc in (("watch", "write", "Stop when a value changes"),
                            ("rwatch", "read", "Stop when a value is read"),
                            ("awatch", "access", "Stop when a value is read or written")):
    _p = parser(_name, f"{_desc}: memory (*(int*)ADDR, {{short}}ADDR, a data symbol) or a device\n"
                f"register or field by name (DMA.ERR_CAUSE, QUEUE0.SQ_TAIL if value > 4).")
    _p.add_argument("expr", type=Text, nargs="+", help="what to watch, then optionally `if CONDITION`")

    def _fn(session, args, kind=_kind) -> None:
        _watch(session, args.expr, kind)

    command(_name, _p, category="breakpoints")(_fn)


_catch = parser("catch", "Stop on an event:\n"
                "  catch mmio [read|write] REGISTER-OR-BLOCK [host|firmware]\n"
                "  catch irq [CAUSE]       a host interrupt cause (HOST_IRQ.STATUS field)\n"
                "  catch trap [CAUSE]      a core exception (illegal_instruction, load_fault, ...)\n"
                "  catch fault             any device error\n"
                "  catch race              a race between pipes (its own command: help catch race)")
_catch.add_argument("event", choices=("mmio", "irq", "trap", "fault"), help="kind of event")
_catch.add_argument("what", nargs="*", help="the event's arguments (see above)")


@command("catch", _catch, category="breakpoints")
def catch(session, args) -> None:
    from debugger.catch import FaultCatch, IrqCatch, MmioCatch, TrapCatch, mmio_paths, trap_cause

    n = session.points.number()
    words = list(args.what)
    if args.event == "mmio":
        direction = "access"
        if words and words[0].lower() in ("read", "write", "access"):
            direction = words.pop(0).lower()
        side = words.pop().lower() if len(words) > 1 and words[-1].lower() in ("host", "firmware") else None
        if len(words) != 1:
            raise DebuggerError("catch mmio [read|write] REGISTER-OR-BLOCK [host|firmware]")
        paths = mmio_paths(session, words[0])
        point = MmioCatch(n, direction=direction, name=words[0].upper(), paths=paths, side=side)
    elif args.event == "irq":
        cause = None
        if words:
            status = session.target.device.regs.map.register("host_irq.status")
            cause = words[0].lower()
            if status.field_named(cause) is None:
                names = ", ".join(f.name for f in status.fields)
                raise DebuggerError(f"unknown interrupt cause '{words[0]}' (one of {names})")
        point = IrqCatch(n, cause=cause)
    elif args.event == "trap":
        point = TrapCatch(n, cause=trap_cause(words[0]) if words else None)
    else:
        point = FaultCatch(n)
    session.points.add(point)
    session.out.line(f"Catchpoint {n} ({point.what(session)})")


_cond = parser("condition", "Make breakpoint N stop only when COND is true (no COND: always).")
_cond.add_argument("number", type=Expr, help="breakpoint number")
_cond.add_argument("cond", type=Text, nargs="*", help="condition expression")


@command("condition", _cond, category="breakpoints")
def condition(session, args) -> None:
    point = session.points.get(args.number)
    if args.cond:
        session.eval(args.cond, {"value": 0})
        point.condition = args.cond
    else:
        point.condition = None
        session.out.line(f"Breakpoint {args.number} now unconditional.")


_ignore = parser("ignore", "Ignore the next COUNT hits of breakpoint N.")
_ignore.add_argument("number", type=Expr, help="breakpoint number")
_ignore.add_argument("count", type=Expr, help="hits to ignore")


@command("ignore", _ignore, category="breakpoints")
def ignore(session, args) -> None:
    point = session.points.get(args.number)
    point.ignore = max(0, args.count)
    what = f"Will ignore next {point.ignore} crossings of breakpoint {args.number}."
    session.out.line(what if point.ignore else f"Will stop next time breakpoint {args.number} is reached.")


def _numbers(session, words: list[str]) -> list[int]:
    if not words:
        return sorted(session.points.items)
    out = []
    for w in words:
        lo, dash, hi = w.partition("-")
        if dash and lo.isdigit() and hi.isdigit():
            out += list(range(int(lo), int(hi) + 1))
        else:
            out.append(session.eval(w))
    return out


for _name, _desc, _aliases in (("enable", "Enable breakpoints (all, or the numbers given; ranges like 2-4).",
                                ("en",)),
                               ("disable", "Disable breakpoints (all, or the numbers given).",
                                ("dis", "disa")),
                               ("delete", "Delete breakpoints (all, or the numbers given).", ("d",))):
    _p = parser(_name, _desc)
    _p.add_argument("numbers", nargs="*", help="breakpoint numbers or ranges")

    def _fn(session, args, name=_name) -> None:
        for n in _numbers(session, args.numbers):
            if name == "delete":
                session.points.delete(n)
            else:
                session.points.enable(n, name == "enable")

    command(_name, _p, category="breakpoints", aliases=_aliases)(_fn)


_commands = parser("commands", "Give breakpoint N (default: the last set) a command list, ended by `end`.\n"
                   "The commands run each time it stops the target; `silent` first hides the stop message.")
_commands.add_argument("number", type=Expr, nargs="?", help="breakpoint number")


@command("commands", _commands, category="breakpoints")
def commands(session, args) -> None:
    number = args.number if args.number is not None else max(session.points.items, default=None)
    if number is None:
        raise DebuggerError("no breakpoints to give commands to")
    point = session.points.get(number)
    point.commands = [line.strip() for line in session.read_block(">", "end") if line.strip()]


_info_b = parser("info breakpoints", "List breakpoints, watchpoints and catchpoints with their hit counts.")
_info_b.add_argument("numbers", nargs="*", help="only these numbers")


@command("info breakpoints", _info_b, category="breakpoints",
         aliases=("info b", "info break", "i b", "info watchpoints"))
def info_breakpoints(session, args) -> None:
    wanted = set(_numbers(session, args.numbers)) if args.numbers else None
    points = [p for n, p in sorted(session.points.items.items()) if wanted is None or n in wanted]
    if not points:
        session.out.line("No breakpoints or watchpoints.")
        return
    out = session.out
    out.line(f"{'Num':<7} {'Type':<18} {'Disp':<4} {'Enb':<3} {'Address':<10} What")
    for p in points:
        addr = p.address()
        disp = "del" if p.temporary else "keep"
        out.line(f"{p.number:<7} {p.type_name:<18} {disp:<4} {'y' if p.enabled else 'n':<3} "
                 f"{f'0x{addr:08x}' if addr is not None and isinstance(p, Breakpoint) else '':<10} "
                 f"{p.what(session)}".rstrip())
        if p.condition:
            out.line(f"\tstop only if {p.condition}")
        if p.hits:
            out.line(f"\tbreakpoint already hit {p.hits} time{'s' if p.hits != 1 else ''}")
        if p.ignore:
            out.line(f"\tWill ignore next {p.ignore} crossings of breakpoint.")
        for line in p.commands:
            out.line(f"        {line}")
