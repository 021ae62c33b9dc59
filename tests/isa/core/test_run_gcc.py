"""A C program built by GCC for the device's memory map runs on the core with the right result.

The linker script is filled in from the memory map table, so the addresses are
not retyped here. Skipped when Debian's riscv64-unknown-elf-gcc is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from isa.memmap import region
from isa.run import run_program

DATA = Path(__file__).resolve().parent / "data"
GCC = "riscv64-unknown-elf-gcc"
CFLAGS = ["-march=rv32im_zicsr", "-mabi=ilp32", "-nostdlib", "-O2"]

pytestmark = pytest.mark.skipif(shutil.which(GCC) is None, reason=f"{GCC} is not installed")


def _link_script(tmp_path: Path) -> Path:
    itcm, dtcm = region("itcm"), region("dtcm")
    text = (DATA / "link.ld.in").read_text()
    for key, value in {"itcm_base": itcm.base, "itcm_size": itcm.size,
                       "dtcm_base": dtcm.base, "dtcm_size": dtcm.size}.items():
        text = text.replace("{" + key + "}", f"0x{value:x}")
    path = tmp_path / "link.ld"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def sort_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("gcc")
    out = tmp / "sort.elf"
    subprocess.run([GCC, *CFLAGS, "-T", str(_link_script(tmp)), "-o", str(out),
                    str(DATA / "start.S"), str(DATA / "sort.c")], check=True, capture_output=True)
    return out


def _expected_code() -> int:
    """sort.c's algorithm in Python: C's truncating division and 32-bit wraparound."""
    seed, values = 12345, []
    for _ in range(200):
        seed = (seed * 1103515245 + 12345) & 0xFFFFFFFF
        values.append((seed >> 8) - (1 << 22))
    values.sort()
    weights = (3, -7, 11, -13)
    total = 0
    for i, v in enumerate(values):
        quotient = abs(v) // 7 * (1 if v >= 0 else -1)
        remainder = v - 5 * (abs(v) // 5 * (1 if v >= 0 else -1))
        total = (total * 31 + ((quotient + remainder) & 0xFFFFFFFF) * (weights[i & 3] & 0xFFFFFFFF))
        total &= 0xFFFFFFFF
    return total % 251


def test_gcc_sort_and_checksum_returns_its_code(sort_elf: Path) -> None:
    result = run_program(sort_elf.read_bytes())
    assert (result.status, result.code) == ("exit", _expected_code())
    assert result.code == 129  # pins the reference itself
    assert 10_000 < result.instret < 200_000


def test_gcc_program_through_the_command_line(sort_elf: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "isa.run", str(sort_elf)],
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 129
    assert done.stdout.startswith("isa.run: exit (ecall 93) with code 129 after ")
