"""Code: disassemble, list, info symbol, info line, backtrace, info frame."""

from __future__ import annotations

from debugger.breakpoints import resolve_location
from debugger.commands import Location, Text, command, needs_symbols, parser
from debugger.errors import DebuggerError

LIST_SIZE = 10

_disas = parser("disassemble", "Disassemble a function (default: the one at the pc) or START,END or\n"
                "START,+LENGTH; `=>` marks the pc.  /s (or /m) interleaves source lines.")
_disas.add_argument("where", type=Text, nargs="*", help="FUNCTION, ADDR, START,END or START,+LENGTH")


def _function_range(session, addr: int) -> tuple[int, int]:
    prog = session.target.program
    found = prog.symbol_at(addr)
    if found is None:
        raise DebuggerError(f"no function contains 0x{addr:08x}")
    sym = found[0]
    if sym.size:
        return sym.value, sym.value + sym.size
    later = sorted(s.value for s in prog.symbols if s.value > sym.value and s.section == sym.section
                   and s.kind in ("func", "notype") and not s.name.startswith((".", "$")))
    return sym.value, later[0] if later else sym.value + 64


@command("disassemble", _disas, category="code", fmt=True)
@needs_symbols
def disassemble(session, args) -> None:
    from isa.disasm import disassemble as disasm

    text = (args.where or "").strip()
    if "," in text:
        a, b = text.split(",", 1)
        start = session.eval(a)
        end = start + session.eval(b.strip()[1:]) if b.strip().startswith("+") else session.eval(b)
        name = None
    else:
        addr = resolve_location(session, text)[0] if text else session.target.device.core.pc
        start, end = _function_range(session, addr)
        name = session.code.symbolic(start)
    if end <= start or end - start > 1 << 16:
        raise DebuggerError(f"disassemble: bad range 0x{start:x}..0x{end:x}")
    prog = session.target.program
    pc = session.target.device.core.pc
    out = session.out
    out.line(f"Dump of assembler code for function {name}:" if name else
             f"Dump of assembler code from 0x{start:x} to 0x{end:x}:")
    last_line = None
    for d in disasm(session.read_memory(start & ~3, (end - (start & ~3) + 3) & ~3), start & ~3, prog.symbols):
        if args.fmt in ("s", "m"):
            row = prog.line_for(d.addr)
            if row is not None and (row.file, row.line) != last_line:
                last_line = (row.file, row.line)
                out.line(f"{row.file}:\n{row.line}\t{session.code.source_line(row.file, row.line) or ''}")
        sym = session.code.symbolic(d.addr)
        label = f"<{sym}>" if not sym.startswith("0x") else ""
        marker = "=> " if d.addr == pc else "   "
        line = f"{marker}0x{d.addr:08x} {label}:\t{d.text}" if label else f"{marker}0x{d.addr:08x}:\t{d.text}"
        out.line(out.style(line, "pc") if d.addr == pc else line)
    out.line("End of assembler dump.")


_list = parser("list", "List source lines around the pc, a LOCATION, or after the last listing.\n"
               "`list -` shows the lines before the last listing.")
_list.add_argument("location", type=Location, nargs="*", help="LOCATION, FILE:LINE, FUNCTION, or -")


