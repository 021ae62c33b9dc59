"""End to end: real gdb (gdb-multiarch or riscv64-unknown-elf-gdb) in batch mode against the server."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from debugger.gdb import GdbServer
from debugger.session import Session
from tests.debugger.conftest import addr

GDB = shutil.which("gdb-multiarch") or shutil.which("riscv64-unknown-elf-gdb")


@pytest.mark.skipif(GDB is None, reason="no gdb with RISC-V support (apt-get install gdb-multiarch)")
def test_gdb_breaks_at_main_loop_and_reads_pc():
    session = Session(workload="nop")
    server = GdbServer(session).start()
    try:
        cmd = [GDB, "-nx", "-batch", "-ex", f"file {session.target.image_path}",
               "-ex", f"target remote :{server.port}", "-ex", "break main_loop", "-ex", "c",
               "-ex", "info registers pc", "-ex", "monitor info io DMA"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    finally:
        server.close()
        session.close()
    out = done.stdout
    loop = addr(session, "main_loop")
    assert re.search(r"Breakpoint 1, (0x[0-9a-f]+ in )?main_loop \(\)", out), out + done.stderr
    assert re.search(rf"^pc\s+0x{loop:x}\s+0x{loop:x} <main_loop>$", out, re.M), out
    assert "DMA.ERR_CAUSE" in done.stdout + done.stderr  # gdb prints target output on stderr
    assert session.target.device.core.pc == loop
