"""GNU binutils as a test oracle: assemble with riscv64-unknown-elf-as, return .text bytes."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest

AS = "riscv64-unknown-elf-as"
LD = "riscv64-unknown-elf-ld"
OBJCOPY = "riscv64-unknown-elf-objcopy"
HAVE_BINUTILS = all(shutil.which(tool) for tool in (AS, LD, OBJCOPY))
needs_binutils = pytest.mark.skipif(not HAVE_BINUTILS, reason="riscv64-unknown-elf binutils not installed")


def gnu_text(source: str, section: str = ".text") -> bytes:
    """A linked section of `source` (.text at 0, .data at the DTCM base) as GNU as and ld make it."""
    with tempfile.TemporaryDirectory() as tmp:
        src, obj = os.path.join(tmp, "t.S"), os.path.join(tmp, "t.o")
        elf, out = os.path.join(tmp, "t.elf"), os.path.join(tmp, "t.bin")
        with open(src, "w") as handle:
            handle.write(source + "\n")
        subprocess.run([AS, "-march=rv32im_zicsr_zifencei", "-mabi=ilp32", "-mno-relax", src, "-o", obj],
                       check=True, capture_output=True)
        subprocess.run([LD, "-m", "elf32lriscv", "-Ttext=0", "-Tdata=0x100000", "-e", "0", obj, "-o", elf],
                       check=True, capture_output=True)
        subprocess.run([OBJCOPY, "-O", "binary", "-j", section, elf, out], check=True, capture_output=True)
        with open(out, "rb") as handle:
            return handle.read()