@command("list", _list, category="code", aliases=("l",), repeat=True)
@needs_symbols
def list_(session, args) -> None:
    prog = session.target.program
    text = (args.location or "").strip()
    if text == "-" and session.last_listed:
        file, first = session.last_listed[0], max(1, session.list_first - LIST_SIZE)
    elif text:
        addr = resolve_location(session, text)[0]
        row = prog.line_for(addr)
        if row is None:
            raise DebuggerError(f"no line information for {text}")
        file, first = row.file, max(1, row.line - LIST_SIZE // 2)
    elif session.last_listed and session.list_more:
        file, first = session.last_listed[0], session.last_listed[1] + 1
    else:
        row = prog.line_for(session.target.device.core.pc)
        if row is None:
            raise DebuggerError("no line information at the pc; give a location")
        file, first = row.file, max(1, row.line - LIST_SIZE // 2)
    lines = session.code.source_lines(file)
    if lines is None:
        raise DebuggerError(f"source file {file} not found")
    if first > len(lines):
        raise DebuggerError(f"line number {first} out of range; \"{file}\" has {len(lines)} lines.")
    last = min(len(lines), first + LIST_SIZE - 1)
    for n in range(first, last + 1):
        session.out.line(f"{n}\t{lines[n - 1]}")
    session.last_listed = (file, last)
    session.list_first = first
    session.list_more = True


_info_symbol = parser("info symbol", "The symbol (and offset) an address belongs to.")
_info_symbol.add_argument("addr", type=Text, nargs="+", help="address expression")


@command("info symbol", _info_symbol, category="code")
@needs_symbols
def info_symbol(session, args) -> None:
    addr = session.eval(args.addr) & 0xFFFFFFFF
    found = session.target.program.symbol_at(addr)
    if found is None:
        session.out.line(f"No symbol matches {args.addr}.")
        return
    sym, off = found
    section = f" in section {sym.section}" if sym.section else ""
    session.out.line(f"{sym.name}{f' + {off}' if off else ''}{section}")


_info_line = parser("info line", "The source line of a location and its address range (default: the pc).")
_info_line.add_argument("location", type=Location, nargs="*", help="LOCATION (default: the pc)")


@command("info line", _info_line, category="code")
@needs_symbols
def info_line(session, args) -> None:
    prog = session.target.program
    addr = resolve_location(session, args.location)[0] if args.location else session.target.device.core.pc
    row = prog.line_for(addr)
    if row is None:
        session.out.line(f"No line number information available for address 0x{addr:x}")
        return
    addrs = [r.addr for r in prog.lines if r.file == row.file and r.line == row.line]
    start = min(a for a in addrs if a <= addr) if any(a <= addr for a in addrs) else row.addr
    later = [r.addr for r in prog.lines if r.addr > start and (r.file, r.line) != (row.file, row.line)]
    end = min(later) if later else start + 4
    sym = session.code.symbolic
    session.out.line(f"Line {row.line} of \"{row.file}\" starts at address 0x{start:x} <{sym(start)}> "
                     f"and ends at 0x{end:x} <{sym(end)}>.")


_bt = parser("backtrace", "The call stack, from the s0 frame chain (frame-pointer based: the firmware's\n"
             "ENTER prologue keeps ra at -4(s0) and the caller's s0 at -8(s0)).")
_bt.add_argument("limit", type=int, nargs="?", help="show at most N frames")


@command("backtrace", _bt, category="code", aliases=("bt", "where"))
@needs_symbols
def backtrace(session, args) -> None:
    frames = session.code.frames()
    shown = frames if args.limit is None else frames[:max(0, args.limit)]
    session.out.line("(frame-pointer based backtrace)")
    for f in shown:
        addr = "" if f.level == 0 else f"0x{f.pc:08x} in "
        session.out.line(f"#{f.level:<2} {addr}{f.where()}")
    if len(shown) < len(frames):
        session.out.line("(More stack frames follow...)")


_info_frame = parser("info frame", "The innermost frame: pc, caller, frame pointer, saved registers.")


@command("info frame", _info_frame, category="code", aliases=("i f",))
@needs_symbols
def info_frame(session, args) -> None:
    frames = session.code.frames()
    f = frames[0]
    core = session.target.device.core
    out = session.out
    out.line(f"Stack level 0, frame at 0x{core.regs['s0']:x} (frame-pointer based):")
    out.line(f" pc = 0x{f.pc:x} in {f.function or '??'}" + (f" ({f.file}:{f.line})" if f.file else "")
             + (f"; saved pc = 0x{frames[1].pc:x}" if len(frames) > 1 else ""))
    if len(frames) > 1:
        out.line(f" called by frame at 0x{frames[1].fp or 0:x} ({frames[1].function or '??'})")
    out.line(f" sp = 0x{core.regs['sp']:x}, s0 (frame pointer) = 0x{core.regs['s0']:x}")
    fp = core.regs["s0"]
    if fp:
        out.line(f" Saved registers:\n  ra at 0x{fp - 4:x}, s0 at 0x{fp - 8:x}")
