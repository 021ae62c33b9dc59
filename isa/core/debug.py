"""Breakpoints and watchpoints: ids for the debugger, the C core's patched entries and watch slots."""

from __future__ import annotations

from dataclasses import dataclass

from isa.core._core import lib
from isa.errors import NpuError

WATCH_KINDS = {"read": lib.ACC_READ, "write": lib.ACC_WRITE, "access": lib.ACC_READ | lib.ACC_WRITE}


class Breakpoints:
    """Breakpoint ids by address; several ids may share one address."""

    def __init__(self, core_ptr: object) -> None:
        self._c = core_ptr
        self._addr: dict[int, int] = {}
        self._ids_at: dict[int, list[int]] = {}
        self._next = 1

    def add(self, addr: int) -> int:
        if addr % 4:
            raise NpuError(f"breakpoint at {addr:#010x}: not a 4-byte aligned instruction address")
        if addr not in self._ids_at and not lib.core_set_breakpoint(self._c, addr, 1):
            raise NpuError(f"breakpoint at {addr:#010x}: not in an executable region")
        bp, self._next = self._next, self._next + 1
        self._addr[bp] = addr
        self._ids_at.setdefault(addr, []).append(bp)
        return bp

    def remove(self, bp: int) -> None:
        addr = self._addr.pop(bp, None)
        if addr is None:
            raise NpuError(f"no breakpoint {bp}")
        ids = self._ids_at[addr]
        ids.remove(bp)
        if not ids:
            del self._ids_at[addr]
            lib.core_set_breakpoint(self._c, addr, 0)

    def first_at(self, addr: int) -> int | None:
        ids = self._ids_at.get(addr)
        return ids[0] if ids else None

    def __len__(self) -> int:
        return len(self._addr)


@dataclass(frozen=True)
class Watchpoint:
    id: int
    addr: int
    size: int
    kind: str
    slot: int


class Watchpoints:
    """Watch ranges by id, each in one C slot (lib.MAX_WATCH of them)."""

    def __init__(self, core_ptr: object) -> None:
        self._c = core_ptr
        self._by_id: dict[int, Watchpoint] = {}
        self._by_slot: dict[int, Watchpoint] = {}
        self._next = 1

    def add(self, addr: int, size: int, kind: str) -> int:
        if kind not in WATCH_KINDS:
            raise NpuError(f"unknown watchpoint kind '{kind}' (read, write or access)")
        if size <= 0 or addr < 0 or addr + size >= 1 << 32:
            raise NpuError(f"watchpoint at {addr:#x} size {size}: outside the 32-bit address space")
        slot = lib.core_add_watch(self._c, addr, addr + size, WATCH_KINDS[kind])
        if slot < 0:
            raise NpuError(f"too many watchpoints (at most {lib.MAX_WATCH})")
        wp = Watchpoint(self._next, addr, size, kind, slot)
        self._next += 1
        self._by_id[wp.id] = self._by_slot[slot] = wp
        return wp.id

    def remove(self, wp_id: int) -> None:
        wp = self._by_id.pop(wp_id, None)
        if wp is None:
            raise NpuError(f"no watchpoint {wp_id}")
        del self._by_slot[wp.slot]
        lib.core_remove_watch(self._c, wp.slot)

    def by_slot(self, slot: int) -> Watchpoint:
        return self._by_slot[slot]
