"""The NPU register map as loaded from `regmap.json` (compiled from `npu.rdl`).

Owns the model every reader shares — blocks, registers, fields, enums — and the lookups
people and code use: paths as the RDL spells them (`queue0.sq_tail`), display names
(`QUEUE0.SQ_TAIL`, input case-insensitive), offsets and MMIO addresses, field
decode/encode and a text description for the debugger. Loads JSON only; the SystemRDL
compiler runs in `scripts/gen_regmap.py`, never at import.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from typing import NamedTuple

from isa.errors import NpuError

ARTIFACT = "regmap.json"
SIDES = ("host", "firmware", "unit")

# Friendly names of the RDL side-effect properties, as docs and the debugger show them.
EFFECT_NAMES = {
    "woclr": "w1c",
    "woset": "w1s",
    "wclr": "clear-on-write",
    "wset": "set-on-write",
    "rclr": "clear-on-read",
    "rset": "set-on-read",
    "singlepulse": "strobe",
}


class RegisterError(NpuError):
    """A register or field name, offset or value that the map does not have."""


def display_name(path: str) -> str:
    """How people read a path: `queue0.sq_tail` → `QUEUE0.SQ_TAIL`."""
    return path.upper()


def canonical(name: str) -> str:
    """How code spells a path: any case → the RDL's instance names."""
    return name.strip().lower()


def constant_name(path: str) -> str:
    """A path as a C-style constant: `queue0.sq_tail` → `QUEUE0_SQ_TAIL`.

    Array indices join the name (`errlog.entry[2].pc` → `ERRLOG_ENTRY2_PC`); the SVD
    export names registers the same way, without the block prefix.
    """
    return path.upper().replace("[", "").replace("]", "").replace(".", "_")


@dataclass(frozen=True)
class EnumValue:
    name: str
    value: int
    desc: str


@dataclass(frozen=True)
class Enum:
    name: str
    values: tuple[EnumValue, ...]

    @cached_property
    def by_name(self) -> dict[str, EnumValue]:
        return {v.name: v for v in self.values}

    @cached_property
    def by_value(self) -> dict[int, EnumValue]:
        return {v.value: v for v in self.values}

    def name_of(self, value: int) -> str | None:
        member = self.by_value.get(value)
        return member.name if member else None


@dataclass(frozen=True)
class Field:
    """One field; `host` and `fw` are that side's rights: "rw", "r", "w" or "na"."""

    name: str
    register: str  # path of the register holding it
    lsb: int
    width: int
    reset: int
    sw: str
    host: str
    fw: str
    onread: str | None
    onwrite: str | None
    singlepulse: bool
    enum: Enum | None
    desc: str

    @property
    def path(self) -> str:
        return f"{self.register}.{self.name}"

    @property
    def msb(self) -> int:
        return self.lsb + self.width - 1

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lsb

    @property
    def bits(self) -> str:
        return f"{self.msb}:{self.lsb}" if self.width > 1 else str(self.lsb)

    def rights(self, side: str) -> str:
        """The field's rights for one side; a unit (hardware) may read and write any field."""
        if side == "host":
            return self.host
        if side == "firmware":
            return self.fw
        return "rw"

    def extract(self, value: int) -> int:
        return (value >> self.lsb) & ((1 << self.width) - 1)

    @property
    def effects(self) -> tuple[str, ...]:
        raw = (self.onwrite, self.onread, "singlepulse" if self.singlepulse else None)
        return tuple(EFFECT_NAMES[e] for e in raw if e)


@dataclass(frozen=True)
class Register:
    path: str
    block: str
    offset: int
    address: int  # the control core's MMIO address
    width: int
    reset: int
    sw: str
    host: str
    fw: str
    host_visible: bool
    side_effects: tuple[str, ...]
    effect: str
    desc: str
    fields: tuple[Field, ...] = ()

    @property
    def name(self) -> str:
        return self.path.split(".", 1)[1]

    @property
    def display(self) -> str:
        return display_name(self.path)

    @cached_property
    def defined_mask(self) -> int:
        """Bits that belong to a field; the rest are reserved (read 0, writes ignored)."""
        mask = 0
        for f in self.fields:
            mask |= f.mask
        return mask

    def field_named(self, name: str) -> Field | None:
        lowered = canonical(name)
        for f in self.fields:
            if f.name == lowered:
                return f
        return None


