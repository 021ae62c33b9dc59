"""The device memory map, loaded from `memmap.tbl`: one table for every reader."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache
from importlib import resources

from isa.errors import NpuError
from isa.tables import Problems, read_rows

TABLE_FILE = "memmap.tbl"
CONFIGS = ("default", "large")
_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


@dataclass(frozen=True)
class Region:
    """One region of the map at one configuration's size."""

    name: str
    base: int
    size: int
    kind: str  # "ram", "lazy" or "mmio"
    perms: str  # e.g. "rwx", "rw-"
    desc: str

    @property
    def end(self) -> int:
        """One past the last address."""
        return self.base + self.size

    def contains(self, addr: int, length: int = 1) -> bool:
        return self.base <= addr and addr + length <= self.end

    @property
    def readable(self) -> bool:
        return "r" in self.perms

    @property
    def writable(self) -> bool:
        return "w" in self.perms

    @property
    def executable(self) -> bool:
        return "x" in self.perms


def _size(text: str) -> int:
    unit = _UNITS.get(text[-1:].upper(), 1)
    return int(text[:-1] if unit > 1 else text, 0) * unit


def load(text: str, config: str, filename: str = TABLE_FILE) -> tuple[Region, ...]:
    """Parse the table for one configuration; raises SpecError on a malformed row."""
    if config not in CONFIGS:
        raise NpuError(f"unknown device configuration '{config}' (one of {', '.join(CONFIGS)})")
    problems = Problems(filename)
    regions: list[Region] = []
    for row in read_rows(text, {"regions"}, problems):
        tokens = row.tokens()
        if len(tokens) < 6:
            problems.add(row.line, "", "region row needs: name base default large kind perms")
            continue
        name, base, default, large, kind, perms = tokens[:6]
        try:
            size = _size(large if config == "large" else default)
            region = Region(name, int(base, 0), size, kind, perms, " ".join(tokens[6:]))
        except ValueError as exc:
            problems.add(row.line, name, str(exc))
            continue
        if kind not in ("ram", "lazy", "mmio") or len(perms) != 3:
            problems.add(row.line, name, f"bad kind '{kind}' or perms '{perms}'")
        regions.append(region)
    ordered = sorted(regions, key=lambda r: r.base)
    for a, b in itertools.pairwise(ordered):
        if a.end > b.base:
            problems.add(0, b.name, f"overlaps {a.name}")
    if ordered and ordered[-1].end > 1 << 32:
        problems.add(0, ordered[-1].name, "ends beyond the 32-bit address space")
    problems.raise_if_any()
    return tuple(ordered)


@cache
def memory_map(config: str = "default") -> tuple[Region, ...]:
    """The regions of one device configuration, in address order."""
    text = resources.files("isa").joinpath(TABLE_FILE).read_text(encoding="utf-8")
    return load(text, config)


def region(name: str, config: str = "default") -> Region:
    for r in memory_map(config):
        if r.name == name:
            return r
    raise NpuError(f"no memory region named '{name}'")


def region_at(addr: int, config: str = "default") -> Region | None:
    for r in memory_map(config):
        if r.contains(addr):
            return r
    return None
