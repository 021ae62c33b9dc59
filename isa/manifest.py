"""The firmware manifest: a non-loadable ELF note naming what an image is and hashing what it loads.

Layout of the note (section `.note.npu`, SHT_NOTE, not allocated, in no
segment): owner "NPU", type NT_NPU_MANIFEST, desc = UTF-8 lines `key=value\\n`
in the order the source gave them, then `sha256=<64 lowercase hex>`. The
digest is one SHA-256 over the loadable segments in address order: for each,
p_vaddr, p_memsz and p_filesz as little-endian 32-bit words, then its file
bytes. The ELF writer adds the note; the driver and the debugger check it.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from isa.errors import NpuError

NOTE_SECTION = ".note.npu"
NOTE_OWNER = "NPU"
NT_NPU_MANIFEST = 1
DIGEST_KEY = "sha256"
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ManifestError(NpuError):
    """A manifest entry cannot be encoded, or a note is malformed."""


class LoadSegment(Protocol):
    """What the digest reads of a segment (an `isa.elfread.Segment` is one)."""

    addr: int
    memsz: int
    data: bytes


def segment_digest(segments: Iterable[LoadSegment]) -> str:
    """SHA-256 (lowercase hex) over the loadable segments, taken in address order."""
    digest = hashlib.sha256()
    for seg in sorted(segments, key=lambda s: s.addr):
        digest.update(struct.pack("<III", seg.addr, seg.memsz, len(seg.data)))
        digest.update(bytes(seg.data))
    return digest.hexdigest()


def _pad4(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


def encode_desc(entries: dict[str, str], sha256: str) -> bytes:
    """The note's desc: `key=value` lines in order, then the digest line."""
    lines = []
    for key, value in entries.items():
        if not _KEY.match(key) or key == DIGEST_KEY:
            raise ManifestError(f"manifest key '{key}' is not allowed (letters, digits, _ . -; not sha256)")
        if "\n" in str(value):
            raise ManifestError(f"manifest value of '{key}' contains a newline")
        lines.append(f"{key}={value}\n")
    lines.append(f"{DIGEST_KEY}={sha256}\n")
    return "".join(lines).encode("utf-8")


def encode_note(entries: dict[str, str], sha256: str) -> bytes:
    """The whole note (Elf32_Nhdr, owner and desc, each padded to 4 bytes)."""
    owner = NOTE_OWNER.encode("ascii") + b"\0"
    desc = encode_desc(entries, sha256)
    return struct.pack("<III", len(owner), len(desc), NT_NPU_MANIFEST) + _pad4(owner) + _pad4(desc)


@dataclass
class Manifest:
    """What an image's note says: its entries in order and the digest it claims."""

    entries: dict[str, str] = field(default_factory=dict)
    sha256: str = ""

    def verify(self, elf: bytes | str | Path) -> list[str]:
        """Problems found checking this manifest against `elf` (empty when it matches)."""
        from isa.elfread import load_elf

        try:
            program = load_elf(elf)
        except NpuError as exc:
            return [str(exc)]
        problems = []
        if program.manifest is None:
            problems.append(f"no {NOTE_SECTION} manifest note in the file")
        elif program.manifest != self:
            problems.append(f"the file's {NOTE_SECTION} note differs from this manifest")
        actual = segment_digest(program.segments)
        if actual != self.sha256:
            problems.append(f"segment digest mismatch: manifest says {self.sha256 or '(none)'}, "
                            f"loadable segments hash to {actual}")
        return problems


def decode_desc(desc: bytes) -> Manifest:
    """Parse a note's desc; raises ManifestError naming the bad line."""
    try:
        text = desc.rstrip(b"\0").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"manifest note is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    manifest = Manifest()
    for number, line in enumerate(text.splitlines(), start=1):
        key, sep, value = line.partition("=")
        if not sep:
            raise ManifestError(f"manifest note line {number} is not key=value: {line!r}")
        if key == DIGEST_KEY:
            if not _HEX64.match(value):
                raise ManifestError(f"manifest note line {number}: sha256 is not 64 lowercase hex digits")
            manifest.sha256 = value
        else:
            manifest.entries[key] = value
    if not manifest.sha256:
        raise ManifestError("manifest note has no sha256 line")
    return manifest


def read_manifest(elf: bytes | str | Path) -> Manifest | None:
    """The manifest of an ELF image, or None when it carries no manifest note."""
    from isa.elfread import load_elf

    return load_elf(elf).manifest
