"""The live register file shared by the device, the driver-side bus and the debugger.

Owns the registers' values and every access to them: `read`/`write` with the full
semantics of the RDL for one side — "host" (BAR0 offsets), "firmware" (MMIO addresses)
or "unit" (the hardware itself) — and `peek`/`poke` with none, so a debugger view never
changes the device. Device behaviour attaches by register path (`on_write`/`on_read`);
observers see every access and every change, whoever made it. Without observers or hooks
an access costs two dict lookups, one port call and one check.

Accesses narrower than a register (8/16-bit bus accesses, `width=1|2` at a byte address)
apply their effects to the accessed byte lanes only (a byte write to a W1C register
clears only bits of that byte, a byte read of a clear-on-read register clears only that
byte) and are observed with their true offset, width and bytes.

`host_reads`/`host_writes` are the host's access plan for the fast path of BAR0: by
offset, the slots of registers whose host read shows the stored value (or whose host
write stores it) with no effect, hook or observer to run. They are kept in step with
hooks and observers (both are empty while an observer is attached), so a caller that
finds an offset there may read or store `slot.value` (masked by `slot.mask`) directly.

Every write, hook, poke, reset and restore forgets `horizon` (the device's idle horizon,
`firmware.hw.clock.Horizon`): device behaviour that may wake or start the core runs here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from firmware.hw.access import Port, PortPlan, Slot, make_port, plan
from firmware.hw.clock import Horizon
from firmware.hw.regmap import SIDES, FieldValue, Register, RegisterError, RegisterMap, canonical, regmap


class UnmappedError(RegisterError):
    """An access to an offset or address where the map has no register."""


class Access(NamedTuple):
    """One event seen by observers and hooks.

    kind "read": `old` is the stored value before, `new` the value the reader got.
    kind "write": `old` is the stored value before, `new` the value written.
    kind "change": the stored value went from `old` to `new`.
    `offset` and `width` (bits) are the access's: a narrow read or write reports its own
    byte offset and width and the bytes it carried (`new`); hooks and changes always see
    the whole register (`new` in place, other lanes 0, for a narrow write's hooks).
    `origin` is what the caller passed: a firmware pc, a host call site, "reset"…
    """

    side: str
    kind: str
    path: str
    offset: int
    width: int
    old: int
    new: int
    cycle: int
    origin: Any

    def in_lanes(self) -> int:
        """`new` where its bytes sit in the register (a narrow access carries only its own lanes)."""
        return self.new << (self.offset & 3) * 8

    def fields(self) -> list[FieldValue]:
        """The fields of `new` (moved to its byte lanes), decoded only when someone asks."""
        return regmap().decode(self.path, self.in_lanes())


Observer = Callable[[Access], None]
Hook = Callable[[Access], None]
_HOOK_SIDES = ("host", "firmware")


def _zero() -> int:
    return 0


_PLANS: dict[int, tuple[RegisterMap, dict[str, list[PortPlan]]]] = {}


def _plans(rmap: RegisterMap) -> dict[str, list[PortPlan]]:
    """Port plans per side in map order, worked out once per map (devices are made often)."""
    cached = _PLANS.get(id(rmap))
    if cached is None or cached[0] is not rmap:
        cached = _PLANS[id(rmap)] = (rmap, {s: [plan(r, s) for r in rmap.registers] for s in SIDES})
    return cached[1]


class RegisterFile:
    """The NPU's registers with their access semantics, hooks and observers."""

    def __init__(self, rmap: RegisterMap | None = None) -> None:
        self.map = rmap or regmap()
        self.clock: Callable[[], int] = _zero
        self.horizon = Horizon()  # the device shares its clock's
        self._slots = [Slot(r) for r in self.map.registers]
        self._observers: tuple[Observer, ...] = ()  # replaced, never mutated: safe to iterate
        self.host_reads: dict[int, Slot] = {}  # the host's fast path (see the module docstring);
        self.host_writes: dict[int, Slot] = {}  # updated in place, never replaced
        self._ports: dict[str, dict[Any, Port]] = {}
        base = self.map.mmio_base
        plans = _plans(self.map)
        for side in SIDES:
            ports: dict[Any, Port] = {}
            for slot, how in zip(self._slots, plans[side], strict=True):
                port = make_port(slot, side, how)
                reg = slot.reg
                ports[reg.path] = ports[reg.display] = port
                if side != "firmware":
                    ports[reg.offset] = port
                if side != "host":
                    ports[base + reg.offset] = port
            self._ports[side] = ports
        self._plan_host()

    def _plan_host(self) -> None:
        """Fill `host_reads`/`host_writes`: the offsets where a host access has no effect to run."""
        reads, writes = self.host_reads, self.host_writes
        reads.clear()
        writes.clear()
        if self._observers:
            return
        for key, port in self._ports["host"].items():
            if isinstance(key, int):
                if port.plain_read and not port.read_hooks:
                    reads[key] = port.slot
                if port.plain_write and not port.write_hooks:
                    writes[key] = port.slot

    # ---------------------------------------------------------------- lookup
    def _port(self, key: int | str, side: str) -> Port:
        """The port for a key the fast path missed: other spellings, or a clear error."""
        ports = self._ports.get(side)
        if ports is None:
            raise RegisterError(f"unknown side '{side}' (one of {', '.join(SIDES)})")
        if isinstance(key, str):
            port = ports.get(canonical(key))
            if port is None:
                self.map.register(key)  # raises with a suggestion
            return port
        if not isinstance(key, int):
            raise RegisterError(f"a register is named by path, offset or address, not {key!r}")
        where = "BAR0 offset" if side == "host" else "MMIO address" if side == "firmware" else "offset"
        if side == "host" and key >= self.map.mmio_base:
            raise UnmappedError(f"{where} 0x{key:x}: the host addresses registers by BAR0 offset")
        raise UnmappedError(f"no register at {where} 0x{key:x}")

    def register_at(self, key: int | str, side: str = "unit") -> Register:
        """The `Register` a key names for a side (offset, address or path)."""
        port = self._ports.get(side, {}).get(key)
        return (port or self._port(key, side)).reg

    # ---------------------------------------------------------------- full semantics
    def read(self, key: int | str, side: str, origin: Any = None, width: int = 4) -> int:
        """A read with its side effects (clear-on-read, hooks) as `side` sees the register.

        `width` 1 or 2: a narrow read at byte offset/address `key`, which returns those bytes.
        """
        if width != 4:
            return self._read_narrow(key, side, origin, width)
        try:
            port = self._ports[side][key]
        except KeyError:
            port = self._port(key, side)
        if port.read_hooks:
            self._run_hooks(port.read_hooks, port, "read", port.slot.value, origin)
        slot = port.slot
        old = slot.value
        value = port.read()
        if self._observers:
            self._note(port, "read", old, value, origin)
        return value

    def write(self, key: int | str, value: int, side: str, origin: Any = None, lanes: int = -1,
              width: int = 4) -> None:
        """A write with its semantics (W1C, strobes, rights, hooks); `lanes` masks which bits it reaches.

        `width` 1 or 2: a narrow write of `value` at byte offset/address `key`.
        """
        self.horizon.until = 0
        if width != 4:
            self._write_narrow(key, value, side, origin, width)
            return
        try:
            port = self._ports[side][key]
        except KeyError:
            port = self._port(key, side)
        slot = port.slot
        old = slot.value
        port.write(value, lanes)
        if self._observers:
            self._note(port, "write", old, value, origin)
        if port.write_hooks:
            self._run_hooks(port.write_hooks, port, "write", value, origin, old)

    def _narrow(self, key: int | str, side: str, width: int) -> tuple[Port, int, int]:
        """The port around a narrow access, the access's byte lane shift and its lane mask."""
        if width not in (1, 2):
            raise RegisterError(f"a register access is 1, 2 or 4 bytes wide, not {width}")
        if not isinstance(key, int) or key % width:
            raise RegisterError(f"a {width}-byte register access needs an offset or address aligned "
                                f"to {width}, not {key!r}")
        base = key & ~3
        try:
            port = self._ports[side][base]
        except KeyError:
            port = self._port(base, side)
        shift = (key - base) * 8
        return port, shift, ((1 << 8 * width) - 1) << shift

    def _read_narrow(self, key: int | str, side: str, origin: Any, width: int) -> int:
        port, shift, lanes = self._narrow(key, side, width)
        if port.read_hooks:
            self._run_hooks(port.read_hooks, port, "read", port.slot.value, origin)
        old = port.slot.value
        value = (port.read(lanes) & lanes) >> shift
        if self._observers:
            self._note(port, "read", old, value, origin, port.reg.offset + shift // 8, 8 * width)
        return value

    def _write_narrow(self, key: int | str, value: int, side: str, origin: Any, width: int) -> None:
        port, shift, lanes = self._narrow(key, side, width)
        placed = (value << shift) & lanes
        old = port.slot.value
        port.write(placed, lanes)
        if self._observers:
            self._note(port, "write", old, placed >> shift, origin, port.reg.offset + shift // 8, 8 * width)
        if port.write_hooks:
            self._run_hooks(port.write_hooks, port, "write", placed, origin, old)

    def _note(self, port: Port, kind: str, old: int, new: int, origin: Any, offset: int = -1,
              width: int = 0) -> None:
        reg = port.reg
        cycle = self.clock()
        now = port.slot.value
        observers = self._observers
        event = Access(port.side, kind, reg.path, reg.offset if offset < 0 else offset, width or reg.width,
                       old, new, cycle, origin)
        for observer in observers:
            observer(event)
        if now != old:
            event = Access(port.side, "change", reg.path, reg.offset, reg.width, old, now, cycle, origin)
            for observer in observers:
                observer(event)

    def _run_hooks(self, hooks: list, port: Port, kind: str, new: int, origin: Any,
                   old: int | None = None) -> None:
        self.horizon.until = 0
        reg = port.reg
        before = port.slot.value if old is None else old
        event = Access(port.side, kind, reg.path, reg.offset, reg.width, before, new, self.clock(), origin)
        for hook in tuple(hooks):
            hook(event)

    # ---------------------------------------------------------------- no side effects
    def peek(self, key: int | str) -> int:
        """The stored value, with no effect at all (for debugger views)."""
        try:
            return self._ports["unit"][key].slot.value
        except KeyError:
            return self._port(key, "unit").slot.value

    def poke(self, key: int | str, value: int, origin: Any = "debugger") -> None:
        """Store a value with no semantics and no hooks; observers see a "debugger" change."""
        try:
            port = self._ports["unit"][key]
        except KeyError:
            port = self._port(key, "unit")
        self.horizon.until = 0
        slot = port.slot
        old = slot.value
        slot.value = value & port.reg.defined_mask
        if self._observers and slot.value != old:
            reg = port.reg
            event = Access("debugger", "change", reg.path, reg.offset, reg.width, old, slot.value,
                           self.clock(), origin)
            for observer in self._observers:
                observer(event)

    def slot(self, key: int | str) -> Slot:
        """The live storage of a register: `slot.value` is what `peek` returns, read with no
        lookup (device models poll a few registers on hot paths); it is never replaced."""
        try:
            return self._ports["unit"][key].slot
        except KeyError:
            return self._port(key, "unit").slot

    # ---------------------------------------------------------------- fields, for units
    def field(self, path: str) -> int:
        """A field's stored value, no side effects (`dma.err_cause` or `DMA.ERR_CAUSE.CAUSE`)."""
        f = self.map.field(path)
        return f.extract(self.peek(f.register))

    def set_field(self, path: str, value: int | str, side: str = "unit", origin: Any = None) -> None:
        """Write one field as `side`, leaving the register's other fields as stored."""
        f = self.map.field(path)
        number = self.map.encode(f.register, **{f.name: value})
        self.write(f.register, number, side, origin, lanes=f.mask)

    def set_bits(self, key: int | str, bits: int, origin: Any = None) -> None:
        """A unit sets bits (e.g. latches an interrupt cause)."""
        self.write(key, self.peek(key) | bits, "unit", origin)

    def clear_bits(self, key: int | str, bits: int, origin: Any = None) -> None:
        """A unit clears bits."""
        self.write(key, self.peek(key) & ~bits, "unit", origin)

    # ---------------------------------------------------------------- hooks, observers
    def on_write(self, path: str, fn: Hook | None = None, *, sides: tuple[str, ...] = _HOOK_SIDES):
        """Run `fn(access)` after each write by one of `sides` that reaches the register.

        Usable as a decorator: `@regs.on_write("queue0.sq_doorbell")`. A write the side
        has no right to (firmware-only register from BAR0, read-only field) runs no hook.
        """
        return self._attach("write", path, fn, sides)

    def on_read(self, path: str, fn: Hook | None = None, *, sides: tuple[str, ...] = _HOOK_SIDES):
        """Run `fn(access)` before each read by one of `sides`; it may update the value read."""
        return self._attach("read", path, fn, sides)

    def _attach(self, kind: str, path: str, fn: Hook | None, sides: tuple[str, ...]):
        reg = self.map.register(path)  # an unknown path fails here, at registration
        for side in sides:
            if side not in SIDES:
                raise RegisterError(f"unknown side '{side}' (one of {', '.join(SIDES)})")

        ports = [self._ports[side][reg.path] for side in sides]
        if not any(p.readable if kind == "read" else p.writable for p in ports):
            raise RegisterError(f"{reg.display}: no side of {', '.join(sides)} can {kind} it; "
                                "the hook would never run")

        def attach(hook: Hook) -> Hook:
            for port in ports:
                if kind == "read" and port.readable:
                    port.read_hooks.append(hook)
                if kind == "write" and port.writable:
                    port.write_hooks.append(hook)
            # The host's fast path must now run the hook.
            (self.host_reads if kind == "read" else self.host_writes).pop(reg.offset, None)
            return hook

        return attach(fn) if fn is not None else attach

    def observe(self, callback: Observer) -> Observer:
        """Call `callback(access)` on every access and every change, from any side."""
        self._observers = (*self._observers, callback)
        self._plan_host()
        return callback

    def unobserve(self, callback: Observer) -> None:
        """Stop calling `callback`; unknown callbacks are an error in the caller."""
        observers = list(self._observers)
        observers.remove(callback)
        self._observers = tuple(observers)
        self._plan_host()

    # ---------------------------------------------------------------- state
    def reset(self, origin: Any = "reset") -> None:
        """Every register back to its reset value; observers see the changes as the unit's."""
        self.horizon.until = 0
        for slot in self._slots:
            if slot.value != slot.reg.reset:
                old, slot.value = slot.value, slot.reg.reset
                if self._observers:
                    reg = slot.reg
                    event = Access("unit", "change", reg.path, reg.offset, reg.width, old, slot.value,
                                   self.clock(), origin)
                    for observer in self._observers:
                        observer(event)

    def snapshot(self) -> tuple[int, ...]:
        """Every stored value, in map order (for device save/restore)."""
        return tuple(slot.value for slot in self._slots)

    def restore(self, values: tuple[int, ...] | list[int]) -> None:
        if len(values) != len(self._slots):
            raise RegisterError(f"snapshot holds {len(values)} registers; the map has {len(self._slots)}")
        self.horizon.until = 0
        for slot, value in zip(self._slots, values, strict=True):
            slot.value = value

    def values(self) -> dict[str, int]:
        """Every stored value by path (for dumps and tests)."""
        return {slot.reg.path: slot.value for slot in self._slots}
