"""gdb's output formats: `/FMT` letters and unit sizes for `print`, `x` and `display`.

Letters: x hex, d signed decimal, u unsigned decimal, o octal, t binary, c character,
a address (`0x... <symbol+off>`), z zero-padded hex, s string, i instruction. Units:
b (1 byte), h (2), w (4), g (8). `x/NFU` remembers the last letter and unit, as gdb does.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from debugger.errors import DebuggerError

if TYPE_CHECKING:
    from debugger.session import Session

LETTERS = "xduotcazsi"
UNITS = {"b": 1, "h": 2, "w": 4, "g": 8}
PER_LINE = {1: 8, 2: 8, 4: 4, 8: 2}
_FMT = re.compile(r"^(?P<count>-?\d+)?(?P<rest>[a-z]*)$")


def parse_fmt(fmt: str, letter: str, size: int) -> tuple[int, str, int]:
    """`4wx` → (4, "x", 4), with `letter`/`size` as defaults for what is not given."""
    m = _FMT.match(fmt)
    if m is None:
        raise DebuggerError(f"bad format '/{fmt}' (use /NFU: count, format {LETTERS}, unit bhwg)")
    count = int(m["count"]) if m["count"] else 1
    for ch in m["rest"]:
        if ch in UNITS:
            size = UNITS[ch]
        elif ch in LETTERS:
            letter = ch
        else:
            raise DebuggerError(f"bad format letter '{ch}' in '/{fmt}' (formats {LETTERS}, units bhwg)")
    if count <= 0:
        raise DebuggerError(f"bad count {count} in '/{fmt}'")
    return count, letter, size


def _signed(value: int, size: int) -> int:
    bits = 8 * size
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def format_scalar(value: int, letter: str, size: int, session: Session | None = None) -> str:
    mask = (1 << (8 * size)) - 1
    if letter == "x":
        return f"0x{value & mask:x}"
    if letter == "z":
        return f"0x{value & mask:0{2 * size}x}"
    if letter == "d":
        return str(_signed(value, size))
    if letter == "u":
        return str(value & mask)
    if letter == "o":
        v = value & mask
        return f"0{v:o}" if v else "0"
    if letter == "t":
        return f"{value & mask:b}"
    if letter == "c":
        v = _signed(value, 1)
        ch = chr(v & 0xFF)
        shown = ch if ch.isprintable() and v >= 0 and v < 127 else f"\\{v & 0xFF:03o}"
        return f"{v} '{shown}'"
    if letter == "a":
        text = f"0x{value & mask:x}"
        if session is not None:
            sym = session.code.symbolic(value & mask)
            if not sym.startswith("0x"):
                text += f" <{sym}>"
        return text
    raise DebuggerError(f"format letter '{letter}' does not apply to a value")


def _label(session: Session, addr: int) -> str:
    sym = session.code.symbolic(addr) if session.target.program.symbols else f"0x{addr:08x}"
    return f"0x{addr:08x}" + ("" if sym.startswith("0x") else f" <{sym}>")


def examine(session: Session, addr: int, count: int, letter: str, size: int) -> tuple[list[str], int]:
    """The lines of `x/{count}{letter}{size} addr` and the address after the last item."""
    if letter == "i":
        return _instructions(session, addr, count)
    if letter == "s":
        return _strings(session, addr, count)
    if letter == "c":
        size = 1
    out: list[str] = []
    per = PER_LINE[size]
    data = session.read_memory(addr, count * size)
    for first in range(0, count, per):
        items = []
        for k in range(first, min(count, first + per)):
            value = int.from_bytes(data[k * size:(k + 1) * size], "little")
            items.append(format_scalar(value, letter if letter != "x" else "z", size, session)
                         if letter in "xz" else format_scalar(value, letter, size, session))
        out.append(f"{_label(session, addr + first * size)}:\t" + "\t".join(items))
    return out, addr + count * size


def _strings(session: Session, addr: int, count: int) -> tuple[list[str], int]:
    out = []
    for _ in range(count):
        raw = bytearray()
        while len(raw) < 4096:
            b = session.read_memory(addr + len(raw), 1)
            if b == b"\0":
                break
            raw += b
        text = raw.decode("latin-1").encode("unicode_escape").decode("ascii").replace('"', '\\"')
        out.append(f"{_label(session, addr)}:\t\"{text}\"")
        addr += len(raw) + 1
    return out, addr


def _instructions(session: Session, addr: int, count: int) -> tuple[list[str], int]:
    from isa.disasm import disassemble

    addr &= ~3
    prog = session.target.program
    lines = disassemble(session.read_memory(addr, 4 * count), addr, prog.symbols, ())
    pc = session.target.device.core.pc
    out = []
    for d in lines:
        marker = "=> " if d.addr == pc else "   "
        text = f"{marker}{_label(session, d.addr)}:\t{d.text}"
        out.append(session.out.style(text, "pc") if d.addr == pc else text)
    return out, addr + 4 * count
