"""Values and memory: print/p, set (var, $reg, {type}ADDR, *(type*)ADDR), x/NFU, dump memory,
info mem, display/undisplay/info display."""

from __future__ import annotations

import re
from pathlib import Path

from debugger.commands import Expr, Text, command, parser
from debugger.errors import DebuggerError
from debugger.formats import examine, format_scalar, parse_fmt

_ASSIGN = re.compile(r"(?<![=!<>])=(?!=)")
GDB_SETTINGS = ("confirm", "pagination", "height", "width", "print", "verbose", "listsize")

_print = parser("print", "Evaluate EXPR and print its value, recorded as $N in the value history.\n"
                "Formats: /x hex, /d signed, /u unsigned, /o octal, /t binary, /c char, /a address,\n"
                "/z zero-padded hex.")
_print.add_argument("expr", type=Text, nargs="*", help="expression (default: the last value, $)")


@command("print", _print, category="data", aliases=("p", "inspect"), fmt=True)
def print_(session, args) -> None:
    value = session.eval(args.expr) if args.expr else session.history_value(None, 0)
    n = session.record(value)
    letter = args.fmt[-1] if args.fmt else "d"
    if args.fmt and (len(args.fmt) != 1 or letter not in "xduotcaz"):
        raise DebuggerError(f"bad format '/{args.fmt}' for print (one of x d u o t c a z)")
    text = format_scalar(value, letter, 4, session) if args.fmt else str(value)
    session.out.line(f"${n} = {text}")


def assign(session, text: str) -> None:
    """`LHS = VALUE` where LHS is $reg, $DEVICE.REG[.FIELD], a memory reference or a data symbol."""
    from debugger.watch import memory_reference

    parts = _ASSIGN.split(text, maxsplit=1)
    if len(parts) != 2 or not parts[0].strip():
        raise DebuggerError(f"set: expected `LHS = VALUE`, got '{text}'")
    lhs, rhs = parts[0].strip(), parts[1].strip()
    value = session.eval(rhs)
    if lhs.startswith("$"):
        session.set_register(lhs[1:], value)
        return
    addr, size = memory_reference(session, lhs)
    session.write_memory(addr, (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))


_set = parser("set", "Assign: set var LHS = VALUE, set $a0 = 5, set $QUEUE0.SQ_TAIL = 3 (a poke),\n"
              "set {int}ADDR = V, set *(short*)ADDR = V.  gdb's own settings (confirm, pagination, ...)\n"
              "are accepted and ignored.")


@command("set", _set, category="data", raw=True)
def set_(session, args) -> None:
    text = args.text.strip()
    word, _, rest = text.partition(" ")
    if word in ("var", "variable"):
        assign(session, rest)
    elif word in GDB_SETTINGS:
        return
    elif text:
        assign(session, text)
    else:
        raise DebuggerError("set: expected `LHS = VALUE`")


_x = parser("x", "Examine memory: x/NFU ADDR.  N count, F format (x d u o t c a z s i), U unit\n"
            "(b h w g).  Defaults: the last format and unit, and the address after the last examined.\n"
            "MMIO is shown with peek: reading it here has no side effects.")
_x.add_argument("addr", type=Expr, nargs="*", help="start address expression (e.g. &symbol, $sp + 16)")


@command("x", _x, category="data", repeat=True, fmt=True)
def x(session, args) -> None:
    last = session.last_x or (None, "x", 4)
    count, letter, size = parse_fmt(args.fmt, last[1], last[2])
    addr = args.addr if args.addr is not None else last[0]
    if addr is None:
        raise DebuggerError("x: an address is required")
    lines, after = examine(session, addr & 0xFFFFFFFF, count, letter, size)
    session.out.lines(lines)
    session.last_x = (after, letter, size)


_dump = parser("dump", "Write memory to a file: dump memory FILE START END (END exclusive).")
_dump.add_argument("what", choices=("memory", "binary"), help="`memory` (or `binary memory`)")
_dump.add_argument("rest", nargs="+", help="[memory] FILE START END")


@command("dump", _dump, category="data")
def dump(session, args) -> None:
    rest = list(args.rest)
    if args.what == "binary" and (not rest or rest.pop(0) != "memory"):
            raise DebuggerError("dump binary memory FILE START END")
    if len(rest) != 3:
        raise DebuggerError("dump memory FILE START END")
    start, end = session.eval(rest[1]), session.eval(rest[2])
    if end < start:
        raise DebuggerError(f"dump: end 0x{end:x} is before start 0x{start:x}")
    data = session.read_memory(start, end - start)
    try:
        Path(rest[0]).write_bytes(data)
    except OSError as exc:
        raise DebuggerError(f"dump: {rest[0]}: {exc.strerror}") from None
    session.out.line(f"Wrote {len(data)} bytes to {rest[0]}.")


_info_mem = parser("info mem", "The device memory map (from the memory-map table).")


@command("info mem", _info_mem, category="data", aliases=("info memory",))
def info_mem(session, args) -> None:
    out = session.out
    out.line(f"{'Name':<6} {'Low Addr':<10} {'High Addr':<10} {'Size':>10}  {'Kind':<5} {'Attrs':<5} "
             "Description")
    for r in session.target.device.config.regions:
        out.line(f"{r.name:<6} 0x{r.base:08x} 0x{r.end - 1:08x} {_size(r.size):>10}  {r.kind:<5} "
                 f"{r.perms:<5} {r.desc}".rstrip())


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return str(n)


_display = parser("display", "Show EXPR (with /FMT; /i and /s examine memory) at every stop;\n"
                  "no EXPR: show them all now.")
_display.add_argument("expr", type=Text, nargs="*", help="expression, e.g. display/i $pc")


@command("display", _display, category="data", fmt=True)
def display(session, args) -> None:
    if not args.expr:
        session.show_displays()
        return
    if args.fmt:
        parse_fmt(args.fmt, "x", 4)
    session.eval(args.expr)
    number = session._display_next
    session._display_next += 1
    session.displays.append((number, args.fmt, args.expr))
    saved = session.displays
    session.displays = [saved[-1]]
    try:
        session.show_displays()
    finally:
        session.displays = saved


_undisplay = parser("undisplay", "Stop showing the displays given (all when none are).")
_undisplay.add_argument("numbers", type=int, nargs="*", help="display numbers")


@command("undisplay", _undisplay, category="data", aliases=("delete display",))
def undisplay(session, args) -> None:
    if not args.numbers:
        session.displays.clear()
        return
    known = {n for n, _, _ in session.displays}
    for n in args.numbers:
        if n not in known:
            raise DebuggerError(f"no display number {n}")
    session.displays = [d for d in session.displays if d[0] not in args.numbers]


_info_display = parser("info display", "List the expressions shown at every stop.")


@command("info display", _info_display, category="data")
def info_display(session, args) -> None:
    if not session.displays:
        session.out.line("There are no auto-display expressions now.")
        return
    session.out.line("Auto-display expressions now in effect:\nNum Enb Expression")
    for n, fmt, expr in session.displays:
        session.out.line(f"{n}:   y  {'/' + fmt + ' ' if fmt else ''}{expr}")
