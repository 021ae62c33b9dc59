"""The manifest note: its exact layout, the segment digest, and tamper detection."""

from __future__ import annotations

import hashlib
import io
import shutil
import struct
import subprocess

import pytest
from elftools.elf.elffile import ELFFile

from isa.elfread import ElfError, load_elf
from isa.elfwrite import write_elf
from isa.image import ObjectImage, Section
from isa.manifest import ManifestError, encode_note, read_manifest, segment_digest

ENTRIES = {"fw_version": "2.1.0", "abi": "3,4", "driver_min": "1.4.0", "features": "0x1f"}


def image(manifest: dict[str, str] | None = ENTRIES) -> ObjectImage:
    return ObjectImage(
        sections=[Section(".text", 0x0, bytearray(b"\x13\x00\x00\x00" * 4), 16, "ax"),
                  Section(".data", 0x100000, bytearray(b"\xaa\xbb\xcc\xdd"), 4, "aw"),
                  Section(".bss", 0x100004, bytearray(), 32, "aw", nobits=True)],
        manifest=manifest)


def _independent_digest(data: bytes) -> str:
    """The rule of the manifest, computed from pyelftools' view of the program headers."""
    elf = ELFFile(io.BytesIO(data))
    loads = sorted((s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"), key=lambda s: s["p_vaddr"])
    h = hashlib.sha256()
    for seg in loads:
        h.update(struct.pack("<III", seg["p_vaddr"], seg["p_memsz"], seg["p_filesz"]))
        h.update(seg.data())
    return h.hexdigest()


def test_note_layout_is_exact() -> None:
    note = encode_note({"fw_version": "2.1.0"}, "ab" * 32)
    desc = b"fw_version=2.1.0\nsha256=" + b"ab" * 32 + b"\n"
    assert note == struct.pack("<III", 4, len(desc), 1) + b"NPU\0" + desc + bytes(-len(desc) % 4)


def test_written_note_holds_entries_in_order_then_the_digest() -> None:
    data = write_elf(image())
    elf = ELFFile(io.BytesIO(data))
    section = elf.get_section_by_name(".note.npu")
    namesz, descsz, kind = struct.unpack_from("<III", section.data())
    assert (namesz, kind, section.data()[12:16]) == (4, 1, b"NPU\0")
    desc = section.data()[16:16 + descsz].decode()
    digest = _independent_digest(data)
    assert desc == ("fw_version=2.1.0\nabi=3,4\ndriver_min=1.4.0\nfeatures=0x1f\n"
                    f"sha256={digest}\n")
    manifest = read_manifest(data)
    assert manifest is not None
    assert list(manifest.entries.items()) == list(ENTRIES.items())
    assert manifest.sha256 == digest
    assert segment_digest(load_elf(data).segments) == digest


def test_untouched_image_verifies() -> None:
    data = write_elf(image())
    assert read_manifest(data).verify(data) == []


def _file_offset_of(data: bytes, addr: int) -> int:
    elf = ELFFile(io.BytesIO(data))
    for seg in elf.iter_segments():
        if seg["p_type"] == "PT_LOAD" and seg["p_vaddr"] <= addr < seg["p_vaddr"] + seg["p_filesz"]:
            return seg["p_offset"] + addr - seg["p_vaddr"]
    raise AssertionError(f"0x{addr:x} is in no segment")


@pytest.mark.parametrize("addr", [0x0, 0xF, 0x100003])
def test_one_changed_byte_in_a_segment_is_a_digest_mismatch(addr: int) -> None:
    data = bytearray(write_elf(image()))
    data[_file_offset_of(bytes(data), addr)] ^= 0x01
    problems = read_manifest(bytes(data)).verify(bytes(data))
    assert len(problems) == 1
    assert problems[0].startswith("segment digest mismatch: manifest says ")


def test_a_changed_memory_size_is_a_digest_mismatch() -> None:
    data = bytearray(write_elf(image()))
    phdr = 52 + 1 * 32  # the second PT_LOAD (.data and .bss): p_memsz at +20
    struct.pack_into("<I", data, phdr + 20, 64)
    assert read_manifest(bytes(data)).verify(bytes(data))[0].startswith("segment digest mismatch")


def test_changes_outside_loadable_segments_do_not_count() -> None:
    data = bytearray(write_elf(image()))
    strtab = ELFFile(io.BytesIO(bytes(data))).get_section_by_name(".shstrtab")
    data[strtab["sh_offset"] + strtab["sh_size"] - 2] ^= 0x20  # ".shstrtab" -> ".shstrtaB"
    assert read_manifest(bytes(data)).verify(bytes(data)) == []


def test_image_without_manifest() -> None:
    plain = write_elf(image(manifest=None))
    assert ELFFile(io.BytesIO(plain)).get_section_by_name(".note.npu") is None
    assert read_manifest(plain) is None
    manifest = read_manifest(write_elf(image()))
    assert manifest.verify(plain) == ["no .note.npu manifest note in the file"]


def test_verify_reports_an_unreadable_file() -> None:
    manifest = read_manifest(write_elf(image()))
    assert manifest.verify(b"not an elf") == ["not an ELF file (bad magic number)"]


@pytest.mark.parametrize(("entries", "message"), [
    ({"sha256": "x"}, "manifest key 'sha256' is not allowed"),
    ({"bad key": "x"}, "manifest key 'bad key' is not allowed"),
    ({"k": "two\nlines"}, "manifest value of 'k' contains a newline"),
])
def test_bad_entries_are_refused(entries: dict[str, str], message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        write_elf(image(entries))


def test_malformed_note_is_an_elf_error() -> None:
    data = bytearray(write_elf(image({"k": "v"})))
    offset = ELFFile(io.BytesIO(bytes(data))).get_section_by_name(".note.npu")["sh_offset"]
    data[offset + 16:offset + 18] = b"k:"  # "k=v" -> "k:v"
    with pytest.raises(ElfError, match=r"manifest note line 1 is not key=value: 'k:v'") as info:
        load_elf(bytes(data))
    assert info.value.reason == "manifest"


READELF = shutil.which("riscv64-unknown-elf-readelf")


@pytest.mark.skipif(READELF is None, reason="riscv64-unknown-elf-readelf is not installed")
def test_readelf_shows_the_note(tmp_path) -> None:
    path = tmp_path / "fw.elf"
    path.write_bytes(write_elf(image()))
    out = subprocess.run([READELF, "-n", "-l", "-W", str(path)], capture_output=True, text=True,
                         check=True).stdout
    assert "Displaying notes found in: .note.npu" in out
    assert "  NPU                  0x" in out
    mapping = out.split("Section to Segment mapping:")[1].split("Displaying notes")[0]
    assert ".note.npu" not in mapping


def test_assembled_firmware_carries_a_verifiable_manifest() -> None:
    from isa.asm import assemble_elf

    data = assemble_elf('.manifest fw_version, "3.0.1"\n.manifest abi, "4"\n.text\n_start: wfi\n j _start\n'
                        '.data\nx: .word 5\n')
    manifest = read_manifest(data)
    assert manifest.entries == {"fw_version": "3.0.1", "abi": "4"}
    assert manifest.sha256 == _independent_digest(data)
    assert manifest.verify(data) == []
