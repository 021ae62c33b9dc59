"""Image verification: damaged, tampered or foreign images are refused with specific errors,
before anything reaches the device; a good image goes through the load window word for word."""

from __future__ import annotations

import struct

import pytest

import driver
from driver.bus import Bus, BusAccess
from driver.loader import (
    BadLayout,
    ImageTampered,
    ImageTruncated,
    ManifestMissing,
    NotAnImage,
    WrongArchitecture,
    load,
    verify,
)
from driver.registers import Registers
from driver.transport import InProcess
from firmware.releases import release_line
from isa.elfwrite import write_elf
from isa.image import ObjectImage, Section

CODE = bytes(range(64)) * 4  # 256 bytes: the loader does not execute it
DATA = b"\x11\x22\x33\x44\x55\x66"  # not a multiple of 4: the last word is zero-padded


def image(manifest: bool = True, text_at: int = 0x0) -> bytes:
    img = ObjectImage(sections=[Section(".text", text_at, bytearray(CODE), len(CODE), "ax"),
                                Section(".data", 0x0010_0000, bytearray(DATA), len(DATA), "aw")],
                      manifest=release_line().release("1.3.0").manifest() if manifest else None)
    return write_elf(img)


def _segment_file_offset(elf: bytes) -> int:
    phoff = struct.unpack_from("<I", elf, 28)[0]
    return struct.unpack_from("<I", elf, phoff + 4)[0]


def tampered() -> bytes:
    elf = bytearray(image())
    elf[_segment_file_offset(elf) + 10] ^= 0xFF
    return bytes(elf)


def foreign() -> bytes:
    elf = bytearray(image())
    struct.pack_into("<H", elf, 18, 62)  # e_machine = x86-64
    return bytes(elf)


CASES = [
    (lambda: b"MZ\x90\x00 not an elf", NotAnImage, "not an ELF file"),
    (lambda: image()[:40], ImageTruncated, "truncated ELF file: 40 bytes"),
    (lambda: image()[:-200], ImageTruncated, "truncated ELF file"),
    (foreign, WrongArchitecture, "not a RISC-V ELF32 little-endian file: machine is x86-64"),
    (lambda: image(manifest=False), ManifestMissing, "no .note.npu manifest note"),
    (tampered, ImageTampered, "loadable segments hash to"),
    (lambda: image(text_at=0x2000_0000), BadLayout, "segment 0x20000000\\+0x100 lies outside ITCM and DTCM"),
]


@pytest.mark.parametrize(("make", "error", "message"), CASES,
                         ids=["not-elf", "truncated-header", "truncated-tail", "x86", "unsigned", "tampered",
                              "outside-tcm"])
def test_bad_images_are_refused_before_anything_reaches_the_device(make, error, message) -> None:
    seen: list[BusAccess] = []
    t = InProcess()
    t.device.regs.observe(lambda a: seen.append(a) if a.side == "host" else None)

    with pytest.raises(error, match=message):
        driver.open(firmware=make(), transport=t)
    assert seen == []  # not one host access reached the device's registers
    assert t.device.now == 0


def test_a_good_image_goes_through_the_load_window() -> None:
    img = verify(image(), name="test.elf")
    assert (img.version, img.entry, img.words) == ("1.3.0", 0, 64 + 2)
    t = InProcess()
    bus = Bus(t)
    writes: list[BusAccess] = []
    bus.observe(lambda e: writes.append(e) if e.kind == "write" else None)
    load(Registers(bus), img)
    assert [e.register for e in writes].count("fw_load.addr") == 2
    assert [e.value for e in writes if e.register == "fw_load.addr"] == [0x0, 0x0010_0000]
    assert t.device.core.read_mem(0, len(CODE)) == CODE
    assert t.device.core.read_mem(0x0010_0000, 8) == DATA + b"\0\0"


def test_the_newest_release_image_is_the_default_and_a_version_picks_a_release() -> None:
    from driver.loader import image_for

    with pytest.raises(NotAnImage, match=r"'9\.9\.9': neither a file nor a firmware release version"):
        image_for("9.9.9")
