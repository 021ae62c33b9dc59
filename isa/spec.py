"""The instruction set, loaded from `instructions.tbl` and validated on load.

This module owns the model every other part derives from: operand fields,
instructions with their match/mask, aliases, Xnpu pipes and cfg registers.
Validation rules (each reported as `instructions.tbl:LINE: error: NAME: ...`):
every bit of a row is assigned exactly once, fixed values fit their bits,
operand fields exist, the major opcode (bits 6..0) is fixed, base rows do not
overlap, and an alias refines its base by fixing whole operand fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from isa.errors import EncodeError
from isa.tables import Problems, Row, parse_int, parse_range, read_rows

TABLE_FILE = "instructions.tbl"
FIELD_KINDS = ("reg", "simm", "uimm", "pcrel", "csr", "fence", "pipe", "cfg")
_FIXED = re.compile(r"^\d+(\.\.\d+)?=\S+$")
_PIECE = re.compile(r"^\d+(\.\.\d+)?:\d+(\.\.\d+)?$")


def _bits(hi: int, lo: int) -> int:
    return ((1 << (hi - lo + 1)) - 1) << lo


@dataclass(frozen=True)
class Piece:
    """Value bits vhi..vlo live in instruction bits ihi..ilo."""

    vhi: int
    vlo: int
    ihi: int
    ilo: int


@dataclass(frozen=True)
class Field:
    """An operand field: where its value lives in the word and how it is read."""

    name: str
    kind: str
    pieces: tuple[Piece, ...]
    desc: str
    line: int

    @property
    def mask(self) -> int:
        m = 0
        for p in self.pieces:
            m |= _bits(p.ihi, p.ilo)
        return m

    @property
    def width(self) -> int:
        """Number of value bits, counting from bit 0 (implicit low zeros included)."""
        return max(p.vhi for p in self.pieces) + 1

    @property
    def align(self) -> int:
        """The value must be a multiple of this (pc-relative offsets skip bit 0)."""
        return 1 << min(p.vlo for p in self.pieces)

    @property
    def signed(self) -> bool:
        return self.kind in ("simm", "pcrel")

    def value_range(self) -> tuple[int, int]:
        if self.signed:
            return -(1 << (self.width - 1)), (1 << (self.width - 1)) - 1
        return 0, (1 << self.width) - 1

    def fits(self, value: int) -> bool:
        lo, hi = self.value_range()
        return lo <= value <= hi and value % self.align == 0

    def extract(self, word: int) -> int:
        value = 0
        for p in self.pieces:
            chunk = (word >> p.ilo) & ((1 << (p.ihi - p.ilo + 1)) - 1)
            value |= chunk << p.vlo
        if self.signed and value & (1 << (self.width - 1)):
            value -= 1 << self.width
        return value

    def insert(self, value: int) -> int:
        """Bits of the word for `value`; raises EncodeError when it does not fit."""
        if not self.fits(value):
            lo, hi = self.value_range()
            rule = f"{lo}..{hi}" + (f", a multiple of {self.align}" if self.align > 1 else "")
            raise EncodeError(f"{self.name} value {value} out of range ({rule})")
        raw = value & ((1 << self.width) - 1)
        word = 0
        for p in self.pieces:
            chunk = (raw >> p.vlo) & ((1 << (p.vhi - p.vlo + 1)) - 1)
            word |= chunk << p.ilo
        return word


@dataclass(frozen=True)
class Pipe:
    id: int
    name: str
    desc: str


@dataclass(frozen=True)
class CfgReg:
    index: int
    name: str
    reset: int
    desc: str
    readonly: bool


@dataclass(frozen=True)
class Instruction:
    """A row of the table: a base instruction, or an alias of one."""

    mnemonic: str
    ext: str
    operands: tuple[str, ...]  # field names in the order they are written
    syntax: str  # e.g. "rd,imm_i(rs1)"; "" for none
    match: int
    mask: int
    pipe: str  # "-", a pipe name, or an operand field naming the pipe
    desc: str
    line: int
    base: str | None = None  # for aliases: the base mnemonic
    use: str = "both"  # aliases: "both" or "asm" (assembler only)
    fixed_fields: tuple[tuple[str, int], ...] = ()  # aliases: base fields it fixes

    @property
    def key(self) -> str:
        """The identifier form of the mnemonic: `npu.mmad` -> `npu_mmad`."""
        return self.mnemonic.replace(".", "_")

    @property
    def is_alias(self) -> bool:
        return self.base is not None

    @property
    def is_xnpu(self) -> bool:
        return self.ext == "xnpu"

    def matches(self, word: int) -> bool:
        return word & self.mask == self.match


@dataclass
class InstructionSet:
    """Everything the table says, indexed for the assembler, decoder and docs."""

    fields: dict[str, Field] = field(default_factory=dict)
    pipes: dict[int, Pipe] = field(default_factory=dict)
    cfg: dict[int, CfgReg] = field(default_factory=dict)
    instructions: list[Instruction] = field(default_factory=list)
    aliases: list[Instruction] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._index()

    def _index(self) -> None:
        self.by_key = {i.key: i for i in self.instructions}
        self.by_mnemonic: dict[str, list[Instruction]] = {}
        for row in self.instructions + self.aliases:
            self.by_mnemonic.setdefault(row.mnemonic, []).append(row)
        self.pipe_by_name = {p.name: p for p in self.pipes.values()}
        self.cfg_by_name = {c.name: c for c in self.cfg.values()}
        self._by_opcode: dict[int, list[Instruction]] = {}
        for insn in self.instructions:
            self._by_opcode.setdefault(insn.match & 0x7F, []).append(insn)
        self._aliases_of: dict[str, list[Instruction]] = {}
        for alias in self.aliases:
            if alias.use == "both":
                self._aliases_of.setdefault(alias.base or "", []).append(alias)

    def decode(self, word: int) -> Instruction | None:
        """The base instruction that `word` encodes, or None when it is invalid."""
        for insn in self._by_opcode.get(word & 0x7F, ()):
            if word & insn.mask == insn.match:
                return insn
        return None

    def preferred_form(self, word: int) -> Instruction | None:
        """The row a disassembler prints: the first matching alias in table order, else the base."""
        base = self.decode(word)
        if base is None:
            return None
        for alias in self._aliases_of.get(base.mnemonic, ()):
            if alias.matches(word):
                return alias
        return base

    def operand_values(self, row: Instruction, word: int) -> dict[str, int]:
        """The values of `row`'s written operands in `word`."""
        return {name: self.fields[name].extract(word) for name in row.operands}

    def encode(self, row: Instruction, values: dict[str, int]) -> int:
        """The word for `row` with operand `values`; raises EncodeError naming the field."""
        missing = [name for name in row.operands if name not in values]
        if missing:
            raise EncodeError(f"{row.mnemonic}: missing operand {', '.join(missing)}")
        word = row.match
        for name in row.operands:
            try:
                word |= self.fields[name].insert(values[name])
            except EncodeError as exc:
                raise EncodeError(f"{row.mnemonic}: {exc}") from None
        return word

    def xnpu(self) -> list[Instruction]:
        return [i for i in self.instructions if i.is_xnpu]


