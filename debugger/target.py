"""The target: one emulated device, the firmware image it runs, and optionally a host program.

`Target` resolves `--firmware IMAGE|VERSION` (a path, or a release of
`firmware/releases.toml`; default the newest), makes the `Device`, loads the image's
segments straight into ITCM/DTCM (the debugger's load, as a JTAG probe would; a
host program's `driver.open()` then loads it again through the load window) and boots
it to READY. The image's symbols and DWARF lines are parsed on first use, so start-up
does not pay for them. Memory views read MMIO with `peek` and never change the device.
"""

from __future__ import annotations

import re
import struct
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from debugger.errors import DebuggerError

if TYPE_CHECKING:
    from firmware.hw.device import Device
    from isa.elfread import Program

BOOT_BUDGET_TICKS = 50_000_000
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_KEY_STRING = re.compile(r'^(?P<key>\w+)\s*=\s*"(?P<value>[^"\\]*)"\s*(#.*)?$')
_PROGRAMS: dict[tuple[str, int, int], Any] = {}
_BOOTED: dict[tuple[str, int, int, str], dict[str, Any]] = {}


def resolve_image(firmware: str | Path | None) -> tuple[Path, str | None]:
    """(path, release version or None) for `--firmware`: None → newest release; VERSION; or a path."""
    if firmware is not None and not (isinstance(firmware, str) and _VERSION.match(firmware)):
        path = Path(firmware)
        if not path.is_file():
            raise DebuggerError(f"firmware {firmware}: no such file (give a path or a release version)")
        return path, None
    found = _listed_image(None if firmware is None else str(firmware))
    if found is not None:
        return found
    from firmware.releases import release_line  # validates the tables and says what is wrong

    line = release_line()
    release = line.newest if firmware is None else line.release(str(firmware))
    return Path(str(release.image_path())), str(release.version)


def _listed_image(version: str | None) -> tuple[Path, str] | None:
    """The image of release `version` (None: the newest) read straight from `releases.toml`.

    Start-up needs only a version and a path, not the validated release model (which
    loads the ABI table too), nor a TOML parser (tomllib's import and parse cost ~25 ms):
    each `[[release]]` row's `version = "..."` and `image = "..."` lines are read as they
    are written there. Anything unusual returns None and the full loader decides (a test
    checks that both agree on every release).
    """
    import firmware

    try:
        text = (Path(firmware.__file__).parent / "releases.toml").read_text("utf-8")
    except OSError:
        return None
    rows = _release_rows(text)
    if not rows:
        return None
    listed = {tuple(int(p) for p in row["version"].split(".")): row for row in rows}
    key = max(listed) if version is None else tuple(int(p) for p in version.split("."))
    row = listed.get(key)
    if row is None:
        return None
    path = Path(firmware.__file__).parent / row["image"]
    return (path, row["version"]) if path.is_file() else None


