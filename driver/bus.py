"""The bus: the one seam between the driver and a device, and the one place accesses can be observed.

`Bus` wraps a `Transport` (how accesses reach a device: in-process today, another
process later) and is what the rest of the driver calls: 8/16/32-bit BAR0 reads and
writes, BAR2 bulk reads and writes, waiting for the host interrupt with a timeout in
ticks, and advancing virtual time. Every call makes one check of the observer tuple:
with no observer attached that check is the whole cost; with observers (the debugger's
MMIO tracer, MMIO catchpoints) each access is reported as a `BusAccess` carrying side,
offset, width, value, tick and the host call site (the first frame outside the bus
and register layers). Register decoding and the call site's line number are left to
whoever reads the event (`BusAccess.register`, `.fields()`, `.line`), so tracing stays
cheap.

Observers of writes run before the device sees the write (a catchpoint on a doorbell
stops with the ring filled but the firmware not yet told); observers of reads run
after, with the value read.

`read` and `write`, the general BAR0 accesses, are rebound on each `observe`/`unobserve`
(the one dispatch point, without a layer of calls): with no observer, to the transport's
own functions when it declares they take the bus's arguments (`direct_bar0`); with
observers, to closures that build the event. So take `bus.read`/`bus.write` afresh after
attaching an observer; a reference taken before keeps its old binding. The width-named
accesses (`read32`, `write8`, ...) are methods and always check.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any, NamedTuple, Protocol

_HERE = __file__


class Transport(Protocol):
    """How the bus reaches a device. Narrow on purpose: an out-of-process transport implements the same.

    A transport may set `direct_bar0 = True` when its `bar0_read(offset, width=4)` and
    `bar0_write(offset, width, value)` take the bus's arguments as the bus does: an unobserved
    bus then hands them out as its own `read`/`write`.
    """

    def bar0_read(self, offset: int, width: int) -> int: ...
    def bar0_write(self, offset: int, width: int, value: int) -> None: ...
    def bar2_read(self, offset: int, n: int) -> bytes: ...
    def bar2_write(self, offset: int, data: bytes | bytearray | memoryview) -> None: ...
    def wait_irq(self, timeout_ticks: int) -> bool: ...
    def irq_pending(self) -> bool: ...
    def advance(self, ticks: int) -> None: ...
    def now(self) -> int: ...
    def describe(self) -> dict[str, Any]: ...


class BusAccess(NamedTuple):
    """One access as observers see it; decoding happens only when asked.

    kind: "read", "write", "wait" (an IRQ wait: width = timeout in ticks, value = 1 if
    the line was up) or "advance" (width = ticks). side: "bar0", "bar2" or "irq".
    For BAR2, `width` is the byte count and `value` the bytes (reads) or data (writes).
    """

    kind: str
    side: str
    offset: int
    width: int
    value: Any
    tick: int
    code: CodeType | None  # code object of the host call site
    lasti: int  # its instruction offset: the line is worked out only when asked (f_lineno is costly)

    @property
    def line(self) -> int:
        """Source line of the host call site."""
        if self.code is None:
            return 0
        for start, end, line in self.code.co_lines():
            if start <= self.lasti < end and line is not None:
                return line
        return self.code.co_firstlineno

    @property
    def site(self) -> str:
        """`file:line in function` of the host code that made the access."""
        if self.code is None:
            return "?"
        return f"{self.code.co_filename}:{self.line} in {self.code.co_name}"

    @property
    def register(self) -> str | None:
        """The register path at a BAR0 offset (None for BAR2 or an unmapped offset)."""
        if self.side != "bar0":
            return None
        from firmware.hw.regmap import regmap

        reg = regmap().at_offset(self.offset & ~3)
        return reg.path if reg is not None else None

    def fields(self) -> list[Any]:
        """The value split into the register's fields (empty when not a mapped BAR0 access)."""
        path = self.register
        if path is None or not isinstance(self.value, int):
            return []
        from firmware.hw.regmap import regmap

        shift = (self.offset & 3) * 8
        return regmap().decode(path, self.value << shift)

    def __str__(self) -> str:
        if self.side == "bar0":
            name = self.register or f"0x{self.offset:04x}"
            return f"{self.tick:>12} {self.kind:<5} {name} = 0x{self.value:0{self.width * 2}x}  ({self.site})"
        if self.side == "bar2":
            return f"{self.tick:>12} {self.kind:<5} bar2+0x{self.offset:x} {self.width} bytes  ({self.site})"
        return f"{self.tick:>12} {self.kind:<5} {self.width} ticks -> {self.value}  ({self.site})"


Observer = Callable[[BusAccess], None]


_SKIP: set[str] = {_HERE}
_getframe = sys._getframe
_new = tuple.__new__


def _site(f: FrameType | None) -> tuple[CodeType | None, int]:
    """(code, instruction offset) of the first frame from `f` outward outside the bus-level modules.

    Taken at access time (a frame's position moves on); the line is worked out only when asked.
    """
    while f is not None and f.f_code.co_filename in _SKIP:
        f = f.f_back
    return (None, 0) if f is None else (f.f_code, f.f_lasti)


def _event(kind: str, side: str, offset: int, width: int, value: Any, tick: int) -> BusAccess:
    """The event, with the first frame outside the bus-level modules as its call site."""
    code, lasti = _site(_getframe(2))
    return _new(BusAccess, (kind, side, offset, width, value, tick, code, lasti))