# ---------------------------------------------------------------- loading


def _parse_field(row: Row, problems: Problems) -> Field | None:
    tokens = row.tokens()
    if len(tokens) < 3:
        problems.add(row.line, "", "field row needs: name kind pieces... description")
        return None
    name, kind = tokens[0], tokens[1]
    if kind not in FIELD_KINDS:
        problems.add(row.line, name, f"unknown field kind '{kind}' (one of {', '.join(FIELD_KINDS)})")
        return None
    pieces: list[Piece] = []
    rest = tokens[2:]
    while rest and _PIECE.match(rest[0]):
        value_text, insn_text = rest.pop(0).split(":")
        vhi, vlo = parse_range(value_text)
        ihi, ilo = parse_range(insn_text)
        if vhi - vlo != ihi - ilo:
            problems.add(row.line, name, f"piece {value_text}:{insn_text} has unequal widths")
            return None
        if ihi > 31:
            problems.add(row.line, name, f"instruction bit {ihi} is beyond bit 31")
            return None
        pieces.append(Piece(vhi, vlo, ihi, ilo))
    if not pieces:
        problems.add(row.line, name, "field has no pieces (valuebits:instbits)")
        return None
    seen_value = seen_insn = 0
    for p in pieces:
        if seen_value & _bits(p.vhi, p.vlo):
            problems.add(row.line, name, "a value bit is given twice")
            return None
        if seen_insn & _bits(p.ihi, p.ilo):
            problems.add(row.line, name, "an instruction bit is given twice")
            return None
        seen_value |= _bits(p.vhi, p.vlo)
        seen_insn |= _bits(p.ihi, p.ilo)
    return Field(name, kind, tuple(pieces), " ".join(rest), row.line)


