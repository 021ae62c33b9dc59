"""Damaged copies of shipped firmware images, for the checks that must refuse them."""

from __future__ import annotations

from pathlib import Path

from elftools.elf.elffile import ELFFile

from firmware.releases import release_line


def shipped(version: str) -> Path:
    return Path(str(release_line().release(version).image_path()))


def tampered(version: str, dst: Path) -> Path:
    """A copy of `version`'s image with one byte of its first loadable segment flipped (digest mismatch)."""
    data = bytearray(shipped(version).read_bytes())
    with shipped(version).open("rb") as f:
        seg = next(s for s in ELFFile(f).iter_segments() if s["p_type"] == "PT_LOAD" and s["p_filesz"])
        offset = seg["p_offset"] + seg["p_filesz"] // 2
    data[offset] ^= 0xFF
    dst.write_bytes(bytes(data))
    return dst
