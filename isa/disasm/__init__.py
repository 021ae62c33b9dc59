"""The disassembler: bytes at an address to objdump-style lines, with symbols and source lines.

`disassemble(data, addr, symbols, lines)` is what the debugger's `x/i` and
`disassemble` use; `listing` (in `isa.disasm.listing`) prints a whole ELF
file; `python -m isa.disasm FILE.elf [-S]` is the command line. Decoding goes
on after an invalid or custom word, and nothing here raises on any input.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from isa.disasm.render import Rendered, render


class SymbolLike(Protocol):
    name: str
    value: int
    size: int
    kind: str
    binding: str
    section: str | None


class LineLike(Protocol):
    addr: int
    file: str
    line: int


@dataclass(frozen=True)
class DisasmLine:
    """One instruction (or invalid word) of a disassembly."""

    addr: int
    size: int  # bytes this line covers (4, or fewer for a trailing fragment)
    word: int | None  # the instruction word; None for a trailing fragment
    mnemonic: str  # ".word" / ".byte" for data
    text: str  # objdump style: `jal 1f4 <handle_matmul>`
    source: str  # reassembles to the same word: `jal 0x1f4`
    target: int | None = None  # branch or jump target
    labels: tuple[str, ...] = ()  # symbols that start here, preferred first
    line: LineLike | None = None  # the source line of this address, when known
    bytes_: bytes = field(default=b"", repr=False)


_RANK = {"global": 0, "weak": 1, "local": 2}


class SymbolIndex:
    """Address to `name` / `name+0x10` lookups over a symbol list (objdump's choice of name)."""

    def __init__(self, symbols: Iterable[SymbolLike]) -> None:
        labels = [s for s in symbols if s.kind in ("func", "object", "notype")
                  and s.section and not s.name.startswith("$")]  # $x/$d: GNU mapping symbols
        self._labels = sorted(labels, key=lambda s: (s.value, _RANK.get(s.binding, 3), s.size == 0, s.name))
        self._addrs = [s.value for s in self._labels]

    def starting_at(self, addr: int) -> tuple[str, ...]:
        lo, hi = bisect.bisect_left(self._addrs, addr), bisect.bisect_right(self._addrs, addr)
        return tuple(s.name for s in self._labels[lo:hi])

    def describe(self, addr: int) -> str | None:
        """`name` or `name+0xN` for the nearest symbol at or before `addr` (objdump's rule:
        the nearest label wins over a function that contains it)."""
        i = bisect.bisect_right(self._addrs, addr)
        if i == 0:
            return None
        best = self._labels[bisect.bisect_left(self._addrs, self._addrs[i - 1])]
        offset = addr - best.value
        return best.name if offset == 0 else f"{best.name}+0x{offset:x}"


def disassemble(data: bytes | bytearray | memoryview, addr: int,
                symbols: Iterable[SymbolLike] | None = None,
                lines: Iterable[LineLike] | None = None) -> list[DisasmLine]:
    """Lines for the little-endian words of `data` starting at `addr`."""
    index = SymbolIndex(symbols or ())
    by_addr: dict[int, LineLike] = {}
    for row in lines or ():
        by_addr.setdefault(row.addr, row)
    raw = bytes(data)
    out: list[DisasmLine] = []
    whole = len(raw) - len(raw) % 4
    for off in range(0, whole, 4):
        here = (addr + off) & 0xFFFFFFFF
        word = int.from_bytes(raw[off:off + 4], "little")
        r: Rendered = render(word, here, index.describe)
        out.append(DisasmLine(here, 4, word, r.mnemonic, r.text, r.source, r.target,
                              index.starting_at(here), by_addr.get(here), raw[off:off + 4]))
    if whole < len(raw):
        here = (addr + whole) & 0xFFFFFFFF
        tail = raw[whole:]
        text = ".byte " + ",".join(f"0x{b:02x}" for b in tail)
        out.append(DisasmLine(here, len(tail), None, ".byte", text, text, None,
                              index.starting_at(here), by_addr.get(here), tail))
    return out


__all__ = ["DisasmLine", "SymbolIndex", "disassemble"]
