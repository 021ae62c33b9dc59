"""gdb's Z/z packets as the Session's stop points: the same table `info breakpoints` shows.

Z0 (software) and Z1 (hardware) breakpoints become `Breakpoint`s; Z2/Z3/Z4 become
memory `MemoryWatch`es (write / read / access) of the length gdb gives. Each one is
remembered by (type, address, length) so that `z` removes exactly what `Z` made, a
repeated `Z` is not doubled, and a dropped connection removes what gdb left behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from debugger.breakpoints import Breakpoint
from debugger.watch import MemoryWatch

if TYPE_CHECKING:
    from debugger.session import Session

WATCH_KINDS = {2: "write", 3: "read", 4: "access"}
Key = tuple[int, int, int]  # (Z type, address, length)


class GdbPoints:
    """The stop points one gdb connection inserted, by their Z key."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.numbers: dict[Key, int] = {}

    def insert(self, ztype: int, addr: int, length: int) -> None:
        """Z: add the point (NpuError when the target cannot, e.g. out of watch slots)."""
        key = (ztype, addr, length)
        if key in self.numbers and self.numbers[key] in self.s.points.items:
            return
        points = self.s.points
        n = points.number()
        if ztype in (0, 1):
            points.add(Breakpoint(n, spec=f"*0x{addr:x}", addrs=(addr,)))
        else:
            points.add(MemoryWatch(n, expr=f"*(char[{length}]*)0x{addr:x}", addr=addr, size=length,
                                   kind=WATCH_KINDS[ztype]))
        self.numbers[key] = n

    def remove(self, ztype: int, addr: int, length: int) -> None:
        """z: remove the point if it is still there (gdb removes what it inserted; absent is fine)."""
        n = self.numbers.pop((ztype, addr, length), None)
        if n is not None and n in self.s.points.items:
            self.s.points.delete(n)

    def key_of(self, number: int | None) -> Key | None:
        """The Z key of stop point `number` when gdb inserted it, else None."""
        return next((key for key, n in self.numbers.items() if n == number), None)

    def watch_kind(self, number: int | None) -> str | None:
        """The kind (write/read/access) of gdb's watchpoint `number`, None when it is not one of gdb's."""
        key = self.key_of(number)
        return WATCH_KINDS.get(key[0]) if key is not None else None

    def clear(self) -> None:
        for key in list(self.numbers):
            self.remove(*key)