def _release_rows(text: str) -> list[dict[str, str]] | None:
    """`version` and `image` of each `[[release]]` table of the file, or None if the file is not
    laid out as a plain list of such tables (multi-line strings, other tables, odd values)."""
    if '"""' in text or "'''" in text:
        return None
    rows: list[dict[str, str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            if line != "[[release]]":
                return None
            rows.append({})
            continue
        m = _KEY_STRING.match(line)
        if m is None or not rows or m["key"] not in ("version", "image"):
            continue
        if m["key"] in rows[-1]:
            return None
        rows[-1][m["key"]] = m["value"]
    if any(set(row) != {"version", "image"} or not _VERSION.match(row["version"]) for row in rows):
        return None
    return rows


def _load_segments(data: bytes, name: str) -> tuple[int, list[tuple[int, bytes]]]:
    """Entry and PT_LOAD (addr, bytes) of an ELF32 little-endian file, without pyelftools (fast)."""
    if data[:4] != b"\x7fELF" or len(data) < 52 or data[4] != 1 or data[5] != 1:
        from isa.elfread import load_elf  # the full reader says precisely what is wrong

        load_elf(data)
        raise DebuggerError(f"{name}: not a RISC-V ELF32 image")
    entry, phoff = struct.unpack_from("<II", data, 24)
    phentsize, phnum = struct.unpack_from("<HH", data, 42)
    out = []
    for i in range(phnum):
        off = phoff + i * phentsize
        if off + 32 > len(data):
            raise DebuggerError(f"{name}: truncated program headers")
        p_type, p_offset, p_vaddr, _, p_filesz, p_memsz = struct.unpack_from("<IIIIII", data, off)
        if p_type == 1:
            if p_offset + p_filesz > len(data):
                raise DebuggerError(f"{name}: segment at 0x{p_vaddr:08x} lies outside the file")
            out.append((p_vaddr, data[p_offset:p_offset + p_filesz] + bytes(p_memsz - p_filesz)))
    return entry, out


class Target:
    """Device + firmware image (+ host program, attached by the Session)."""

    def __init__(self, firmware: str | Path | None = None, config: str = "default", *,
                 driver: str | None = None, boot: bool = True) -> None:
        from firmware.hw.device import Device

        self.image_path, self.release = resolve_image(firmware)
        self.image_bytes = self.image_path.read_bytes()
        stat = self.image_path.stat()
        self._key = (str(self.image_path.resolve()), stat.st_mtime_ns, stat.st_size)
        self.entry, self.segments = _load_segments(self.image_bytes, self.image_path.name)
        self.config = config
        self.driver_version = driver
        self.device: Device = Device(config)
        self.host = None  # the HostProgram, when one is attached
        if boot:
            self.boot()

    # ------------------------------------------------------------ image
    @cached_property
    def program(self) -> Program:
        """Symbols, DWARF lines and manifest of the image (parsed once per file per process)."""
        prog = _PROGRAMS.get(self._key)
        if prog is None:
            from isa.elfread import load_elf

            prog = _PROGRAMS[self._key] = load_elf(self.image_bytes)
        return prog

    @property
    def name(self) -> str:
        return f"firmware {self.release}" if self.release else str(self.image_path)

    # ------------------------------------------------------------ bring-up
    def load(self) -> None:
        """Reset the device and place the image's segments in memory; the core waits at the entry point."""
        dev = self.device
        dev.reset()
        for addr, data in self.segments:
            dev.core.write_mem(addr, data)
        dev.regs.poke("ctrl.boot_addr", self.entry)
        dev.core.pc = self.entry

    def boot(self) -> str:
        """Load, start the core and run until the firmware's handshake leaves `none`; returns its state."""
        key = (*self._key, self.config)
        snap = _BOOTED.get(key)
        dev = self.device
        if snap is not None:
            dev.restore(snap)
        else:
            self.load()
            dev.boot(self.entry)
            dev.run_until(lambda: dev.regs.field("version.handshake.status") != 0, BOOT_BUDGET_TICKS)
            dev.run_until(lambda: dev.asleep or dev.halted is not None, BOOT_BUDGET_TICKS)  # in main_loop
            if dev.regs.field("version.handshake.status") != 0:
                _BOOTED[key] = dev.snapshot()
        return self.handshake_state()

    def handshake_state(self) -> str:
        f = self.device.regs.map.field("version.handshake.status")
        value = f.extract(self.device.regs.peek(f.register))
        return (f.enum.name_of(value) if f.enum else None) or str(value)

    # ------------------------------------------------------------ views (no side effects)
    def read_memory(self, addr: int, length: int) -> bytes:
        """Bytes at `addr`; MMIO words are peeked (no clear-on-read, no hooks)."""
        if length < 0 or addr < 0 or addr + length > 1 << 32:
            raise DebuggerError(f"cannot read {length} bytes at 0x{addr:x}: outside the 32-bit address space")
        dev = self.device
        mmio = dev.config.mmio
        if mmio.base <= addr < mmio.end or mmio.base < addr + length <= mmio.end:
            if not (mmio.base <= addr and addr + length <= mmio.end):
                raise DebuggerError(f"cannot read 0x{addr:08x}+{length}: the range crosses the MMIO boundary")
            first = addr & ~3
            words = bytearray()
            for a in range(first, addr + length, 4):
                reg = dev.regs.map.at_address(a)
                words += (dev.regs.peek(reg.path) if reg else 0).to_bytes(4, "little")
            return bytes(words[addr - first:addr - first + length])
        from isa.core import MemoryAccessError

        try:
            return dev.core.read_mem(addr, length)
        except MemoryAccessError as exc:
            raise DebuggerError(f"cannot access memory at 0x{addr:08x}: {exc}") from None

    def write_memory(self, addr: int, data: bytes) -> None:
        """A debugger write: RAM directly; MMIO registers with poke (no semantics, observers see it)."""
        dev = self.device
        mmio = dev.config.mmio
        if mmio.base <= addr < mmio.end:
            if addr % 4 or len(data) % 4:
                raise DebuggerError("MMIO is written in whole 32-bit registers (aligned, 4 bytes each)")
            for i in range(0, len(data), 4):
                reg = dev.regs.map.at_address(addr + i)
                if reg is None:
                    raise DebuggerError(f"no device register at 0x{addr + i:08x}")
                dev.regs.poke(reg.path, int.from_bytes(data[i:i + 4], "little"))
            return
        from isa.core import MemoryAccessError

        try:
            dev.core.write_mem(addr, bytes(data))
        except MemoryAccessError as exc:
            raise DebuggerError(f"cannot access memory at 0x{addr:08x}: {exc}") from None