def _parse_fixed(tokens: list[str], row: Row, subject: str, problems: Problems) -> tuple[int, int]:
    """Fixed-bit tokens `hi..lo=value` as (match, mask); problems for bad ones."""
    match = mask = 0
    for token in tokens:
        range_text, value_text = token.split("=", 1)
        try:
            hi, lo = parse_range(range_text)
            value = parse_int(value_text)
        except ValueError as exc:
            problems.add(row.line, subject, f"bad fixed bits '{token}': {exc}")
            continue
        if hi > 31:
            problems.add(row.line, subject, f"fixed bits '{token}' go beyond bit 31")
            continue
        if value < 0 or value >= 1 << (hi - lo + 1):
            problems.add(row.line, subject, f"value {value_text} does not fit in bits {range_text}")
            continue
        bits = _bits(hi, lo)
        if mask & bits:
            problems.add(row.line, subject, f"bits {range_text} are fixed twice")
            continue
        mask |= bits
        match |= value << lo
    return match, mask


def _parse_operands(text: str, row: Row, subject: str, fields: dict[str, Field],
                    problems: Problems) -> tuple[tuple[str, ...], str] | None:
    if text == "-":
        return (), ""
    names = re.findall(r"[a-z_][a-z0-9_]*", text)
    if re.sub(r"[a-z_][a-z0-9_]*|[,()]", "", text):
        problems.add(row.line, subject, f"bad operand list '{text}'")
        return None
    for name in names:
        if name not in fields:
            problems.add(row.line, subject, f"unknown field '{name}' in operands")
            return None
    if len(set(names)) != len(names):
        problems.add(row.line, subject, "an operand field is written twice")
        return None
    return tuple(names), text


def _split_row(tokens: list[str], leading: int) -> tuple[list[str], list[str], list[str]]:
    """(leading tokens, fixed-bit tokens, trailing tokens); `-` stands for no fixed bits."""
    head, rest = tokens[:leading], tokens[leading:]
    fixed: list[str] = []
    if rest and rest[0] == "-":
        rest = rest[1:]
    else:
        while rest and _FIXED.match(rest[0]):
            fixed.append(rest.pop(0))
    return head, fixed, rest


def _parse_instruction(row: Row, iset: InstructionSet, problems: Problems) -> Instruction | None:
    head, fixed, tail = _split_row(row.tokens(), 3)
    subject = head[0] if head else ""
    if len(head) != 3 or not tail:
        problems.add(row.line, subject, "row needs: mnemonic ext operands fixed-bits pipe description")
        return None
    mnemonic, ext, operand_text = head
    parsed = _parse_operands(operand_text, row, mnemonic, iset.fields, problems)
    if parsed is None:
        return None
    operands, syntax = parsed
    match, mask = _parse_fixed(fixed, row, mnemonic, problems)
    pipe = tail[0]
    if pipe != "-" and pipe not in iset.pipe_by_name and pipe not in operands:
        problems.add(row.line, mnemonic, f"pipe '{pipe}' is neither a pipe nor an operand")
    assigned = mask
    for name in operands:
        bits = iset.fields[name].mask
        if assigned & bits:
            problems.add(row.line, mnemonic, f"field {name} overlaps bits assigned before it")
        assigned |= bits
    if assigned != 0xFFFFFFFF:
        problems.add(row.line, mnemonic, f"bits not assigned: {_describe_bits(~assigned & 0xFFFFFFFF)}")
    if mask & 0x7F != 0x7F:
        problems.add(row.line, mnemonic, "the major opcode (bits 6..0) must be fixed")
    desc = "\n".join([" ".join(tail[1:]), *row.more]).strip()
    return Instruction(mnemonic, ext, operands, syntax, match, mask, pipe, desc, row.line)


def _parse_alias(row: Row, iset: InstructionSet, problems: Problems) -> Instruction | None:
    head, fixed, tail = _split_row(row.tokens(), 3)
    subject = head[0] if head else ""
    if len(head) != 3 or not tail:
        problems.add(row.line, subject, "alias row needs: mnemonic base operands fixed-bits use description")
        return None
    mnemonic, base_name, operand_text = head
    base = next((i for i in iset.instructions if i.mnemonic == base_name), None)
    if base is None:
        problems.add(row.line, mnemonic, f"unknown base instruction '{base_name}'")
        return None
    parsed = _parse_operands(operand_text, row, mnemonic, iset.fields, problems)
    if parsed is None:
        return None
    operands, syntax = parsed
    use = tail[0]
    if use not in ("both", "asm"):
        problems.add(row.line, mnemonic, f"use must be 'both' or 'asm', not '{use}'")
    for name in operands:
        if name not in base.operands:
            problems.add(row.line, mnemonic, f"operand {name} is not a field of {base.mnemonic}")
            return None
    match, mask = _parse_fixed(fixed, row, mnemonic, problems)
    fixed_fields: list[tuple[str, int]] = []
    covered = 0
    for name in base.operands:
        f = iset.fields[name]
        if mask & f.mask == f.mask:
            if name in operands:
                problems.add(row.line, mnemonic, f"field {name} is both fixed and an operand")
            fixed_fields.append((name, f.extract(match)))
            covered |= f.mask
        elif mask & f.mask:
            problems.add(row.line, mnemonic, f"fixed bits cover only part of field {name}")
        elif name not in operands:
            problems.add(row.line, mnemonic,
                         f"field {name} of {base.mnemonic} is neither fixed nor an operand")
    if mask & ~covered:
        stray = _describe_bits(mask & ~covered)
        problems.add(row.line, mnemonic, f"fixed bits {stray} are not operand fields of {base.mnemonic}")
    desc = "\n".join([" ".join(tail[1:]), *row.more]).strip()
    return Instruction(mnemonic, base.ext, operands, syntax, base.match | match, base.mask | mask,
                       base.pipe, desc, row.line, base=base.mnemonic, use=use,
                       fixed_fields=tuple(fixed_fields))


