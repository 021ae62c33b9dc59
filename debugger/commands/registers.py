"""CPU and device registers: info registers [csr], info io [BLOCK], io REG, io set, io read.

Views read with `peek` and never change the device; `io read` is the one explicit
read with side effects (clear-on-read, hooks) and says so. Values that changed since
the last stop are highlighted (marked `*` when colour is off).
"""

from __future__ import annotations

from debugger.commands import RegName, Text, command, parser
from debugger.errors import DebuggerError


def _mark(session, text: str, changed: bool) -> str:
    if not changed:
        return text
    return session.out.style(text, "changed") if session.out.color else f"{text} *"


def _natural(session, name: str, value: int) -> str:
    if name in ("pc", "ra"):
        sym = session.code.symbolic(value)
        return f"0x{value:x}" + ("" if sym.startswith("0x") else f" <{sym}>")
    if name in ("sp", "gp", "tp", "s0"):
        return f"0x{value:x}"
    return str(value - (1 << 32) if value >> 31 else value)


_info_regs = parser("info registers", "CPU registers (ABI names, then pc); `csr` for the CSRs, `all` for\n"
                    "both, or name registers.  Values changed since the last stop are highlighted.")
_info_regs.add_argument("names", nargs="*", help="csr, all, or register names (a0 pc mstatus ...)")


@command("info registers", _info_regs, category="registers",
         aliases=("i r", "info reg", "info r", "info all-registers"))
def info_registers(session, args) -> None:
    from isa.registers import register_table

    table = register_table()
    core = session.target.device.core
    before = session.before
    rows: list[tuple[str, int, bool]] = []
    names = [n.lstrip("$").lower() for n in args.names]
    want_gprs = not names or "all" in names
    want_csrs = "csr" in names or "all" in names
    if want_gprs:
        for g in table.gprs:
            rows.append((g.abi, core.regs[g.number], core.regs[g.number] != before["cpu"][g.number]))
        rows.append(("pc", core.pc, core.pc != before["pc"]))
    if want_csrs:
        for c in table.csrs:
            rows.append((c.name, core.csr(c.name), False))
    for n in names:
        if n in ("csr", "all"):
            continue
        rows.append((n, session.register_value(n), False))
    for name, value, changed in rows:
        line = f"{name:<15}0x{value:<16x}{_natural(session, name, value)}"
        session.out.line(_mark(session, line, changed))


def _io_line(session, reg, value: int, changed: bool) -> str:
    rmap = session.target.device.regs.map
    fields = " ".join(f"{fv.field.upper()}={fv.enum if fv.enum else hex(fv.value)}"
                      for fv in rmap.decode(reg.path, value) if len(reg.fields) > 1 or fv.enum)
    text = f"  {reg.display:<28} 0x{value:08x}  {fields}".rstrip()
    return _mark(session, text, changed)


_info_io = parser("info io", "Device registers with decoded fields (peek: no side effects), by block.\n"
                  "Values changed since the last stop are highlighted.")
_info_io.add_argument("blocks", type=RegName, nargs="*", help="register blocks (default: all)")


@command("info io", _info_io, category="registers")
def info_io(session, args) -> None:
    regs = session.target.device.regs
    rmap = regs.map
    blocks = [rmap.block(b) for b in args.blocks.split()] if args.blocks else list(rmap.blocks)
    old = session.before.get("io", {})
    for b in blocks:
        where = "" if b.host_visible else ", firmware only"
        session.out.line(f"{b.display} (offset 0x{b.offset:04x}{where})")
        for reg in b.registers:
            value = regs.peek(reg.path)
            session.out.line(_io_line(session, reg, value, old.get(reg.path, value) != value))


_io = parser("io", "Show one device register or field, decoded and documented (peek: no side effects).")
_io.add_argument("name", type=RegName, help="register or field, e.g. QUEUE0.SQ_TAIL or CTRL.STATE.STATE")


@command("io", _io, category="registers")
def io(session, args) -> None:
    from firmware.hw.regmap import Field

    regs = session.target.device.regs
    found = regs.map.find(args.name)
    if isinstance(found, Field):
        value = found.extract(regs.peek(found.register))
        member = found.enum.name_of(value) if found.enum else None
        session.out.line(f"{found.path.upper()} = 0x{value:x}" + (f" ({member})" if member else "")
                         + f"  bits {found.bits} of {found.register.upper()}  {found.desc}")
        return
    session.out.line(regs.map.describe(found.path, regs.peek(found.path)))


def _value_for(session, field, text: str) -> int:
    if field is not None and field.enum is not None and field.enum.by_name.get(text.strip().lower()):
        return field.enum.by_name[text.strip().lower()].value
    return session.eval(text)


_io_set = parser("io set", "Write a device register or field as the host would (with its side effects,\n"
                 "e.g. CTRL.RUN=0 halts the core); `io set poke REG=V` stores without any semantics.")
_io_set.add_argument("assignment", type=Text, nargs="+", help="[poke] REG[.FIELD]=VALUE (enum names allowed)")


@command("io set", _io_set, category="registers")
def io_set(session, args) -> None:
    from firmware.hw.regmap import Field

    text = args.assignment.strip()
    poke = text.startswith("poke ")
    if poke:
        text = text[5:].strip()
    name, eq, value_text = text.partition("=")
    if not eq:
        raise DebuggerError("io set: expected REG[.FIELD]=VALUE")
    regs = session.target.device.regs
    found = regs.map.find(name.strip())
    field = found if isinstance(found, Field) else None
    value = _value_for(session, field, value_text)
    path = found.register if field is not None else found.path
    if field is not None:
        if not 0 <= value < 1 << field.width:
            raise DebuggerError(f"{field.path.upper()}: {value} does not fit in {field.width} bits")
        new = (regs.peek(path) & ~field.mask) | (value << field.lsb)
    else:
        new = value & 0xFFFFFFFF
    if poke:
        regs.poke(path, new)
    elif field is not None:
        regs.set_field(field.path, value, side="host", origin="debugger")
    else:
        regs.write(path, new, "host", origin="debugger")
    shown = regs.peek(path)
    how = "poked" if poke else "written as the host"
    session.out.line(f"{path.upper()} = 0x{shown:08x} ({how})")


_io_read = parser("io read", "Read a device register as the host does, WITH its side effects\n"
                  "(clear-on-read, read hooks); views such as `io` and `info io` never do this.")
_io_read.add_argument("name", type=RegName, help="register, e.g. HOST_IRQ.STATUS")


@command("io read", _io_read, category="registers")
def io_read(session, args) -> None:
    regs = session.target.device.regs
    reg = regs.map.register(args.name)
    value = regs.read(reg.path, "host", origin="debugger")
    session.out.line(f"{reg.display} = 0x{value:08x} (read with side effects)")
    session.out.line(_io_line(session, reg, value, False).strip())
