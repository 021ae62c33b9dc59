"""Register access semantics, one small class each, and the ports that combine them.

A field's behaviour on one side (host, firmware, unit) is a read effect and a write
effect, chosen from the RDL (`sw`, `host_sw`/`fw_sw`, `onread`, `onwrite`,
`singlepulse`, `host_visible`). Effects work on bit masks, so fields that share an effect
are handled in one step. A `Port` binds one register's effects for one side; the
register file keeps a dict of ports per side, so an access is a lookup and a call.
"""

from __future__ import annotations

from typing import NamedTuple

from firmware.hw.regmap import Field, Register


class Slot:
    """The stored value of one register (shared by the ports of every side)."""

    __slots__ = ("mask", "reg", "value")

    def __init__(self, reg: Register) -> None:
        self.reg = reg
        self.mask = reg.defined_mask  # the bits a plain write can store
        self.value = reg.reset


# ---------------------------------------------------------------- read effects
class ReadEffect:
    """What a read shows of the bits under `mask`, and what it leaves stored."""

    name = ""

    def read(self, value: int, mask: int) -> tuple[int, int]:
        raise NotImplementedError


class Readable(ReadEffect):
    """Plain read: shows the stored bits, changes nothing."""

    name = "read"

    def read(self, value: int, mask: int) -> tuple[int, int]:
        return value & mask, value


class ReadsZero(ReadEffect):
    """Write-only or no access: reads 0, changes nothing."""

    name = "reads-zero"

    def read(self, value: int, mask: int) -> tuple[int, int]:
        return 0, value


class ClearOnRead(ReadEffect):
    """RDL `onread = rclr`: shows the bits, then clears them."""

    name = "clear-on-read"

    def read(self, value: int, mask: int) -> tuple[int, int]:
        return value & mask, value & ~mask


class SetOnRead(ReadEffect):
    """RDL `onread = rset`: shows the bits, then sets them."""

    name = "set-on-read"

    def read(self, value: int, mask: int) -> tuple[int, int]:
        return value & mask, value | mask


# ---------------------------------------------------------------- write effects
class WriteEffect:
    """The stored value after writing `data` to the bits under `mask`."""

    name = ""

    def write(self, old: int, data: int, mask: int) -> int:
        raise NotImplementedError


class Stores(WriteEffect):
    """Plain write: the bits take the written value."""

    name = "store"

    def write(self, old: int, data: int, mask: int) -> int:
        return (old & ~mask) | (data & mask)


class Ignores(WriteEffect):
    """Read-only or no access: the write changes nothing."""

    name = "ignore"

    def write(self, old: int, data: int, mask: int) -> int:
        return old


class WriteOneToClear(WriteEffect):
    """RDL `woclr` (W1C): each written 1 clears its bit; 0s leave bits alone."""

    name = "w1c"

    def write(self, old: int, data: int, mask: int) -> int:
        return old & ~(data & mask)


class WriteOneToSet(WriteEffect):
    """RDL `woset` (W1S): each written 1 sets its bit."""

    name = "w1s"

    def write(self, old: int, data: int, mask: int) -> int:
        return old | (data & mask)


class WriteClears(WriteEffect):
    """RDL `onwrite = wclr`: any write clears the field."""

    name = "clear-on-write"

    def write(self, old: int, data: int, mask: int) -> int:
        return old & ~mask


class WriteSets(WriteEffect):
    """RDL `onwrite = wset`: any write sets the field."""

    name = "set-on-write"

    def write(self, old: int, data: int, mask: int) -> int:
        return old | mask


class Strobe(WriteEffect):
    """RDL `singlepulse`: the write is a one-cycle pulse; nothing is stored (reads 0)."""

    name = "strobe"

    def write(self, old: int, data: int, mask: int) -> int:
        return old & ~mask


READABLE, READS_ZERO, CLEAR_ON_READ, SET_ON_READ = Readable(), ReadsZero(), ClearOnRead(), SetOnRead()
STORES, IGNORES, STROBE = Stores(), Ignores(), Strobe()
_ONREAD = {None: READABLE, "rclr": CLEAR_ON_READ, "rset": SET_ON_READ}
_ONWRITE = {None: STORES, "woclr": WriteOneToClear(), "woset": WriteOneToSet(),
            "wclr": WriteClears(), "wset": WriteSets()}


def read_effect(f: Field, side: str) -> ReadEffect:
    if side == "unit":
        return READABLE  # hardware sees its own registers without side effects
    return _ONREAD[f.onread] if "r" in f.rights(side) else READS_ZERO


def write_effect(f: Field, side: str) -> WriteEffect:
    if side == "unit":
        return STORES  # hardware sets any register to any value
    if "w" not in f.rights(side):
        return IGNORES
    return STROBE if f.singlepulse else _ONWRITE[f.onwrite]


