"""Random RV32IM programs for differential testing of the execution core.

A program is a list of self-contained items (an instruction, a forward branch
with the instructions it may skip, a bounded loop, a load or store into the
data region), so that any item can be dropped while shrinking a failure and the
rest still branches correctly. Choices come from a seeded `random.Random`, one
per program for bulk runs, or one per item when hypothesis draws the seeds (so
that it can shrink a failure item by item). Encodings come from the instruction
table through `isa.spec`; nothing here spells a bit pattern.

Register convention: x30 is the loop counter and x31 points into the middle of
the data region; the generator never writes either, everything else is fair game
(including x0, whose writes must be dropped).
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol

from isa.memmap import region
from isa.spec import instruction_set

CODE_BASE = region("itcm").base
DATA_BASE = region("dtcm").base
DATA_SIZE = 512
CODE_WINDOW = 8 * 1024  # every program is padded with zero words to this size
COUNTER_REG = 30
BASE_REG = 31
BASE_VALUE = DATA_BASE + DATA_SIZE // 2
MAX_ITEMS = 40
MAX_INSNS = 50_000  # budget for one program; generated programs need far fewer

EDGE_WORDS = (0, 1, 2, 31, 32, 33, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFF, 0xFFFFFFFE,
              0x0000FFFF, 0xFFFF8000, 0x00000080, 0xFFFFFF80)
EDGE_IMM12 = (0, 1, -1, 2047, -2048, 31, 32, 0x7F, -0x80)
ALU_RR = ("add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and",
          "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu")
ALU_RI = ("addi", "slti", "sltiu", "xori", "ori", "andi")
SHIFT_I = ("slli", "srli", "srai")
BRANCHES = ("beq", "bne", "blt", "bge", "bltu", "bgeu")
LOADS = {"lb": 1, "lh": 2, "lw": 4, "lbu": 1, "lhu": 2}
STORES = {"sb": 1, "sh": 2, "sw": 4}


class Chooser(Protocol):
    def integer(self, lo: int, hi: int) -> int:
        """A value in lo..hi inclusive."""
        ...


class RandomChooser:
    """Choices from a seeded generator: fast, for bulk runs."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed).random

    def integer(self, lo: int, hi: int) -> int:
        # random() has 53 bits, plenty for 32-bit ranges, and is several times faster than randint.
        return lo + int(self._random() * (hi - lo + 1))


Insn = tuple[str, dict[str, int]]  # (table key, operand values)


@cache
def _match(key: str) -> int:
    return instruction_set().by_key[key].match


@cache
def _field_bits(name: str, value: int) -> int:
    return instruction_set().fields[name].insert(value)


def encode(key: str, values: dict[str, int]) -> int:
    """The table encoder's word, memoised per field value (programs repeat them a lot)."""
    word = _match(key)
    for name, value in values.items():
        word |= _field_bits(name, value)
    return word


@dataclass
class Program:
    """Code items, the initial registers (x0..x31) and the data region's contents."""

    items: list[list[Insn]]
    regs: list[int]
    data: bytes
    seed: int | None = None
    _words: list[int] | None = field(default=None, repr=False)
    _code: bytes | None = field(default=None, repr=False)

    @property
    def insns(self) -> list[Insn]:
        return [insn for item in self.items for insn in item]

    def words(self) -> list[int]:
        if self._words is None:
            self._words = [encode(key, values) for key, values in self.insns]
        return self._words

    def code(self) -> bytes:
        """The code window: the program followed by zero words (illegal instructions)."""
        if self._code is None:
            words = self.words()
            self._code = struct.pack(f"<{len(words)}I", *words) + bytes(CODE_WINDOW - 4 * len(words))
        return self._code

    @property
    def end(self) -> int:
        """Where execution stops: just past the last instruction."""
        return CODE_BASE + 4 * len(self.words())

    def without(self, index: int) -> Program:
        items = self.items[:index] + self.items[index + 1:]
        return Program(items, self.regs, self.data, self.seed)

    def listing(self) -> str:
        lines = [f"seed {self.seed}" if self.seed is not None else "hypothesis program"]
        lines += [f"  x{i} = {v:#010x}" for i, v in enumerate(self.regs) if v]
        addr = CODE_BASE
        for key, values in self.insns:
            ops = ", ".join(f"{k}={v}" for k, v in values.items())
            lines.append(f"  {addr:08x}: {key} {ops}")
            addr += 4
        return "\n".join(lines)


