"""Firmware images: find, verify, and write them into the device through the BAR0 load window.

`verify(source)` reads an ELF with `isa.elfread` (pyelftools) and refuses, with a
specific `ImageRejected` subclass and before anything touches a device: a file that
is not an ELF or is malformed, a truncated file, the wrong architecture, a missing or
malformed manifest, a digest that does not match the loadable segments (tampering),
and segments or an entry point outside ITCM/DTCM. `load(regs, image)` then writes
each segment word by word through `fw_load.addr`/`fw_load.data` and checks the
window's status (no error, the expected number of words).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from driver.errors import ImageRejected
from driver.policy import FirmwareDescription
from driver.registers import Registers
from isa.elfread import ElfError, Program, load_elf
from isa.errors import NpuError
from isa.manifest import segment_digest
from isa.memmap import region


class NotAnImage(ImageRejected):
    """Not an ELF file, or damaged beyond reading."""


class ImageTruncated(ImageRejected):
    """The file ends before its headers or segments do."""


class WrongArchitecture(ImageRejected):
    """An ELF for another machine, class or byte order."""


class ManifestMissing(ImageRejected):
    """No manifest note, or one the policy cannot read."""


class ImageTampered(ImageRejected):
    """The loadable segments do not hash to the manifest's SHA-256."""


class BadLayout(ImageRejected):
    """A segment or the entry point lies outside the firmware's memories."""


@dataclass(frozen=True)
class FirmwareImage:
    """A verified image: what to load, and what its manifest says."""

    name: str
    program: Program
    manifest: dict[str, str]
    description: FirmwareDescription

    @property
    def entry(self) -> int:
        return self.program.entry

    @property
    def version(self) -> str:
        return str(self.description.version)

    @property
    def words(self) -> int:
        """Words the load window writes for this image."""
        return sum(-(-len(s.data) // 4) for s in self.program.segments)


def _classify(name: str, exc: ElfError) -> ImageRejected:
    text = str(exc)
    if text.startswith(name):
        text = text[len(name):].lstrip(": ")
    message = f"firmware image {name}: {text}"
    if "truncated" in text or "outside the file" in text or "past the end" in text:
        return ImageTruncated(message)
    if "not a RISC-V" in text:
        return WrongArchitecture(message)
    if ".note.npu" in text or "manifest" in text:
        return ManifestMissing(message)
    return NotAnImage(message)


def verify(source: bytes | str | Path, name: str | None = None, config: str = "default") -> FirmwareImage:
    """Read and check an image; raises an `ImageRejected` subclass saying what is wrong."""
    if name is None:
        name = Path(source).name if isinstance(source, str | Path) else "<bytes>"
    try:
        program = load_elf(source)
    except ElfError as exc:
        raise _classify(name, exc) from None
    if program.manifest is None:
        raise ManifestMissing(f"firmware image {name}: no .note.npu manifest note; "
                              "refusing an unsigned image")
    actual = segment_digest(program.segments)
    if actual != program.manifest.sha256:
        raise ImageTampered(f"firmware image {name}: loadable segments hash to {actual[:16]}…, the manifest "
                            f"says {program.manifest.sha256[:16]}… (modified after it was built)")
    try:
        description = FirmwareDescription.from_manifest(program.manifest.entries)
    except NpuError as exc:
        raise ManifestMissing(f"firmware image {name}: {exc}") from None
    memories = [region("itcm", config), region("dtcm", config)]
    for seg in program.segments:
        if not any(r.contains(seg.addr, max(seg.memsz, 1)) for r in memories):
            raise BadLayout(f"firmware image {name}: segment 0x{seg.addr:08x}+0x{seg.memsz:x} lies outside "
                            "ITCM and DTCM")
    if not memories[0].contains(program.entry, 4):
        raise BadLayout(f"firmware image {name}: entry point 0x{program.entry:08x} is not in ITCM")
    return FirmwareImage(name, program, dict(program.manifest.entries), description)


_verified: dict[tuple[str, int, int], FirmwareImage] = {}


def _verify_file(path: Path) -> FirmwareImage:
    """`verify` a file, remembered while the file is unchanged (size and mtime)."""
    try:
        st = path.stat()
    except OSError:
        return verify(path)
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _verified:
        _verified[key] = verify(path)
    return _verified[key]


def image_for(firmware: str | Path | bytes | None) -> FirmwareImage:
    """Resolve `open(firmware=...)`: None → the newest release's image; a version → that release's image;
    a path or bytes → that file."""
    from firmware.releases import release_line

    if firmware is None:
        return _verify_file(Path(str(release_line().newest.image_path())))
    if isinstance(firmware, str) and not Path(firmware).exists():
        try:
            release = release_line().release(firmware)
        except NpuError:
            raise NotAnImage(f"firmware {firmware!r}: neither a file nor a firmware release "
                             "version") from None
        return _verify_file(Path(str(release.image_path())))
    if isinstance(firmware, str | Path):
        return _verify_file(Path(firmware))
    return verify(firmware)


def load(regs: Registers, image: FirmwareImage) -> None:
    """Write the image's segments through the load window; raises ImageRejected if the window objects."""
    bus = regs.bus
    addr_at, data_at = regs.map.register("fw_load.addr").offset, regs.map.register("fw_load.data").offset
    status = regs.map.register("fw_load.status")
    words_field = next(f for f in status.fields if f.name == "words")
    before = words_field.extract(regs.read("fw_load.status"))
    write = bus.write32
    for seg in image.program.segments:
        data = seg.data + bytes(-len(seg.data) % 4)
        write(addr_at, seg.addr)
        for word in np.frombuffer(data, "<u4").tolist():
            write(data_at, word)
    value = regs.read("fw_load.status")
    if value & regs.mask("fw_load.status", "error"):
        raise ImageRejected(f"firmware image {image.name}: the load window reported an address outside "
                            "ITCM/DTCM")
    written = (words_field.extract(value) - before) & ((1 << words_field.width) - 1)
    if written != image.words & ((1 << words_field.width) - 1):
        raise ImageRejected(f"firmware image {image.name}: the load window took {written} words, "
                            f"expected {image.words}")
