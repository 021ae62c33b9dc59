"""The MMIO trace: every register access of the host and the firmware, as it happens, with its origin.

One observer on the device's register file sees both sides: the host's BAR0
accesses (through whatever bus or transport the driver uses) and the firmware's
MMIO port. Firmware accesses carry their pc; for host accesses the observer walks
the host thread's stack once to name the call site (the first frame outside the bus
layers) and the driver call it belongs to (the outermost driver frame), which is what
a timeline groups into driver calls. Filters (block, register, direction, side)
are parsed once and applied before a record is made.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, FrameType
from typing import TYPE_CHECKING

from debugger.errors import UsageError
from debugger.trace.records import MmioRecord
from firmware.hw.regmap import RegisterError, regmap

if TYPE_CHECKING:
    from firmware.hw.regfile import Access, RegisterFile

DEFAULT_LIMIT = 1_000_000  # records kept (the oldest are dropped and counted)
SIDES = ("host", "firmware")
KINDS = ("read", "write")
_SIDE_WORDS = {"host": "host", "firmware": "firmware", "fw": "firmware"}
_KIND_WORDS = {"read": "read", "r": "read", "write": "write", "w": "write"}

_ROOT = Path(__file__).resolve().parents[2]
_DRIVER = str(_ROOT / "driver") + os.sep
# Frames in these places are plumbing between the host's call and the register file.
_PLUMBING = tuple(str(_ROOT / p) for p in ("firmware" + os.sep + "hw" + os.sep, "debugger" + os.sep,
                                           "driver" + os.sep + "bus.py", "driver" + os.sep + "registers.py",
                                           "driver" + os.sep + "transport.py"))
_THREADING = os.path.dirname(os.__file__)


@dataclass(frozen=True)
class MmioFilter:
    """What to record: register paths (None: every register), sides and directions."""

    paths: frozenset[str] | None = None
    sides: frozenset[str] = frozenset(SIDES)
    kinds: frozenset[str] = frozenset(KINDS)
    words: tuple[str, ...] = ()

    def __str__(self) -> str:
        return " ".join(self.words) or "all registers, both sides, reads and writes"


def parse_filter(words: list[str] | tuple[str, ...]) -> MmioFilter:
    """`QUEUE0 DMA.ERR_CAUSE write host` → a filter; a word that names nothing is a one-line error."""
    rmap = regmap()
    paths: set[str] = set()
    sides: set[str] = set()
    kinds: set[str] = set()
    for word in words:
        low = word.lower()
        if low in _SIDE_WORDS:
            sides.add(_SIDE_WORDS[low])
        elif low in _KIND_WORDS:
            kinds.add(_KIND_WORDS[low])
        else:
            paths.update(_registers_named(rmap, word))
    return MmioFilter(frozenset(paths) if paths else None, frozenset(sides or SIDES),
                      frozenset(kinds or KINDS), tuple(words))


def _registers_named(rmap, word: str) -> list[str]:
    """A block's registers, one register, or a field's register."""
    name = word.strip().lower()
    if "." not in name or name.startswith("."):
        try:
            return [r.path for r in rmap.block(name).registers]
        except RegisterError:
            pass
    try:
        found = rmap.find(name)
    except RegisterError:
        blocks = {b.name for b in rmap.blocks}
        import difflib

        guess = difflib.get_close_matches(name, sorted(blocks) + [r.path for r in rmap.registers], n=1)
        hint = f"; did you mean {guess[0].upper()}?" if guess else ""
        raise UsageError(f"trace mmio: '{word}' is not a register block, register, field, direction "
                         f"(read, write) or side (host, firmware){hint}") from None
    return [getattr(found, "register", None) or found.path]


def _short(path: str) -> str:
    try:
        return os.path.relpath(path, _ROOT) if path.startswith(str(_ROOT)) else path
    except ValueError:
        return path


class _Sites:
    """Host call sites and driver calls, found by walking the stack of the accessing thread."""

    def __init__(self) -> None:
        self._names: dict[CodeType, str] = {}
        self._frame: FrameType | None = None  # the current driver call's outermost frame (kept alive,
        self.call = 0  # so that its identity cannot be reused by the next call)
        self.api: str | None = None

    def _name(self, code: CodeType) -> str:
        name = self._names.get(code)
        if name is None:
            name = self._names[code] = _short(code.co_filename)
        return name

    def find(self) -> tuple[str, int, str | None]:
        """(site, driver call number, driver function) of the host access being made now."""
        f: FrameType | None = sys._getframe(2)
        while f is not None and f.f_code.co_filename.startswith(_PLUMBING):
            f = f.f_back
        if f is None:
            return "?", 0, None
        site = f"{self._name(f.f_code)}:{f.f_lineno} in {f.f_code.co_name}"
        outer = None
        while f is not None and (f.f_code.co_filename.startswith(_DRIVER)
                                 or f.f_code.co_filename.startswith(_PLUMBING)):
            if f.f_code.co_filename.startswith(_DRIVER):
                outer = f
            f = f.f_back
        if outer is None:
            return site, 0, None
        if outer is not self._frame:
            self._frame = outer
            self.call += 1
            self.api = getattr(outer.f_code, "co_qualname", outer.f_code.co_name)
        return site, self.call, self.api

    def forget(self) -> None:
        self._frame = None


class MmioTrace:
    """Records register accesses while on; `records` holds the newest `limit` of them."""

    def __init__(self, regs: RegisterFile, limit: int = DEFAULT_LIMIT) -> None:
        self.regs = regs
        self.base = regs.map.mmio_base
        self.records: deque[MmioRecord] = deque(maxlen=limit)
        self.dropped = 0
        self.filter = MmioFilter()
        self.on = False
        self._seq = 0
        self._sites = _Sites()

    def start(self, flt: MmioFilter | None = None) -> None:
        self.filter = flt or MmioFilter()
        if not self.on:
            self.regs.observe(self._observe)
            self.on = True

    def stop(self) -> None:
        if self.on:
            self.regs.unobserve(self._observe)
            self.on = False
        self._sites.forget()

    def clear(self) -> None:
        self.records.clear()
        self.dropped = 0
        self._seq = 0
        self._sites = _Sites()

    def _observe(self, a: Access) -> None:
        kind, side = a.kind, a.side
        if kind == "change" or side == "unit" or side == "debugger":
            return
        flt = self.filter
        if side not in flt.sides or kind not in flt.kinds:
            return
        if flt.paths is not None and a.path not in flt.paths:
            return
        self._seq += 1
        if side == "firmware":
            pc = a.origin if isinstance(a.origin, int) else None
            rec = MmioRecord(self._seq, a.cycle, side, kind, a.width // 8, self.base + a.offset, a.path,
                             a.new, pc, None)
        else:
            site, call, api = self._sites.find()
            if isinstance(a.origin, str) and a.origin:
                site = a.origin  # the caller named the site (a host program's own line)
            rec = MmioRecord(self._seq, a.cycle, side, kind, a.width // 8, self.base + a.offset, a.path,
                             a.new, None, site, call, api)
        if len(self.records) == self.records.maxlen:
            self.dropped += 1
        self.records.append(rec)
