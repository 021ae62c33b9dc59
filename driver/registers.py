"""Typed register access by RDL path (`queue0.sq_tail`) through the bus.

Offsets, fields and enum values come only from the register map
(`firmware.hw.regmap`); nothing here knows a number. `offset(path)` is cached, so
hot paths (doorbells, ring indices) look a path up once and keep the offset.
"""

from __future__ import annotations

from functools import cache

from driver.bus import Bus, skip_in_call_sites
from firmware.hw.regmap import FieldValue, RegisterMap, regmap

skip_in_call_sites(__file__)


@cache
def offset(path: str) -> int:
    """BAR0 offset of the register at `path` (RDL or display spelling)."""
    return regmap().register(path).offset


class Registers:
    """The device's host-visible registers, read and written by path."""

    def __init__(self, bus: Bus, rmap: RegisterMap | None = None) -> None:
        self.bus = bus
        self.map = rmap or regmap()

    def read(self, path: str) -> int:
        return self.bus.read32(offset(path))

    def write(self, path: str, value: int) -> None:
        self.bus.write32(offset(path), value)

    def field(self, path: str) -> int:
        """One field's value: `version.handshake.status`, or a one-field register's path."""
        f = self.map.field(path)
        return f.extract(self.bus.read32(offset(f.register)))

    def enum(self, path: str) -> str | None:
        """An enumerated field's value by name (None for a value the enum does not name)."""
        f = self.map.field(path)
        value = f.extract(self.bus.read32(offset(f.register)))
        return f.enum.name_of(value) if f.enum else str(value)

    def write_fields(self, path: str, **fields: int | str) -> None:
        """Write a register from field values (ints or enum names); unnamed fields are 0."""
        self.bus.write32(offset(path), self.map.encode(path, **fields))

    def decode(self, path: str) -> list[FieldValue]:
        return self.map.decode(path, self.read(path))

    def mask(self, path: str, *fields: str) -> int:
        """The bits of the named fields of a register (e.g. host_irq.status cq0, watchdog)."""
        reg = self.map.register(path)
        bits = 0
        for name in fields:
            bits |= self.map.field(f"{reg.path}.{name}").mask  # RegisterError names an unknown field
        return bits