@dataclass(frozen=True)
class Block:
    name: str
    offset: int
    size: int
    host_visible: bool
    desc: str
    registers: tuple[Register, ...] = field(default=(), repr=False)

    @property
    def display(self) -> str:
        return display_name(self.name)


class FieldValue(NamedTuple):
    """One decoded field: its name, its value, and the enum member's name if it has one."""

    field: str
    value: int
    enum: str | None


class RegisterMap:
    """Every register of the NPU, with lookups by path, display name, offset and address."""

    def __init__(self, data: dict, mmio_base: int) -> None:
        self.name: str = data["name"]
        self.desc: str = data["desc"]
        self.span: int = data["span"]
        self.mmio_base = mmio_base
        self.enums: dict[str, Enum] = {
            name: Enum(name, tuple(EnumValue(v["name"], v["value"], v["desc"]) for v in e["values"]))
            for name, e in data["enums"].items()
        }
        self.registers: tuple[Register, ...] = tuple(self._register(r) for r in data["registers"])
        self.blocks: tuple[Block, ...] = tuple(
            Block(
                b["name"], b["offset"], b["size"], b["host_visible"], b["desc"],
                tuple(r for r in self.registers if r.block == b["name"]),
            )
            for b in data["blocks"]
        )
        self._by_path = {r.path: r for r in self.registers}
        self._by_offset = {r.offset: r for r in self.registers}
        self._fields = {f.path: f for r in self.registers for f in r.fields}

    def _register(self, r: dict) -> Register:
        fields = tuple(
            Field(
                f["name"], r["path"], f["lsb"], f["width"], f["reset"], f["sw"], f["host"], f["fw"],
                f["onread"], f["onwrite"], f["singlepulse"],
                self.enums[f["enum"]] if f["enum"] else None, f["desc"],
            )
            for f in r["fields"]
        )
        return Register(
            r["path"], r["block"], r["offset"], self.mmio_base + r["offset"], r["width"], r["reset"],
            r["sw"], r["host"], r["fw"], r["host_visible"], tuple(r["side_effects"]), r["effect"],
            r["desc"], fields,
        )

    # ---------------------------------------------------------------- lookups
    display_name = staticmethod(display_name)
    canonical = staticmethod(canonical)

    def register(self, path: str) -> Register:
        """A register by path or display name (`queue0.sq_tail`, `QUEUE0.SQ_TAIL`)."""
        reg = self._by_path.get(path) or self._by_path.get(canonical(path))
        if reg is None:
            raise RegisterError(self._unknown("register", path, self._by_path))
        return reg

    def field(self, path: str) -> Field:
        """A field by full path (`DMA.ERR_CAUSE.CAUSE`), or a one-field register's path (`dma.err_cause`)."""
        name = canonical(path)
        found = self._fields.get(name)
        if found is not None:
            return found
        reg = self._by_path.get(name)
        if reg is not None:
            if len(reg.fields) == 1:
                return reg.fields[0]
            names = ", ".join(f.name.upper() for f in reg.fields)
            raise RegisterError(f"register {reg.display} has {len(reg.fields)} fields; name one of {names}")
        raise RegisterError(self._unknown("field", path, self._fields))

    def find(self, path: str) -> Register | Field:
        """A register, or else a field, by name; for commands that accept either."""
        name = canonical(path)
        if name in self._by_path:
            return self._by_path[name]
        if name in self._fields:
            return self._fields[name]
        raise RegisterError(self._unknown("register or field", path, {**self._by_path, **self._fields}))

    def at_offset(self, offset: int) -> Register | None:
        """The register at a BAR0 / MMIO-window offset, or None."""
        return self._by_offset.get(offset)

    def at_address(self, address: int) -> Register | None:
        """The register at a control-core MMIO address, or None."""
        return self._by_offset.get(address - self.mmio_base)

    def block(self, name: str) -> Block:
        lowered = canonical(name)
        for b in self.blocks:
            if b.name == lowered:
                return b
        raise RegisterError(self._unknown("register block", name, {b.name: b for b in self.blocks}))

    def constants(self) -> dict[str, int]:
        """Every register's BAR0 offset by constant name (`QUEUE0_SQ_TAIL`), for driver code."""
        return {constant_name(r.path): r.offset for r in self.registers}

    def names(self) -> list[str]:
        """Display names of every block, register and field (for completion)."""
        words = [b.display for b in self.blocks] + [r.display for r in self.registers]
        return words + [display_name(p) for p in self._fields]

    @staticmethod
    def _unknown(what: str, name: str, known: dict) -> str:
        guess = difflib.get_close_matches(canonical(name), list(known), n=1, cutoff=0.6)
        hint = f"; did you mean {display_name(guess[0])}?" if guess else ""
        return f"no {what} named '{name}'{hint}"

    # ---------------------------------------------------------------- values
    def decode(self, path: str, value: int) -> list[FieldValue]:
        """Split a register value into its fields, naming enum members."""
        reg = self.register(path)
        out = []
        for f in reg.fields:
            v = f.extract(value)
            out.append(FieldValue(f.name, v, f.enum.name_of(v) if f.enum else None))
        return out

    def encode(self, path: str, **fields: int | str) -> int:
        """A register value from field values (ints or enum member names); other fields are 0."""
        reg = self.register(path)
        value = 0
        for name, given in fields.items():
            f = reg.field_named(name)
            if f is None:
                raise RegisterError(self._unknown("field", f"{reg.path}.{name}", self._fields))
            number = self._field_number(reg, f, given)
            value |= number << f.lsb
        return value

    def _field_number(self, reg: Register, f: Field, given: int | str) -> int:
        where = display_name(f.path)
        if isinstance(given, str):
            member = f.enum.by_name.get(canonical(given)) if f.enum else None
            if member is None:
                choices = f" (one of {', '.join(f.enum.by_name)})" if f.enum else ""
                raise RegisterError(f"{where}: '{given}' is not a value of this field{choices}")
            return member.value
        if not 0 <= given < 1 << f.width:
            raise RegisterError(f"{where}: {given} does not fit in {f.width} bits")
        return given

    def describe(self, path: str, value: int | None = None) -> str:
        """A register's documentation (and decoded value, if given) for the debugger's view."""
        reg = self.register(path)
        head = (
            f"{reg.display}  offset 0x{reg.offset:04x}  address 0x{reg.address:08x}  "
            f"{reg.width}-bit  reset 0x{reg.reset:08x}"
        )
        if value is not None:
            head += f"  value 0x{value:08x}"
        lines = [head, f"  {reg.desc}"]
        visible = "" if reg.host_visible else " (firmware only)"
        effects = ", ".join(reg.side_effects) or "-"
        lines.append(f"  host: {reg.host}{visible}  firmware: {reg.fw}  effects: {effects}")
        if reg.effect:
            lines.append(f"  device: {reg.effect}")
        for f in reversed(reg.fields):
            text = f"  {f.bits:>5}  {f.name.upper():<14} {f.sw:<3} reset 0x{f.reset:x}"
            if value is not None:
                v = f.extract(value)
                member = f.enum.name_of(v) if f.enum else None
                text += f"  = 0x{v:x}" + (f" ({member})" if member else "")
            lines.append(f"{text}  {f.desc}")
        return "\n".join(lines)


def load(text: str, mmio_base: int) -> RegisterMap:
    return RegisterMap(json.loads(text), mmio_base)


@cache
def regmap() -> RegisterMap:
    """The NPU's register map, loaded once from the checked-in artifact."""
    from isa.memmap import region

    text = resources.files("firmware.hw").joinpath(ARTIFACT).read_text(encoding="utf-8")
    return load(text, region("mmio").base)
