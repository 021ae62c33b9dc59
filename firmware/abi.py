"""The host↔firmware ABI, loaded from `abi.toml`: the model every consumer derives from.

This module owns reading and validating the table and the byte-level codec:
`encode_descriptor`, `decode_descriptor` (opcode-aware), `encode_completion`,
`decode_completion`. The firmware's `.equ` constants and `docs/abi.md` are
generated from this model (`scripts/gen_abi.py`), the driver's numpy structures
are derived from it (`driver/abi.py`), and the debugger's ring decoder uses it.

Validation (each problem one line `abi.toml: error: …`): required keys and
their types, known field types, fields inside their struct and aligned to their
size, no two fields overlapping, header fields below the argument area, unique
names and codes (opcodes, statuses, features, enum values, generations), enum
and flag tables that exist and fit their fields, opcodes naming known
generations and features.
"""

from __future__ import annotations

import itertools
import struct
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any

from isa.errors import NpuError, SpecError

TABLE_FILE = "abi.toml"
# type -> (struct code, size)
TYPES: dict[str, tuple[str, int]] = {
    "u8": ("B", 1), "u16": ("H", 2), "u32": ("I", 4), "u64": ("Q", 8),
    "i8": ("b", 1), "i16": ("h", 2), "i32": ("i", 4), "f32": ("f", 4), "addr": ("I", 4),
}
FEATURE_BITS = 32
_RANGES = {t: (-(1 << (8 * n - 1)), (1 << (8 * n - 1)) - 1) if t.startswith("i") else (0, (1 << (8 * n)) - 1)
           for t, (_, n) in TYPES.items()}


class AbiError(NpuError):
    """A descriptor or completion cannot be encoded or decoded as asked."""


@dataclass(frozen=True)
class Field:
    """One field of a structure: name, byte offset, type, and optional value names."""

    name: str
    offset: int
    type: str
    desc: str
    enum: str | None = None  # table naming its values
    flags: str | None = None  # table naming its bits

    @property
    def size(self) -> int:
        return TYPES[self.type][1]

    @property
    def end(self) -> int:
        return self.offset + self.size

    def moved(self, delta: int) -> Field:
        return Field(self.name, self.offset + delta, self.type, self.desc, self.enum, self.flags)

    def value_range(self) -> tuple[int, int]:
        return _RANGES[self.type]


@dataclass(frozen=True)
class Value:
    """A named value of an enum table, or a named bit of a flags table (value = bit)."""

    name: str
    value: int
    desc: str


@dataclass(frozen=True)
class Names:
    """An enum or flags table."""

    name: str
    kind: str  # "enum" or "flags"
    values: tuple[Value, ...]

    @cached_property
    def _names(self) -> dict[str, Value]:
        return {v.name: v for v in self.values}

    @cached_property
    def _values(self) -> dict[int, Value]:
        return {v.value: v for v in self.values}

    def by_name(self, name: str) -> Value | None:
        return self._names.get(name)

    def by_value(self, value: int) -> Value | None:
        return self._values.get(value)


