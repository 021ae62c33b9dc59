"""The driver release line (`driver/releases.toml`): what each release speaks and needs.

This module owns the driver release profiles the version policy compares with
a firmware: ABI generations spoken, runtime ops, and the firmware features each
op needs (its opcode's feature from `firmware/abi.toml` plus the op's own).
Validation (one line per problem, `driver/releases.toml: error: …`): versions
well formed, unique and ascending; ABI generations, opcodes and features known
to the ABI table; ops known to the catalogue; an op's opcode defined in an ABI
generation the release speaks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from firmware.abi import Abi, TomlProblems, abi
from firmware.releases import Version, parse_toml
from isa.errors import NpuError

TABLE_FILE = "releases.toml"
TABLE_NAME = "driver/releases.toml"  # as errors name it


@dataclass(frozen=True)
class DriverOp:
    """A runtime op: the opcode it submits (None for queue-level ops) and every feature it needs."""

    name: str
    opcode: str | None
    features: tuple[str, ...]
    desc: str


@dataclass(frozen=True)
class DriverRelease:
    version: Version
    abi: tuple[int, ...]
    ops: tuple[DriverOp, ...]
    notes: str = ""

    @property
    def needs(self) -> frozenset[str]:
        """Every firmware feature some op of this release needs (the features it knows)."""
        return frozenset(f for op in self.ops for f in op.features)

    def op(self, name: str) -> DriverOp:
        for op in self.ops:
            if op.name == name:
                return op
        raise NpuError(f"driver {self.version} has no op '{name}'")


@dataclass(frozen=True)
class DriverLine:
    releases: tuple[DriverRelease, ...]
    catalogue: tuple[DriverOp, ...]

    @property
    def versions(self) -> tuple[Version, ...]:
        return tuple(r.version for r in self.releases)

    @property
    def newest(self) -> DriverRelease:
        return self.releases[-1]

    def release(self, version: str | Version | None = None) -> DriverRelease:
        """The release of that version; the newest (the current driver) when None."""
        if version is None:
            return self.newest
        wanted = Version.parse(version) if isinstance(version, str) else version
        for r in self.releases:
            if r.version == wanted:
                return r
        known = ", ".join(str(v) for v in self.versions)
        raise NpuError(f"no driver release {wanted} (releases: {known})")


def _catalogue(doc: Mapping[str, Any], table: Abi, problems: TomlProblems) -> dict[str, DriverOp]:
    ops: dict[str, DriverOp] = {}
    known = {f.name for f in table.features}
    for name, row in doc.get("ops", {}).items():
        where = f"op {name}"
        if not isinstance(row, dict):
            problems.add(f"{where}: must be a table")
            continue
        opcode, extra = row.get("opcode"), row.get("features", [])
        features: list[str] = []
        if opcode is not None:
            found = next((o for o in table.opcodes if o.name == opcode), None)
            if found is None:
                problems.add(f"{where}: unknown opcode '{opcode}'")
            elif found.feature:
                features.append(found.feature)
        if not isinstance(extra, list) or not all(isinstance(f, str) for f in extra):
            problems.add(f"{where}: 'features' must be a list of feature names")
            extra = []
        for f in extra:
            if f not in known:
                problems.add(f"{where}: unknown feature '{f}'")
        features += [f for f in extra if f not in features]
        ops[name] = DriverOp(name, opcode, tuple(features), str(row.get("desc", "")))
    return ops


def _release(row: Mapping[str, Any], catalogue: dict[str, DriverOp], table: Abi,
             problems: TomlProblems) -> DriverRelease | None:
    where = f"release {row.get('version', '?')}"
    try:
        version = Version.parse(row.get("version", ""))
    except NpuError as exc:
        problems.add(f"{where}: {exc}")
        return None
    gens, names = row.get("abi"), row.get("ops")
    if not isinstance(gens, list) or not gens or not all(isinstance(g, int) for g in gens):
        problems.add(f"{where}: 'abi' must be a non-empty list of generation numbers")
        return None
    for g in gens:
        if g not in table.generations:
            problems.add(f"{where}: unknown ABI generation {g}")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        problems.add(f"{where}: 'ops' must be a list of op names")
        return None
    if len(set(names)) != len(names):
        problems.add(f"{where}: an op is listed twice")
    ops = []
    for name in names:
        op = catalogue.get(name)
        if op is None:
            problems.add(f"{where}: unknown op '{name}' (not in [ops])")
            continue
        if op.opcode and op.opcode in {o.name for o in table.opcodes}:
            defined = table.opcode(op.opcode).abi
            if not set(defined) & set(gens):
                problems.add(f"{where}: op {name} submits {op.opcode}, which none of ABI "
                             f"{', '.join(map(str, gens))} defines")
        ops.append(op)
    return DriverRelease(version, tuple(sorted(gens)), tuple(ops), str(row.get("notes", "")))


def load(text: str, table: Abi | None = None) -> DriverLine:
    """Parse and validate the table; raises SpecError listing every problem."""
    table = table or abi()
    problems = TomlProblems(TABLE_NAME)
    doc = parse_toml(text, problems)
    catalogue = _catalogue(doc, table, problems)
    releases = [r for r in (_release(row, catalogue, table, problems) for row in doc.get("release", []))
                if r is not None]
    versions = [r.version for r in releases]
    if not releases and not problems.messages:
        problems.add("no [[release]] rows")
    if len(set(versions)) != len(versions):
        problems.add("a release version is listed twice")
    elif versions != sorted(versions):
        problems.add("releases must be listed oldest first")
    problems.raise_if_any()
    return DriverLine(tuple(releases), tuple(catalogue.values()))


@cache
def driver_line() -> DriverLine:
    """The project's driver releases, loaded once."""
    return load(resources.files("driver").joinpath(TABLE_FILE).read_text(encoding="utf-8"))


def current_release() -> DriverRelease:
    """The release this driver is: the newest in the table."""
    return driver_line().newest
