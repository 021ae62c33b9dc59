"""The bare-metal runner: exits, tohost, budgets, faults without a handler, bad files, output.

Programs are assembled with the project's assembler; `main()` is called in
process (with captured output) except for one check of `python -m isa.run`.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from isa.asm import assemble_elf
from isa.memmap import region
from isa.run import RunError, Runner, load, run_program
from isa.run.__main__ import EXIT_BUDGET, EXIT_FAULT, EXIT_INTERRUPTED, EXIT_UNRUNNABLE, exit_status, main

EXIT_42 = """
    .text
    .globl _start
_start:
    li a0, 42
    li a7, 93
    ecall
"""

TOHOST = """
    .text
    .globl _start
_start:
    li t0, {value}
    la t1, tohost
    sw zero, 0(t1)
    sw t0, 0(t1)
1:  j 1b
    .data
    .globl tohost
tohost: .word 0
    .word 0
"""

SPIN = """
    .text
    .globl _start
_start:
    nop
spin:
    j spin
"""


def _elf(tmp_path: Path, source: str, name: str = "prog.elf") -> Path:
    path = tmp_path / name
    path.write_bytes(assemble_elf(source))
    return path


def _run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_exit_through_ecall_93_returns_a0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run_main(capsys, str(_elf(tmp_path, EXIT_42)))
    assert (code, out, err) == (42, "isa.run: exit (ecall 93) with code 42 after 3 instructions\n", "")


def test_run_program_starts_with_sp_at_the_top_of_dtcm() -> None:
    result = run_program(assemble_elf(EXIT_42.replace("li a0, 42", "mv a0, sp")))
    assert (result.status, result.code, result.instret) == ("exit", region("dtcm").end, 3)
    assert result.regs[2] == region("dtcm").end and result.pc == 8


def test_exit_status_keeps_failures_non_zero() -> None:
    assert [exit_status("exit", c) for c in (0, 3, 255, 256, -1)] == [0, 3, 255, 1, 255]
    assert exit_status("budget", 0) == EXIT_BUDGET and exit_status("fault", 0) == EXIT_FAULT


def test_tohost_one_is_a_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run_main(capsys, str(_elf(tmp_path, TOHOST.format(value=1))))
    assert (code, out) == (0, "isa.run: tohost = 1: pass after 5 instructions\n")


def test_tohost_odd_value_is_failure_n(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run_main(capsys, str(_elf(tmp_path, TOHOST.format(value=(5 << 1) | 1))))
    assert (code, out) == (5, "isa.run: tohost = 0xb: fail 5 after 5 instructions\n")
    result = run_program(assemble_elf(TOHOST.format(value=(5 << 1) | 1)))
    assert (result.status, result.code, result.pc) == ("fail", 5, 0x10)  # the second store


def test_budget_exhausted_is_one_line_and_non_zero(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run_main(capsys, str(_elf(tmp_path, SPIN)), "--max-insns", "1000")
    assert (code, out) == (EXIT_BUDGET, "")
    assert err == "isa.run: budget of 1000 instructions exhausted at pc 0x00000004 <spin>\n"
    result = run_program(assemble_elf(SPIN), max_insns=1000)
    assert (result.status, result.instret) == ("budget", 1000)


def test_trace_prints_pc_symbol_and_disassembly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run_main(capsys, str(_elf(tmp_path, EXIT_42)), "--trace")
    assert code == 42
    assert out.splitlines() == [
        "0x00000000 <_start>          02a00513  li a0,42",
        "0x00000004 <_start+0x4>      05d00893  li a7,93",
        "0x00000008 <_start+0x8>      00000073  ecall",
        "isa.run: exit (ecall 93) with code 42 after 3 instructions",
    ]
    assert run_program(assemble_elf(SPIN), max_insns=5, trace=True).trace == [0, 4, 4, 4, 4]


def test_regs_prints_abi_names_in_hex(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run_main(capsys, str(_elf(tmp_path, EXIT_42)), "--regs")
    lines = out.splitlines()
    assert code == 42 and len(lines) == 1 + 8 + 1
    assert lines[1] == "zero 0x00000000  ra   0x00000000  sp   0x00140000  gp   0x00000000"
    assert lines[3] == "s0   0x00000000  s1   0x00000000  a0   0x0000002a  a1   0x00000000"
    assert lines[5] == "a6   0x00000000  a7   0x0000005d  s2   0x00000000  s3   0x00000000"
    assert lines[9] == "pc   0x00000008"


FAULTS = {
    "illegal": ("_start:\n  nop\n  nop\n  .word 0xffffffff\n",
                "illegal instruction 0xffffffff at pc 0x00000008 <_start+0x8> (no trap handler)"),
    "load": ("_start:\n  lui t0, 0x30000\n  lw a0, 4(t0)\n",
             "load access fault at address 0x30000004 at pc 0x00000004 <_start+0x4> (no trap handler)"),
    "store": ("_start:\n  lui t0, 0x40000\n  sw a0, 0(t0)\n",
              "store access fault at address 0x40000000 at pc 0x00000004 <_start+0x4> (no trap handler)"),
    "misaligned": ("_start:\n  lui t0, 0x100\n  lw a0, 2(t0)\n",
                   "load address misaligned at address 0x00100002 at pc 0x00000004 <_start+0x4> "
                   "(no trap handler)"),
    "fetch": ("_start:\n  lui t0, 0x100\n  jr t0\n",
              "instruction access fault (target 0x00100000) at pc 0x00100000 (no trap handler)"),
    "ebreak": ("_start:\n  ebreak\n", "breakpoint at pc 0x00000000 <_start> (no trap handler)"),
    "ecall": ("_start:\n  li a7, 64\n  ecall\n",
              "unsupported ecall 64 at pc 0x00000004 <_start+0x4> (only a7 = 93, exit, is served)"),
    "wfi": ("_start:\n  wfi\n",
            "wfi at pc 0x00000000 <_start> waits forever (no device can raise an interrupt)"),
}


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_guest_faults_are_one_line_and_non_zero(kind: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    source, message = FAULTS[kind]
    code, out, err = _run_main(capsys, str(_elf(tmp_path, "  .text\n  .globl _start\n" + source)))
    assert (code, out, err) == (EXIT_FAULT, "", f"isa.run: {message}\n")


HANDLED = """
    .text
    .globl _start
