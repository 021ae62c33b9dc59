"""CPU registers and CSRs, loaded from `registers.tbl`: names, numbers, gdb numbers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from isa.tables import Problems, parse_int, read_rows

TABLE_FILE = "registers.tbl"
GDB_PC = 32
GDB_CSR_BASE = 65


@dataclass(frozen=True)
class Gpr:
    number: int
    name: str  # x0..x31
    abi: str
    desc: str

    @property
    def gdb_number(self) -> int:
        return self.number


@dataclass(frozen=True)
class Csr:
    number: int
    name: str
    access: str  # "rw" or "ro"
    group: str
    desc: str

    @property
    def gdb_number(self) -> int:
        return GDB_CSR_BASE + self.number


@dataclass(frozen=True)
class Cause:
    """An mcause value: exceptions, and interrupts with bit 31 set."""

    code: int
    name: str  # what people type: "illegal_instruction"
    desc: str  # what reports print: "illegal instruction"

    @property
    def interrupt(self) -> bool:
        return bool(self.code & 0x80000000)


@dataclass(frozen=True)
class RegisterTable:
    gprs: tuple[Gpr, ...]
    csrs: tuple[Csr, ...]
    causes: tuple[Cause, ...] = ()

    def cause(self, code: int) -> Cause | None:
        return next((c for c in self.causes if c.code == code), None)

    def cause_named(self, name: str) -> Cause | None:
        lowered = name.lower().replace("-", "_")
        return next((c for c in self.causes if c.name == lowered), None)

    def exceptions(self) -> tuple[Cause, ...]:
        return tuple(c for c in self.causes if not c.interrupt)

    def gpr_number(self, name: str) -> int | None:
        """x0..x31, ABI names, and `fp` (an alias of s0), case-insensitive."""
        lowered = name.lower()
        if lowered == "fp":
            return 8
        for g in self.gprs:
            if lowered in (g.name, g.abi):
                return g.number
        return None

    def csr_number(self, name: str) -> int | None:
        lowered = name.lower()
        for c in self.csrs:
            if c.name == lowered:
                return c.number
        return None

    def csr_name(self, number: int) -> str | None:
        for c in self.csrs:
            if c.number == number:
                return c.name
        return None

    def abi_name(self, number: int) -> str:
        return self.gprs[number].abi


def load(text: str, filename: str = TABLE_FILE) -> RegisterTable:
    problems = Problems(filename)
    gprs: list[Gpr] = []
    csrs: list[Csr] = []
    causes: list[Cause] = []
    for row in read_rows(text, {"gpr", "csr", "causes"}, problems):
        tokens = row.tokens()
        try:
            if row.section == "gpr":
                gprs.append(Gpr(parse_int(tokens[0]), tokens[1], tokens[2], " ".join(tokens[3:])))
            elif row.section == "causes":
                causes.append(Cause(parse_int(tokens[0]), tokens[1], " ".join(tokens[2:])))
            else:
                csrs.append(Csr(parse_int(tokens[0]), tokens[1], tokens[2], tokens[3],
                                " ".join(tokens[4:])))
        except (IndexError, ValueError):
            problems.add(row.line, "", f"malformed {row.section} row")
    if [g.number for g in gprs] != list(range(32)):
        problems.add(0, "gpr", "the table must list x0..x31 in order")
    if len({c.number for c in csrs}) != len(csrs) or len({c.name for c in csrs}) != len(csrs):
        problems.add(0, "csr", "a CSR number or name is listed twice")
    if len({c.code for c in causes}) != len(causes) or len({c.name for c in causes}) != len(causes):
        problems.add(0, "causes", "a cause code or name is listed twice")
    problems.raise_if_any()
    return RegisterTable(tuple(gprs), tuple(csrs), tuple(causes))


@cache
def register_table() -> RegisterTable:
    text = resources.files("isa").joinpath(TABLE_FILE).read_text(encoding="utf-8")
    return load(text)