class Generator:
    """Builds one program from a chooser; each `_item_*` returns a self-contained item."""

    def __init__(self, choose: Chooser) -> None:
        self.c = choose
        self._straight_kinds = (
            self._item_alu_rr, self._item_alu_rr, self._item_alu_ri, self._item_shift_i,
            self._item_upper, self._item_constant, self._item_load, self._item_store,
            self._item_indirect)

    # ---- values
    def pick(self, options: tuple | list) -> object:
        return options[self.c.integer(0, len(options) - 1)]

    def word(self) -> int:
        if self.c.integer(0, 2) == 0:
            return int(self.pick(EDGE_WORDS))  # type: ignore[call-overload]
        return self.c.integer(0, 0xFFFFFFFF)

    def imm12(self) -> int:
        if self.c.integer(0, 1) == 0:
            return int(self.pick(EDGE_IMM12))  # type: ignore[call-overload]
        return self.c.integer(-2048, 2047)

    def dest(self) -> int:
        """Any register but the reserved ones; x0 often, to check its writes vanish."""
        return 0 if self.c.integer(0, 9) == 0 else self.c.integer(1, COUNTER_REG - 1)

    def src(self) -> int:
        return self.c.integer(0, 31)

    # ---- items
    def _item_alu_rr(self) -> list[Insn]:
        return [(str(self.pick(ALU_RR)), {"rd": self.dest(), "rs1": self.src(), "rs2": self.src()})]

    def _item_alu_ri(self) -> list[Insn]:
        return [(str(self.pick(ALU_RI)), {"rd": self.dest(), "rs1": self.src(), "imm_i": self.imm12()})]

    def _item_shift_i(self) -> list[Insn]:
        shamt = int(self.pick((0, 1, 31, self.c.integer(0, 31))))  # type: ignore[call-overload]
        return [(str(self.pick(SHIFT_I)), {"rd": self.dest(), "rs1": self.src(), "shamt": shamt})]

    def _item_upper(self) -> list[Insn]:
        imm = int(self.pick((0, 0xFFFFF, 0x80000, self.c.integer(0, 0xFFFFF))))  # type: ignore[call-overload]
        return [(str(self.pick(("lui", "auipc"))), {"rd": self.dest(), "imm_u": imm})]

    def _item_constant(self) -> list[Insn]:
        """lui + addi: put an edge operand (0, -1, INT_MIN, INT_MAX, ...) in a register."""
        rd, value = self.c.integer(1, COUNTER_REG - 1), self.word()
        hi = ((value + 0x800) >> 12) & 0xFFFFF
        lo = ((value - (hi << 12) + 0x800) & 0xFFF) - 0x800
        return [("lui", {"rd": rd, "imm_u": hi}), ("addi", {"rd": rd, "rs1": rd, "imm_i": lo})]

    def _offset(self, width: int) -> int:
        half = DATA_SIZE // 2
        return self.c.integer(-half // width, (half - width) // width) * width

    def _item_load(self) -> list[Insn]:
        key = str(self.pick(tuple(LOADS)))
        return [(key, {"rd": self.dest(), "rs1": BASE_REG, "imm_i": self._offset(LOADS[key])})]

    def _item_store(self) -> list[Insn]:
        key = str(self.pick(tuple(STORES)))
        return [(key, {"rs2": self.src(), "rs1": BASE_REG, "imm_s": self._offset(STORES[key])})]

    def _item_indirect(self) -> list[Insn]:
        """A load or store through a computed base register (addi then access)."""
        tmp = self.c.integer(1, COUNTER_REG - 1)
        shift = self.c.integer(-64, 64) * 4
        if self.c.integer(0, 1):
            key = str(self.pick(tuple(LOADS)))
            off = self._offset(LOADS[key]) - shift
            access = (key, {"rd": self.dest(), "rs1": tmp, "imm_i": off})
        else:
            key = str(self.pick(tuple(STORES)))
            off = self._offset(STORES[key]) - shift
            access = (key, {"rs2": self.src(), "rs1": tmp, "imm_s": off})
        return [("addi", {"rd": tmp, "rs1": BASE_REG, "imm_i": shift}), access]

    def _straight(self) -> list[Insn]:
        kinds = self._straight_kinds
        return kinds[self.c.integer(0, len(kinds) - 1)]()

    def _skipped(self) -> list[Insn]:
        body: list[Insn] = []
        for _ in range(self.c.integer(0, 4)):
            body += self._straight()
        return body

    def _item_branch(self) -> list[Insn]:
        """A forward branch (or jal, or auipc + jalr) over 0..4 straight items."""
        body = self._skipped()
        offset = 4 * (len(body) + 1)
        kind = self.c.integer(0, 5)
        if kind == 0:
            return [("jal", {"rd": self.dest(), "imm_j": offset}), *body]
        if kind == 1:
            tmp = self.c.integer(1, COUNTER_REG - 1)
            return [("auipc", {"rd": tmp, "imm_u": 0}),
                    ("jalr", {"rd": self.dest(), "rs1": tmp, "imm_i": offset + 4}), *body]
        key = str(self.pick(BRANCHES))
        return [(key, {"rs1": self.src(), "rs2": self.src(), "imm_b": offset}), *body]

    def _item_loop(self) -> list[Insn]:
        """counter = n; body; counter -= 1; bnez counter, body."""
        body: list[Insn] = []
        for _ in range(self.c.integer(1, 6)):
            body += self._item_branch() if self.c.integer(0, 3) == 0 else self._straight()
        return [("addi", {"rd": COUNTER_REG, "rs1": 0, "imm_i": self.c.integer(1, 5)}),
                *body,
                ("addi", {"rd": COUNTER_REG, "rs1": COUNTER_REG, "imm_i": -1}),
                ("bne", {"rs1": COUNTER_REG, "rs2": 0, "imm_b": -4 * (len(body) + 1)})]

    def item(self) -> list[Insn]:
        roll = self.c.integer(0, 9)
        if roll == 0:
            return self._item_loop()
        if roll <= 2:
            return self._item_branch()
        return self._straight()

    def program(self, seed: int | None = None) -> Program:
        regs = [0] + [self.word() for _ in range(1, 32)]
        regs[COUNTER_REG] = 0
        regs[BASE_REG] = BASE_VALUE
        data = random.Random(self.c.integer(0, 2**32 - 1)).randbytes(DATA_SIZE)
        items = [self.item() for _ in range(self.c.integer(1, MAX_ITEMS))]
        return Program(items, regs, data, seed)


def from_seed(seed: int) -> Program:
    return Generator(RandomChooser(seed)).program(seed)


def from_parts(regs: list[int], data_seed: int, item_seeds: list[int]) -> Program:
    """A program from hypothesis-drawn parts: x1..x31, the data's seed and one seed per item.

    Hypothesis then shrinks at item granularity (dropping seeds drops items) and
    pulls register values toward zero, while each item stays a uniform draw.
    """
    full = [0, *regs]
    full[COUNTER_REG] = 0
    full[BASE_REG] = BASE_VALUE
    items = [Generator(RandomChooser(seed)).item() for seed in item_seeds]
    return Program(items, full, random.Random(data_seed).randbytes(DATA_SIZE))