_start:
    la t0, handler
    csrw mtvec, t0
    .word 0xffffffff
    li a0, 99
    li a7, 93
    ecall
handler:
    csrr a0, mcause
    csrr a1, mtval
    li a7, 93
    ecall
"""


def test_an_installed_trap_handler_takes_the_exception() -> None:
    result = run_program(assemble_elf(HANDLED))
    assert (result.status, result.code, result.regs[11]) == ("exit", 2, 0xFFFFFFFF)


def test_a_file_that_is_not_an_elf_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    code, out, err = _run_main(capsys, str(path))
    assert (code, out) == (EXIT_UNRUNNABLE, "")
    assert err == f"isa.run: {path}: not an ELF file (bad magic number)\n"


def test_a_wrong_architecture_elf_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = bytearray(assemble_elf(EXIT_42))
    data[18:20] = (62).to_bytes(2, "little")  # e_machine: x86-64
    path = tmp_path / "x86.elf"
    path.write_bytes(bytes(data))
    code, _, err = _run_main(capsys, str(path))
    assert code == EXIT_UNRUNNABLE
    assert err == f"isa.run: {path}: not a RISC-V ELF32 little-endian file: machine is x86-64\n"


def test_a_segment_outside_the_memory_map_is_refused() -> None:
    data = bytearray(assemble_elf(EXIT_42))
    phoff = int.from_bytes(data[28:32], "little")
    data[phoff + 8:phoff + 16] = (0x40000000).to_bytes(4, "little") * 2  # p_vaddr, p_paddr
    with pytest.raises(RunError, match=r"^segment at 0x40000000 \(12 bytes\) is outside the device's memory "
                       r"\(it must lie within one of ITCM, DTCM, L1, "):
        run_program(bytes(data))


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "isa.run", str(_elf(tmp_path, EXIT_42))],
                          capture_output=True, text=True, check=False, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (
        42, "isa.run: exit (ecall 93) with code 42 after 3 instructions\n", "")


DOUBLE_FAULT = """
    .text
    .globl _start
_start:
    la t0, bad_handler
    csrw mtvec, t0
    .word 0
bad_handler:
    .word 0xffffffff
"""


def test_a_trap_handler_that_faults_at_once_is_reported_not_looped() -> None:
    result = run_program(assemble_elf(DOUBLE_FAULT), max_insns=10_000)
    assert (result.status, result.pc) == ("fault", 0x10)
    assert result.message == ("illegal instruction 0xffffffff in the trap handler's first instruction "
                              "at pc 0x00000010 <bad_handler> (mtvec 0x00000010)")


def test_mmio_without_a_device_is_an_access_fault() -> None:
    result = run_program(assemble_elf("_start:\n  lui t0, 0x10000\n  sw a0, 8(t0)\n"))
    assert result.message == ("store access fault at address 0x10000008 at pc 0x00000004 <_start+0x4> "
                              "(no trap handler)")


def test_a_long_trace_loses_no_pc_across_ring_refills() -> None:
    result = run_program(assemble_elf(SPIN), max_insns=150_000, trace=True)
    assert len(result.trace) == 150_000 and result.trace[:3] == [0, 4, 4] and set(result.trace) == {0, 4}


def test_request_stop_interrupts_the_run() -> None:
    runner = Runner(load(assemble_elf(SPIN)))
    assert runner.run(max_insns=10).status == "budget"  # now in the spin loop, wherever the stop lands
    timer = threading.Timer(0.2, runner.core.request_stop)
    timer.start()
    result = runner.run(max_insns=10**15)
    timer.join()
    assert (result.status, result.code, result.pc) == ("interrupted", -1, 4)
    assert result.message == "interrupted at pc 0x00000004 <spin>"
    assert exit_status(result.status, result.code) == EXIT_INTERRUPTED