@dataclass(frozen=True)
class Struct:
    """A fixed-size little-endian record: a descriptor, a completion entry, the info block."""

    name: str
    size: int
    fields: tuple[Field, ...]

    @cached_property
    def _index(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    def field(self, name: str) -> Field | None:
        return self._index.get(name)

    @cached_property
    def _order(self) -> tuple[Field, ...]:
        return tuple(sorted(self.fields, key=lambda f: f.offset))

    @cached_property
    def _packer(self) -> struct.Struct:
        fmt, pos = "<", 0
        for f in self._order:
            fmt += "x" * (f.offset - pos) + TYPES[f.type][0]
            pos = f.end
        return struct.Struct(fmt + "x" * (self.size - pos))

    def pack(self, values: Mapping[str, int | float]) -> bytes:
        """Bytes of the record; fields missing from `values` are zero."""
        return self._packer.pack(*(values.get(f.name, 0) for f in self._order))

    def unpack(self, data: bytes) -> dict[str, int | float]:
        return dict(zip((f.name for f in self._order), self._packer.unpack(data), strict=True))


@dataclass(frozen=True)
class Generation:
    number: int
    desc: str
    descriptor_size: int
    args_offset: int
    completion_size: int
    queues: int
    header: Struct
    completion: Struct

    @property
    def args_size(self) -> int:
        return self.descriptor_size - self.args_offset


@dataclass(frozen=True)
class Opcode:
    name: str
    code: int
    abi: tuple[int, ...]
    feature: str | None
    desc: str
    args: tuple[Field, ...]  # offsets relative to the argument area


@dataclass(frozen=True)
class Status:
    name: str
    code: int
    desc: str


@dataclass(frozen=True)
class Feature:
    name: str
    bit: int
    desc: str

    @property
    def mask(self) -> int:
        return 1 << self.bit


@dataclass(frozen=True)
class Constant:
    name: str
    value: int
    desc: str


class Abi:
    """The whole table, with lookups and the codec."""

    def __init__(self, generations: tuple[Generation, ...], opcodes: tuple[Opcode, ...],
                 statuses: tuple[Status, ...], features: tuple[Feature, ...],
                 names: dict[str, Names], constants: tuple[Constant, ...], info: Struct) -> None:
        self.generations = {g.number: g for g in generations}
        self.opcodes = opcodes
        self.statuses = statuses
        self.features = features
        self.names = names
        self.constants = constants
        self.info = info
        self._layouts: dict[tuple[int, str | int], Struct] = {}
        self._opcodes: dict[str | int, Opcode] = {o.name: o for o in opcodes} | {o.code: o for o in opcodes}

    # -- lookups -----------------------------------------------------------
    def generation(self, gen: int) -> Generation:
        if gen not in self.generations:
            known = ", ".join(map(str, self.generations))
            raise AbiError(f"unknown ABI generation {gen} (known: {known})")
        return self.generations[gen]

    def opcode(self, op: str | int, gen: int | None = None) -> Opcode:
        """The opcode by name (case-insensitive) or code; with `gen`, it must exist there."""
        found = self._opcodes.get(op.upper() if isinstance(op, str) else op)
        if found is None:
            raise AbiError(f"unknown opcode {op!r}")
        if gen is not None and gen not in found.abi:
            raise AbiError(f"opcode {found.name} is not defined in ABI {gen}")
        return found

    def status(self, code: str | int) -> Status:
        found = next((s for s in self.statuses if code in (s.name, s.code)), None)
        if found is None:
            raise AbiError(f"unknown status code {code!r}")
        return found

    def constant(self, name: str) -> int:
        found = next((c for c in self.constants if c.name == name), None)
        if found is None:
            raise AbiError(f"unknown ABI constant '{name}'")
        return found.value

    def feature_mask(self, names: Iterable[str]) -> int:
        mask = 0
        for name in names:
            found = next((f for f in self.features if f.name == name), None)
            if found is None:
                raise AbiError(f"unknown feature '{name}'")
            mask |= found.mask
        return mask

    def feature_names(self, mask: int) -> tuple[str, ...]:
        """Names of the set bits in bit order; bits the table does not name read `bitN`."""
        named = {f.bit: f.name for f in self.features}
        return tuple(named.get(b, f"bit{b}") for b in range(FEATURE_BITS) if mask >> b & 1)

    # -- layouts -----------------------------------------------------------
    def descriptor_layout(self, gen: int, op: str | int) -> Struct:
        """The full descriptor of `op` in `gen`: header plus its arguments at absolute offsets."""
        layout = self._layouts.get((gen, op))
        if layout is None:
            g, o = self.generation(gen), self.opcode(op, gen)
            args = tuple(f.moved(g.args_offset) for f in o.args)
            layout = self._layouts[gen, op] = Struct(f"{o.name}/abi{gen}", g.descriptor_size,
                                                     g.header.fields + args)
        return layout

    # -- codec -------------------------------------------------------------
    def encode_descriptor(self, gen: int, op: str | int, /, **fields: Any) -> bytes:
        """Bytes of one descriptor; enum fields take names, flags fields names or `a|b`."""
        layout = self.descriptor_layout(gen, op)
        if "opcode" in fields:
            raise AbiError(f"{layout.name}: the opcode is the second argument, not a field")
        fields["opcode"] = self._opcodes[op.upper() if isinstance(op, str) else op].code
        return layout.pack(self._coerce(layout, fields))

    def decode_descriptor(self, gen: int, data: bytes, /, raw: bool = False) -> dict[str, Any]:
        """Fields of one descriptor by name, for whatever opcode it holds.

        Never raises on content (a ring may hold garbage): an opcode the
        generation does not define decodes as its number with the argument
        bytes under `args`. Enum values read as names and flags as tuples of
        names unless `raw`.
        """
        g = self.generation(gen)
        self._check_length(data, g.descriptor_size, f"ABI {gen} descriptor")
        head = g.header.unpack(data[: g.descriptor_size])
        known = next((o for o in self.opcodes if o.code == head["opcode"] and gen in o.abi), None)
        if known is None:
            values: dict[str, Any] = dict(head)
            values["args"] = bytes(data[g.args_offset: g.descriptor_size])
            if not raw:
                values = self._names(g.header, values) | {"opcode": head["opcode"]}
            return values
        layout = self.descriptor_layout(gen, known.code)
        values = layout.unpack(data)
        return values if raw else self._names(layout, values)

    def encode_completion(self, gen: int, /, **fields: Any) -> bytes:
        layout = self.generation(gen).completion
        return layout.pack(self._coerce(layout, fields))

    def decode_completion(self, gen: int, data: bytes, raw: bool = False) -> dict[str, Any]:
        layout = self.generation(gen).completion
        self._check_length(data, layout.size, f"ABI {gen} completion")
        values = layout.unpack(data)
        return values if raw else self._names(layout, values)

    def describe(self, gen: int, data: bytes, completion: bool = False) -> str:
        """One line a person reads: `MATMUL command_id=7 a=0x80000000 … dtype=int8 opts=bias|relu`."""
        if completion:
            layout = self.generation(gen).completion
            values = self.decode_completion(gen, data)
        else:
            values = self.decode_descriptor(gen, data)
            op = values["opcode"]
            layout = (self.generation(gen).header if "args" in values
                      else self.descriptor_layout(gen, op))
            values |= {"opcode": op if isinstance(op, str) else f"{op}(not in ABI {gen})"}
        types = {f.name: f.type for f in layout.fields}

        def show(name: str, value: Any) -> str:
            if isinstance(value, tuple):
                return "|".join(value) or "-"
            if isinstance(value, bytes):
                return value.hex()
            if isinstance(value, float):
                return f"{value:g}"
            return f"{value:#x}" if types.get(name) == "addr" else str(value)

        head = str(values.pop("opcode")) if not completion else "completion"
        return " ".join([head, *(f"{k}={show(k, v)}" for k, v in values.items())])

    @staticmethod
    def _check_length(data: bytes, size: int, what: str) -> None:
        if len(data) != size:
            raise AbiError(f"{what} is {size} bytes, got {len(data)}")

    def _coerce(self, layout: Struct, fields: Mapping[str, Any]) -> dict[str, int | float]:
        out: dict[str, int | float] = {}
        for name, value in fields.items():
            f = layout.field(name)
            if f is None:
                known = ", ".join(x.name for x in layout.fields)
                raise AbiError(f"{layout.name}: no field '{name}' (fields: {known})")
            out[name] = self._coerce_one(layout, f, value)
        return out

    def _coerce_one(self, layout: Struct, f: Field, value: Any) -> int | float:
        where = f"{layout.name}.{f.name}"
        if f.enum and isinstance(value, str):
            found = self.names[f.enum].by_name(value)
            if found is None:
                raise AbiError(f"{where}: '{value}' is not a {f.enum} value")
            value = found.value
        elif f.flags and not isinstance(value, int):
            items = value.split("|") if isinstance(value, str) else list(value)
            mask = 0
            for item in filter(None, items):
                bit = self.names[f.flags].by_name(item)
                unnamed = item[3:].isdigit() and item.startswith("bit")  # as decode shows unnamed bits
                if bit is None and not unnamed:
                    raise AbiError(f"{where}: '{item}' is not a {f.flags} flag")
                mask |= 1 << (bit.value if bit else int(item[3:]))
            value = mask
        if f.type == "f32":
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise AbiError(f"{where}: expected a number, got {value!r}")
            try:
                struct.pack("<f", value)
            except OverflowError:
                raise AbiError(f"{where}: {value!r} does not fit f32") from None
            return float(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise AbiError(f"{where}: expected an integer, got {value!r}")
        lo, hi = f.value_range()
        if not lo <= value <= hi:
            raise AbiError(f"{where}: value {value} does not fit {f.type} ({lo}..{hi})")
        return value

    def _names(self, layout: Struct, values: dict[str, Any]) -> dict[str, Any]:
        for f in layout.fields:
            if f.enum:
                found = self.names[f.enum].by_value(values[f.name])
                if found is not None:
                    values[f.name] = found.name
            elif f.flags:
                named = {v.value: v.name for v in self.names[f.flags].values}
                bits = values[f.name]
                values[f.name] = tuple(named.get(b, f"bit{b}") for b in range(8 * f.size) if bits >> b & 1)
        return values


# -- loading and validation ------------------------------------------------------------------------------

class TomlProblems:
    """Collects every problem of a TOML table so that one load reports all of them, one line each."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(f"{self.filename}: error: {message}")

    def raise_if_any(self) -> None:
        if self.messages:
            raise SpecError("\n".join(self.messages))


def _get(table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str,
         problems: TomlProblems, default: Any = None) -> Any:
    if key not in table:
        problems.add(f"{where}: missing '{key}'")
        return default
    value = table[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        problems.add(f"{where}: '{key}' has the wrong type ({type(value).__name__})")
        return default
    return value


def _duplicates(items: Iterable[tuple[str, Any]], what: str, problems: TomlProblems) -> None:
    seen: set[Any] = set()
    for label, key in items:
        if key in seen:
            problems.add(f"{what} {key!r} declared twice ({label})")
        seen.add(key)


def _fields(rows: Any, where: str, problems: TomlProblems) -> tuple[Field, ...]:
    if not isinstance(rows, list):
        problems.add(f"{where}: fields must be a list")
        return ()
    fields = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.add(f"{where}: field {i} is not a table")
            continue
        name = _get(row, "name", str, f"{where} field {i}", problems, "")
        at = f"{where}.{name}"
        offset = _get(row, "offset", int, at, problems, -1)
        ftype = _get(row, "type", str, at, problems, "")
        desc = _get(row, "desc", str, at, problems, "")
        if ftype and ftype not in TYPES:
            problems.add(f"{at}: unknown type '{ftype}' (one of {', '.join(TYPES)})")
            continue
        if not name or offset < 0 or not ftype:
            continue
        field = Field(name, offset, ftype, desc, row.get("enum"), row.get("flags"))
        if offset % field.size:
            problems.add(f"{at}: offset {offset} is not a multiple of its size {field.size}")
        fields.append(field)
    _duplicates(((where, f.name) for f in fields), f"{where}: field", problems)
    return tuple(fields)


def _check_extent(fields: Iterable[Field], start: int, end: int, where: str, problems: TomlProblems) -> None:
    for f in fields:
        if f.offset < start or f.end > end:
            problems.add(f"{where}: field '{f.name}' (bytes {f.offset}..{f.end - 1}) lies outside "
                         f"bytes {start}..{end - 1}")


def _check_overlap(fields: Iterable[Field], where: str, problems: TomlProblems) -> None:
    for a, b in itertools.pairwise(sorted(fields, key=lambda f: f.offset)):
        if b.offset < a.end:
            problems.add(f"{where}: field '{b.name}' (bytes {b.offset}..{b.end - 1}) overlaps "
                         f"'{a.name}' (bytes {a.offset}..{a.end - 1})")


def _check_layout(fields: Iterable[Field], start: int, end: int, where: str, problems: TomlProblems) -> None:
    """Fields lie within [start, end) and no two overlap."""
    _check_extent(fields, start, end, where, problems)
    _check_overlap(fields, where, problems)


def _numbered(rows: Any, what: str, key: str, problems: TomlProblems) -> list[tuple[str, int, str]]:
    """Rows of (name, number, desc) with unique names and numbers: statuses, features, enum values."""
    out = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            problems.add(f"{what} row {row!r} is not a table")
            continue
        name = _get(row, "name", str, what, problems, "")
        out.append((name, _get(row, key, int, f"{what} {name}", problems, -1),
                    _get(row, "desc", str, f"{what} {name}", problems, "")))
    _duplicates(((what, r[0]) for r in out), f"{what} name", problems)
    _duplicates(((r[0], r[1]) for r in out), f"{what} {key}", problems)
    return out


def _names_tables(doc: Mapping[str, Any], problems: TomlProblems) -> dict[str, Names]:
    tables: dict[str, Names] = {}
    for kind, section, key in (("enum", "enums", "value"), ("flags", "flags", "bit")):
        for name, rows in doc.get(section, {}).items():
            if name in tables:
                problems.add(f"table '{name}' declared as both enum and flags")
            values = tuple(Value(*r) for r in _numbered(rows, f"{kind} {name}:", key, problems))
            tables[name] = Names(name, kind, values)
    return tables


def _check_field_names(fields: Iterable[Field], where: str, tables: dict[str, Names],
                       problems: TomlProblems) -> None:
    for f in fields:
        for kind, ref in (("enum", f.enum), ("flags", f.flags)):
            if ref is None:
                continue
            table = tables.get(ref)
            if table is None or table.kind != kind:
                problems.add(f"{where}.{f.name}: unknown {kind} table '{ref}'")
                continue
            lo, hi = f.value_range()
            for v in table.values:
                fits = lo <= v.value <= hi if kind == "enum" else 0 <= v.value < 8 * f.size
                if not fits:
                    problems.add(f"{where}.{f.name}: {ref} value '{v.name}' ({v.value}) "
                                 f"does not fit {f.type}")


def _features(doc: Mapping[str, Any], problems: TomlProblems) -> tuple[Feature, ...]:
    features = tuple(Feature(*r) for r in _numbered(doc.get("feature", []), "feature", "bit", problems))
    for f in features:
        if not 0 <= f.bit < FEATURE_BITS:
            problems.add(f"feature {f.name}: bit {f.bit} outside 0..{FEATURE_BITS - 1}")
    return features


def _opcodes(doc: Mapping[str, Any], features: tuple[Feature, ...],
             problems: TomlProblems) -> tuple[Opcode, ...]:
    opcodes = []
    for r in doc.get("opcode", []):
        name = _get(r, "name", str, "opcode", problems, "")
        where = f"opcode {name}"
        op = Opcode(name, _get(r, "code", int, where, problems, -1),
                    tuple(_get(r, "abi", list, where, problems, [])), r.get("feature"),
                    _get(r, "desc", str, where, problems, ""),
                    _fields(r.get("args", []), where, problems))
        if op.feature is not None and op.feature not in {f.name for f in features}:
            problems.add(f"{where}: unknown feature '{op.feature}'")
        opcodes.append(op)
    _duplicates((("opcode", o.name) for o in opcodes), "opcode name", problems)
    _duplicates(((o.name, o.code) for o in opcodes), "opcode code", problems)
    return tuple(opcodes)


def _generations(doc: Mapping[str, Any], problems: TomlProblems) -> tuple[Generation, ...]:
    generations = []
    for r in doc.get("generation", []):
        where = f"generation {r.get('number')}"
        number = _get(r, "number", int, "generation", problems, 0)
        size = _get(r, "descriptor_size", int, where, problems, 0)
        args_at = _get(r, "args_offset", int, where, problems, 0)
        csize = _get(r, "completion_size", int, where, problems, 0)
        header = Struct(f"abi{number} header", size, _fields(r.get("header"), f"{where} header", problems))
        completion = Struct(f"abi{number} completion", csize,
                            _fields(r.get("completion"), f"{where} completion", problems))
        _check_layout(header.fields, 0, args_at, f"{where} header", problems)
        _check_layout(completion.fields, 0, csize, f"{where} completion", problems)
        if header.field("opcode") is None:
            problems.add(f"{where} header: no 'opcode' field")
        if not 0 < args_at <= size:
            problems.add(f"{where}: args_offset {args_at} outside the {size}-byte descriptor")
        generations.append(Generation(number, _get(r, "desc", str, where, problems, ""), size, args_at, csize,
                                      _get(r, "queues", int, where, problems, 0), header, completion))
    _duplicates((("generation", g.number) for g in generations), "generation", problems)
    return tuple(generations)


def load(text: str, filename: str = TABLE_FILE) -> Abi:
    """Parse and validate the table; raises SpecError listing every problem."""
    problems = TomlProblems(filename)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.add(str(exc))
        problems.raise_if_any()
    names = _names_tables(doc, problems)
    statuses = tuple(Status(*r) for r in _numbered(doc.get("status", []), "status", "code", problems))
    features = _features(doc, problems)
    opcodes = _opcodes(doc, features, problems)
    generations = _generations(doc, problems)
    for reserved in ("status", "opcode"):
        if reserved in names:
            problems.add(f"table name '{reserved}' is reserved for the {reserved} codes")
    # The status and opcode tables double as enum tables for the fields that hold them.
    names["status"] = Names("status", "enum", tuple(Value(s.name, s.code, s.desc) for s in statuses))
    names["opcode"] = Names("opcode", "enum", tuple(Value(o.name, o.code, o.desc) for o in opcodes))

    by_gen = {g.number: g for g in generations}
    for g in generations:
        for struct_ in (g.header, g.completion):
            _check_field_names(struct_.fields, struct_.name, names, problems)
    for op in opcodes:
        where = f"opcode {op.name}"
        for gen in op.abi:
            if gen not in by_gen:
                problems.add(f"{where}: unknown ABI generation {gen}")
                continue
            _check_extent(op.args, 0, by_gen[gen].args_size, f"{where} (ABI {gen} argument area)", problems)
        _check_overlap(op.args, where, problems)
        _check_field_names(op.args, where, names, problems)

    constants = tuple(Constant(k, _get(v, "value", int, f"constant {k}", problems, 0),
                               _get(v, "desc", str, f"constant {k}", problems, ""))
                      for k, v in doc.get("constants", {}).items())
    info_doc = doc.get("info", {})
    info = Struct("info", _get(info_doc, "size", int, "info", problems, 0),
                  _fields(info_doc.get("fields", []), "info", problems))
    _check_layout(info.fields, 0, info.size, "info", problems)
    _check_field_names(info.fields, "info", names, problems)
    problems.raise_if_any()
    return Abi(generations, opcodes, statuses, features, names, constants, info)


@cache
def abi() -> Abi:
    """The project's ABI table, loaded once."""
    return load(resources.files("firmware").joinpath(TABLE_FILE).read_text(encoding="utf-8"))


def encode_descriptor(gen: int, opcode: str | int, /, **fields: Any) -> bytes:
    return abi().encode_descriptor(gen, opcode, **fields)


def decode_descriptor(gen: int, data: bytes, raw: bool = False) -> dict[str, Any]:
    return abi().decode_descriptor(gen, data, raw)


def encode_completion(gen: int, /, **fields: Any) -> bytes:
    return abi().encode_completion(gen, **fields)


def decode_completion(gen: int, data: bytes, raw: bool = False) -> dict[str, Any]:
    return abi().decode_completion(gen, data, raw)