def _describe_bits(bits: int) -> str:
    runs, bit = [], 31
    while bit >= 0:
        if bits >> bit & 1:
            hi = bit
            while bit >= 0 and bits >> bit & 1:
                bit -= 1
            runs.append(f"{hi}..{bit + 1}" if hi != bit + 1 else str(hi))
        else:
            bit -= 1
    return " ".join(runs)


def _check_overlaps(iset: InstructionSet, problems: Problems) -> None:
    rows = iset.instructions
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            common = a.mask & b.mask
            if a.match & common == b.match & common:
                problems.add(b.line, b.mnemonic, f"encoding overlaps {a.mnemonic} (line {a.line})")


def _parse_simple(row: Row, columns: int, problems: Problems, what: str) -> list[str] | None:
    tokens = row.tokens()
    if len(tokens) < columns:
        problems.add(row.line, "", f"{what} row needs at least {columns} columns")
        return None
    return tokens


def load(text: str, filename: str = TABLE_FILE) -> InstructionSet:
    """Parse and validate a table; raises SpecError listing every problem."""
    problems = Problems(filename)
    rows = read_rows(text, {"fields", "pipes", "cfg", "instructions", "aliases"}, problems)
    iset = InstructionSet()
    for row in (r for r in rows if r.section == "fields"):
        f = _parse_field(row, problems)
        if f and f.name in iset.fields:
            problems.add(row.line, f.name, "field declared twice")
        elif f:
            iset.fields[f.name] = f
    for row in (r for r in rows if r.section == "pipes"):
        tokens = _parse_simple(row, 2, problems, "pipe")
        if tokens:
            pipe = Pipe(parse_int(tokens[0]), tokens[1], " ".join(tokens[2:]))
            if pipe.id in iset.pipes or any(p.name == pipe.name for p in iset.pipes.values()):
                problems.add(row.line, pipe.name, "pipe id or name declared twice")
            iset.pipes[pipe.id] = pipe
    for row in (r for r in rows if r.section == "cfg"):
        tokens = _parse_simple(row, 3, problems, "cfg")
        if tokens:
            desc = " ".join(tokens[3:])
            reg = CfgReg(parse_int(tokens[0]), tokens[1], parse_int(tokens[2]), desc,
                         desc.startswith("read-only"))
            if reg.index in iset.cfg or any(c.name == reg.name for c in iset.cfg.values()):
                problems.add(row.line, reg.name, "cfg index or name declared twice")
            iset.cfg[reg.index] = reg
    iset._index()
    seen: set[str] = set()
    for row in (r for r in rows if r.section == "instructions"):
        insn = _parse_instruction(row, iset, problems)
        if insn is None:
            continue
        if insn.mnemonic in seen:
            problems.add(row.line, insn.mnemonic, "mnemonic declared twice")
        seen.add(insn.mnemonic)
        iset.instructions.append(insn)
    _check_overlaps(iset, problems)
    alias_keys: set[tuple[str, int]] = {(i.mnemonic, len(i.operands)) for i in iset.instructions}
    for row in (r for r in rows if r.section == "aliases"):
        alias = _parse_alias(row, iset, problems)
        if alias is None:
            continue
        key = (alias.mnemonic, len(alias.operands))
        if key in alias_keys:
            problems.add(row.line, alias.mnemonic, f"another row is also {alias.mnemonic} with "
                         f"{len(alias.operands)} operands")
        alias_keys.add(key)
        iset.aliases.append(alias)
    problems.raise_if_any()
    iset._index()
    return iset


@cache
def instruction_set() -> InstructionSet:
    """The project's instruction set (loaded once)."""
    text = resources.files("isa").joinpath(TABLE_FILE).read_text(encoding="utf-8")
    return load(text)
