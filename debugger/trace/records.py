"""One traced MMIO access, and the decoding that happens only when a record is shown or saved.

A record holds raw facts (tick, side, direction, width, address, register path, value,
firmware pc or host call site); field names and enum names come from the register map
on demand, so recording costs one tuple per access.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from firmware.hw.regmap import FieldValue, regmap


class MmioRecord(NamedTuple):
    """One register access by the host (BAR0) or the firmware (its MMIO port)."""

    seq: int  # order of recording, from 1
    tick: int  # virtual time
    side: str  # "host" or "firmware"
    kind: str  # "read" or "write"
    width: int  # bytes
    addr: int  # the firmware's MMIO address (BAR0 offset N is MMIO base + N)
    path: str  # register path, RDL spelling
    value: int
    pc: int | None  # the firmware instruction (firmware side)
    site: str | None  # the host call site `file:line in function` (host side)
    call: int = 0  # host driver call number (0: none), for timelines
    api: str | None = None  # the driver function the host was in (`Ops.matmul`)

    @property
    def offset(self) -> int:
        return self.addr - regmap().mmio_base

    @property
    def register(self) -> str:
        """The display name (`QUEUE0.SQ_TAIL`)."""
        return self.path.upper()

    def fields(self) -> list[FieldValue]:
        """The register's fields in the value (a narrow access's bytes moved to their lanes)."""
        return regmap().decode(self.path, self.value << (self.addr & 3) * 8)

    def decoded(self) -> str:
        """`IDX=3`, `STATE=ready(2)`, or the set bits of a flag register (`CQ0 DMA_ERROR`)."""
        fields = self.fields()
        if len(fields) > 2 and all(regmap().field(f"{self.path}.{f.field}").width == 1 for f in fields):
            return " ".join(f.field.upper() for f in fields if f.value) or "-"
        parts = []
        for f in fields:
            shown = f"{f.enum}({f.value})" if f.enum else (f"{f.value:#x}" if f.value > 9 else str(f.value))
            parts.append(f"{f.field.upper()}={shown}")
        return " ".join(parts)

    def origin(self) -> str:
        if self.side == "firmware":
            return f"pc 0x{self.pc or 0:08x}"
        return self.site or "?"

    def line(self) -> str:
        """One line for `trace show`."""
        arrow = "<-" if self.kind == "read" else "->"
        who = "fw  " if self.side == "firmware" else "host"
        return (f"{self.tick:>12}  {who} {self.kind[0].upper()}{self.width} {self.register:<24} {arrow} "
                f"0x{self.value:08x}  {self.decoded():<28}  {self.origin()}")

    def to_json(self) -> dict[str, Any]:
        return {"type": "mmio", "seq": self.seq, "tick": self.tick, "side": self.side, "dir": self.kind,
                "width": self.width, "addr": self.addr, "offset": self.offset, "register": self.register,
                "value": self.value,
                "fields": {f.field: (f.enum if f.enum else f.value) for f in self.fields()},
                "pc": self.pc, "site": self.site, "call": self.call or None, "api": self.api}