def skip_in_call_sites(filename: str) -> None:
    """Attribute accesses made from `filename` to its caller (thin register-access layers)."""
    _SKIP.add(filename)


class Bus:
    """Register and memory access to one device through its transport, with observers."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._observers: tuple[Observer, ...] = ()
        t = transport
        self._r0, self._w0, self._now = t.bar0_read, t.bar0_write, t.now
        self._direct = bool(getattr(t, "direct_bar0", False))
        self._bind()

    # ------------------------------------------------------------ observers

    def observe(self, fn: Observer) -> Observer:
        """Attach an observer (called with every `BusAccess`); returns it, for `unobserve`."""
        self._observers = (*self._observers, fn)
        self._bind()
        return fn

    def unobserve(self, fn: Observer) -> None:
        self._observers = tuple(o for o in self._observers if o is not fn)
        self._bind()

    def _bind(self) -> None:
        """Point `read`/`write` at what serves them with the observers as they are now."""
        if self._observers:
            self.read, self.write = _traced(self)  # type: ignore[method-assign]
        elif self._direct:
            self.read, self.write = self._r0, self._w0  # type: ignore[method-assign]
        else:
            self.__dict__.pop("read", None)  # the methods below
            self.__dict__.pop("write", None)

    @property
    def observed(self) -> bool:
        return bool(self._observers)

    def _notify(self, kind: str, side: str, offset: int, width: int, value: Any, tick: int) -> None:
        event = _event(kind, side, offset, width, value, tick)
        for fn in self._observers:
            fn(event)

    # ------------------------------------------------------------ BAR0
    # (`_bind` shadows `read` and `write` per instance; these are what they stand for.)

    def read(self, offset: int, width: int = 4) -> int:
        if not self._observers:
            return self._r0(offset, width)
        tick = self._now()
        value = self._r0(offset, width)
        code, lasti = _site(_getframe(1))  # (past a register layer, or read8/read16)
        event = _new(BusAccess, ("read", "bar0", offset, width, value, tick, code, lasti))
        for fn in self._observers:
            fn(event)
        return value

    def write(self, offset: int, width: int, value: int) -> None:
        if self._observers:
            code, lasti = _site(_getframe(1))
            event = _new(BusAccess, ("write", "bar0", offset, width, value, self._now(), code, lasti))
            for fn in self._observers:
                fn(event)
        self._w0(offset, width, value)

    def read8(self, offset: int) -> int:
        return self.read(offset, 1)

    def read16(self, offset: int) -> int:
        return self.read(offset, 2)

    def read32(self, offset: int) -> int:
        if not self._observers:
            return self._r0(offset, 4)
        return self.read(offset, 4)

    def write8(self, offset: int, value: int) -> None:
        self.write(offset, 1, value)

    def write16(self, offset: int, value: int) -> None:
        self.write(offset, 2, value)

    def write32(self, offset: int, value: int) -> None:
        if not self._observers:
            self._w0(offset, 4, value)
            return
        self.write(offset, 4, value)

    # ------------------------------------------------------------ BAR2

    def bar2_read(self, offset: int, n: int) -> bytes:
        if not self._observers:
            return self.transport.bar2_read(offset, n)
        tick = self.transport.now()
        data = self.transport.bar2_read(offset, n)
        self._notify("read", "bar2", offset, n, data, tick)
        return data

    def bar2_write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        if self._observers:
            self._notify("write", "bar2", offset, len(data), data, self.transport.now())
        self.transport.bar2_write(offset, data)

    # ------------------------------------------------------------ interrupts and time

    def wait_irq(self, timeout_ticks: int) -> bool:
        """Run the device until the host interrupt line is up or `timeout_ticks` pass; True if it is up."""
        if not self._observers:
            return self.transport.wait_irq(timeout_ticks)
        tick = self.transport.now()
        up = self.transport.wait_irq(timeout_ticks)
        self._notify("wait", "irq", 0, timeout_ticks, int(up), tick)
        return up

    def irq_pending(self) -> bool:
        return self.transport.irq_pending()

    def advance(self, ticks: int) -> None:
        """Let `ticks` of virtual time pass (the host busy elsewhere, or polling)."""
        if self._observers:
            self._notify("advance", "irq", 0, ticks, None, self.transport.now())
        self.transport.advance(ticks)

    def now(self) -> int:
        return self.transport.now()


def _traced(bus: Bus) -> tuple[Callable[[int, int], int], Callable[[int, int, int], None]]:
    """`read` and `write` of an observed bus: `Bus.read`/`Bus.write` with the check made and
    everything they use bound once (the observers are read per access: `unobserve` may run
    inside one)."""
    r0, w0, now = bus._r0, bus._w0, bus._now
    getframe, site, new, access = _getframe, _site, _new, BusAccess

    def read(offset: int, width: int = 4) -> int:
        tick = now()
        value = r0(offset, width)
        code, lasti = site(getframe(1))  # (past a register layer, or read8/read16)
        event = new(access, ("read", "bar0", offset, width, value, tick, code, lasti))
        for fn in bus._observers:
            fn(event)
        return value

    def write(offset: int, width: int, value: int) -> None:
        code, lasti = site(getframe(1))
        event = new(access, ("write", "bar0", offset, width, value, now(), code, lasti))
        for fn in bus._observers:
            fn(event)
        w0(offset, width, value)

    return read, write
