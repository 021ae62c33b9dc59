"""Pass 2: place sections, evaluate every expression at its final address, encode, build the image.

Range checks live here because only now are addresses known: immediates that
do not fit, branch and jump targets too far or not 4-byte aligned, data values
too wide for their directive, non-zero bytes in a nobits section.
"""

from __future__ import annotations

from isa.asm.assembler import Assembler
from isa.asm.diagnostics import LineError, Loc
from isa.asm.expr import Context, Node, Value, evaluate, hi20, lo12
from isa.asm.layout import place, rule_for
from isa.asm.program import Blob, Data, Expr, Insn, SectionState
from isa.errors import EncodeError
from isa.image import LineRow, ObjectImage, Section
from isa.memmap import memory_map
from isa.spec import Field, instruction_set


class Pass2Context(Context):
    """Final values: every label is an absolute address."""

    def __init__(self, linker: Linker, dot: Value, pc: int) -> None:
        self.linker, self._dot, self.pc = linker, dot, pc

    def symbol(self, name: str, pos: int) -> Value:
        return Value(None, self.linker.symbol_value(name, pos))

    def dot(self) -> Value:
        return Value(None, self.linker.absolute(self._dot))

    def modifier(self, name: str, arg: Node, pos: int) -> int:
        value = evaluate(arg, self)
        if name == "hi":
            return hi20(value.offset)
        if name == "lo":
            return lo12(value.offset)
        if name == "pcrel_hi":
            return hi20(value.offset - self.pc)
        return lo12(self.linker.pcrel_delta(value.offset, pos))


