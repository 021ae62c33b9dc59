"""A first tour of npudbg: the whole stack, from a numpy program to the firmware's source.

1. Open the emulated NPU with the user-space driver (newest firmware image): reset,
   verified load, boot, version policy, handshake.
2. Run a matmul and a CRC-32 through the firmware and check them against numpy/zlib.
3. Show the firmware routine that served the matmul, disassembled with its source lines.

Run: python examples/demo.py
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

import numpy as np

import driver
from isa.disasm import disassemble

ROOT = Path(__file__).resolve().parents[1]


def source_line(path: str, number: int) -> str:
    """The text of a firmware source line (paths in the image are relative to the repository)."""
    try:
        return (ROOT / path).read_text().splitlines()[number - 1].strip()
    except (OSError, IndexError):
        return ""


def main() -> int:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((64, 48)).astype(np.float16)
    b = rng.standard_normal((48, 32)).astype(np.float16)
    data = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()

    with driver.open() as dev:
        versions = dev.versions
        pair = f"driver {versions['driver']} <-> firmware {versions['firmware']}"
        print(f"{pair}: {dev.verdict.status}")
        c = dev.matmul(a, b)
        expected = a.astype(np.float32) @ b.astype(np.float32)
        error = float(np.max(np.abs(c - expected)))
        print(f"matmul 64x48x32 fp16 -> fp32: max |error| vs numpy = {error:.2e}")
        crc = dev.checksum(data)
        print(f"checksum of 4 KiB: device 0x{crc:08x}, zlib 0x{zlib.crc32(data):08x}")
        program, image_name = dev.image.program, dev.image.name

    start = program.address_of("handle_matmul")
    text = next(s for s in program.segments if s.addr <= start < s.addr + s.memsz)
    code = text.data[start - text.addr:start - text.addr + 40]
    print(f"\nhandle_matmul in {image_name}, with its source:")
    shown = None
    for line in disassemble(code, start, symbols=program.symbols, lines=program.lines):
        where = program.line_for(line.addr)
        if where and (where.file, where.line) != shown:
            shown = (where.file, where.line)
            print(f"{where.file}:{where.line}:  {source_line(where.file, where.line)}")
        print(f"    {line.addr:08x}:  {line.text}")
    ok = error < 1e-2 and crc == zlib.crc32(data)
    print("\nall results match" if ok else "\nMISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