def _groups(pairs: list[tuple[object, int]], skip: object) -> tuple[tuple[object, int], ...]:
    """Merge the masks of fields that share an effect; drop the effect that does nothing."""
    merged: dict[object, int] = {}
    for effect, mask in pairs:
        if effect is not skip:
            merged[effect] = merged.get(effect, 0) | mask
    return tuple(merged.items())


# ---------------------------------------------------------------- ports
Groups = tuple[tuple[object, int], ...]


class Port:
    """One register as one side sees it: its read and write effects, and its hooks."""

    __slots__ = (
        "plain_read", "plain_write", "read_hooks", "readable", "reads", "reg", "side", "slot", "writable",
        "write_hooks", "writes",
    )

    def __init__(self, slot: Slot, side: str, reads: Groups, writes: Groups) -> None:
        self.slot = slot
        self.reg = slot.reg
        self.side = side
        self.reads = reads
        self.writes = writes
        self.readable = bool(reads)
        self.writable = bool(writes)
        mask = slot.reg.defined_mask
        # A read that shows the stored value and changes nothing; a write that stores it.
        self.plain_read = reads == ((READABLE, mask),)
        self.plain_write = writes == ((STORES, mask),)
        self.read_hooks: list = []
        self.write_hooks: list = []

    def read(self, lanes: int = -1) -> int:
        """Apply a read; `lanes` limits its effects to some bits (a narrow bus access)."""
        slot = self.slot
        kept = slot.value
        shown = 0
        for effect, mask in self.reads:
            bits, kept = effect.read(kept, mask & lanes)
            shown |= bits
        slot.value = kept
        return shown

    def write(self, data: int, lanes: int = -1) -> None:
        """Apply a write; `lanes` limits it to some bits (a narrow bus access)."""
        slot = self.slot
        value = slot.value
        for effect, mask in self.writes:
            value = effect.write(value, data, mask & lanes)
        slot.value = value


class PlainPort(Port):
    """Every field readable and plainly writable from this side: the fast common case."""

    __slots__ = ("mask",)

    def __init__(self, slot: Slot, side: str, reads: Groups, writes: Groups) -> None:
        super().__init__(slot, side, reads, writes)
        self.mask = slot.reg.defined_mask

    def read(self, lanes: int = -1) -> int:
        return self.slot.value

    def write(self, data: int, lanes: int = -1) -> None:
        slot = self.slot
        if lanes == -1:
            slot.value = data & self.mask
        else:
            slot.value = (slot.value & ~lanes) | (data & lanes & self.mask)


class ReadOnlyPort(Port):
    """Every field plainly readable and none writable from this side."""

    __slots__ = ()

    def read(self, lanes: int = -1) -> int:
        return self.slot.value

    def write(self, data: int, lanes: int = -1) -> None:
        return None


class SimplePort(Port):
    """One read effect and one write effect: called directly, without the loops."""

    __slots__ = ("read_effect", "read_mask", "write_effect", "write_mask")

    def __init__(self, slot: Slot, side: str, reads: Groups, writes: Groups) -> None:
        super().__init__(slot, side, reads, writes)
        self.read_effect, self.read_mask = reads[0] if reads else (READS_ZERO, 0)
        self.write_effect, self.write_mask = writes[0] if writes else (IGNORES, 0)

    def read(self, lanes: int = -1) -> int:
        slot = self.slot
        shown, slot.value = self.read_effect.read(slot.value, self.read_mask & lanes)
        return shown

    def write(self, data: int, lanes: int = -1) -> None:
        slot = self.slot
        slot.value = self.write_effect.write(slot.value, data, self.write_mask & lanes)


class PortPlan(NamedTuple):
    """What a port for one register and side is made of; depends on the map only."""

    cls: type[Port]
    reads: Groups
    writes: Groups


def plan(reg: Register, side: str) -> PortPlan:
    """The effects of `reg` for `side`, and the fastest port class that implements them."""
    reads = _groups([(read_effect(f, side), f.mask) for f in reg.fields], READS_ZERO)
    writes = _groups([(write_effect(f, side), f.mask) for f in reg.fields], IGNORES)
    mask = reg.defined_mask
    cls: type[Port] = Port
    if reads == ((READABLE, mask),) and writes == ((STORES, mask),):
        cls = PlainPort
    elif reads == ((READABLE, mask),) and not writes:
        cls = ReadOnlyPort
    elif len(reads) <= 1 and len(writes) <= 1:
        cls = SimplePort
    return PortPlan(cls, reads, writes)


def make_port(slot: Slot, side: str, how: PortPlan | None = None) -> Port:
    how = how or plan(slot.reg, side)
    return how.cls(slot, side, how.reads, how.writes)