class Linker:
    """Resolves the program after pass 1 into an ObjectImage."""

    def __init__(self, asm: Assembler) -> None:
        self.asm = asm
        self.base: dict[str, int] = {}
        self.insn_at: dict[int, Insn] = {}
        self._evaluating: set[str] = set()

    def absolute(self, v: Value) -> int:
        return v.offset if v.section is None else self.base[v.section] + v.offset

    def symbol_value(self, name: str, pos: int) -> int:
        sym = self.asm.symbols.get(name)
        if sym is None:
            if "\x02" in name:
                label = name[2:].split("\x02")[0]
                raise LineError(f"no local label {label}: after this reference", pos)
            raise LineError(f"undefined symbol '{name}'", pos)
        if sym.value is not None:
            return self.absolute(sym.value)
        assert sym.expr is not None
        if name in self._evaluating:
            raise LineError(f"symbol '{name}' is defined in terms of itself", pos)
        self._evaluating.add(name)
        try:
            return self.value(sym.expr)
        except LineError as exc:  # point at this use, not into the symbol's own definition
            raise LineError(exc.message, pos) from None
        finally:
            self._evaluating.discard(name)

    def value(self, e: Expr, pc: int = 0) -> int:
        try:
            return evaluate(e.node, Pass2Context(self, e.dot, pc)).offset
        except RecursionError:
            raise LineError("symbol definitions nested too deeply", 0) from None

    def pcrel_delta(self, anchor: int, pos: int) -> int:
        """The full offset of the %pcrel_hi in the auipc at `anchor` (what %pcrel_lo completes)."""
        insn = self.insn_at.get(anchor)
        hi = None
        if insn is not None:
            for v in insn.fields.values():
                if isinstance(v, Expr) and v.node.kind == "mod" and v.node.name == "pcrel_hi":
                    hi = v
        if hi is None:
            raise LineError(f"%pcrel_lo must name the label of an auipc with %pcrel_hi (none at {anchor:#x})",
                            pos)
        return self.value(Expr(hi.node.args[0], hi.loc, hi.dot, hi.in_expansion), anchor) - anchor

    # ------------------------------------------------------------ layout and encoding

    def layout(self) -> None:
        used = [s for s in self.asm.sections.values() if s.size or s.name == ".text"]
        addrs, problems = place([(s.name, s.size, s.align, s.nobits) for s in used])
        self.base = addrs
        regions = {r.name: r.base for r in memory_map()}
        for sec in self.asm.sections.values():
            self.base.setdefault(sec.name, regions[rule_for(sec.name).region])
        for message in problems:
            first = next((s for s in used if message.startswith(f"section {s.name} ")), None)
            loc = first.items[0].loc if first and first.items else Loc("<layout>", 0, 0)
            self.asm.diag.error(loc, message)
        for sec in used:
            for item in sec.items:
                if isinstance(item, Insn):
                    self.insn_at[self.base[sec.name] + item.offset] = item

    def encode_section(self, sec: SectionState, lines: list[LineRow]) -> bytearray:
        out = bytearray(sec.size)
        base = self.base[sec.name]
        for item in sec.items:
            addr = base + item.offset
            try:
                if isinstance(item, Insn):
                    word = self.encode(item, addr)
                    out[item.offset:item.offset + 4] = word.to_bytes(4, "little")
                    lines.append(LineRow(addr, item.loc.file, item.loc.line, item.loc.col))
                elif isinstance(item, Data):
                    out[item.offset:item.offset + item.size] = self.data(item)
                elif isinstance(item, Blob):
                    out[item.offset:item.offset + item.size] = item.data
            except LineError as exc:
                self.asm.diag.error(_at(item.loc, exc), exc.message)
        if sec.nobits and any(out):
            first = next(i for i in sec.items if any(out[i.offset:i.offset + i.size]))
            self.asm.diag.error(first.loc, f"section {sec.name} holds no data; only zeros may go in it")
        return out

    def data(self, item: Data) -> bytes:
        bits = 8 * item.width
        out = bytearray()
        for e in item.exprs:
            try:
                v = self.value(e)
            except LineError as exc:
                raise LineError(exc.message, _col(e, exc)) from None
            if not -(1 << (bits - 1)) <= v < 1 << bits:
                raise LineError(f"value {v:#x} does not fit in {item.width} byte{'s' * (item.width > 1)}",
                                e.loc.col)
            out += (v & ((1 << bits) - 1)).to_bytes(item.width, "little")
        return bytes(out) * item.repeat

    def encode(self, insn: Insn, pc: int) -> int:
        iset = instruction_set()
        values: dict[str, int] = {}
        for name, raw in insn.fields.items():
            if isinstance(raw, int):
                values[name] = raw
                continue
            try:
                v = self.value(raw, pc)
            except LineError as exc:
                raise LineError(exc.message, _col(raw, exc)) from None
            values[name] = self.check(insn, iset.fields[name], v, pc, raw)
        try:
            return iset.encode(insn.row, values)
        except EncodeError as exc:
            raise LineError(str(exc), insn.loc.col) from None

    def check(self, insn: Insn, f: Field, v: int, pc: int, e: Expr) -> int:
        """`v` as the field's value, or a LineError saying why it cannot be."""
        mnemonic = insn.row.mnemonic
        if f.kind == "pcrel":
            target = v & 0xFFFFFFFF
            offset = target - pc
            if target % 4:
                raise LineError(f"{mnemonic} target {target:#x} is not 4-byte aligned", e.loc.col)
            lo, hi = f.value_range()
            if not lo <= offset <= hi:
                reach = (hi + 1) // 1024
                raise LineError(f"{mnemonic} target {target:#x} is too far from {pc:#x} "
                                f"(offset {offset}, reach ±{reach} KiB)", e.loc.col)
            return offset
        lo, hi = f.value_range()
        if lo <= v <= hi:
            return v
        what = {"shamt": "shift amount", "csr": "CSR number", "pipe": "pipe id", "cfg": "cfg index",
                "uimm": "immediate", "simm": "immediate"}.get(f.kind if f.name != "shamt" else "shamt",
                                                               "value")
        raise LineError(f"{what} {v} out of range for {mnemonic} ({lo}..{hi})", e.loc.col)


def _col(e: Expr, exc: LineError) -> int:
    return e.loc.col if e.in_expansion else e.loc.col + (exc.col or 0)


def _at(loc: Loc, exc: LineError) -> Loc:
    return loc.at(exc.col) if exc.col else loc


def link(asm: Assembler) -> ObjectImage:
    """The image of an assembled program (diagnostics go to asm.diag)."""
    linker = Linker(asm)
    linker.layout()
    image = ObjectImage(manifest=asm.manifest)
    for sec in asm.sections.values():
        if not sec.size and sec.name != ".text":
            continue
        data = linker.encode_section(sec, image.lines)
        image.sections.append(Section(sec.name, linker.base[sec.name], bytearray() if sec.nobits else data,
                                      sec.size, sec.flags, sec.nobits))
    image.sections.sort(key=lambda s: s.addr)
    image.lines.sort(key=lambda r: r.addr)
    from isa.asm.symbols import build_symbols, entry_point
    image.symbols = build_symbols(asm, linker)
    image.entry = entry_point(asm, linker)
    return image
