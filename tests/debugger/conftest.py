"""Debugger test fixtures: a session on the newest firmware, and a host side that submits commands.

`host(session)` handshakes and sets up the rings through the firmware test harness on
the session's own device, so a test can submit a command (the doorbell written with
no time passing) and then let the session run the firmware into it.
"""

from __future__ import annotations

import pytest

from debugger.session import Session
from tests.firmware.fwharness import FwHarness


@pytest.fixture
def session() -> Session:
    s = Session()
    yield s
    s.close()


class Host:
    """The host side of the rings, on a session's device."""

    def __init__(self, session: Session) -> None:
        h = FwHarness(boot=False)
        h.dev = session.target.device
        h.rmap = h.dev.regs.map
        h.open()
        self.h = h
        self.session = session

    def submit(self, opcode: str, queue: int = 0, **args) -> int:
        """Fill the next descriptor and ring the doorbell; the firmware has not run yet."""
        h = self.h
        cid = h.new_id()
        h.submit_raw(h.descriptor(opcode, cid, queue, **args), queue, ring=False)
        h.dev.regs.write(f"queue{queue}.sq_doorbell", 1, "host", origin="test host")
        return cid


@pytest.fixture
def host(session: Session) -> Host:
    return Host(session)


def run(session: Session, *lines: str) -> str:
    """Run command lines; the output they wrote."""
    session.out.take()
    for line in lines:
        session.execute(line)
    return session.out.take()


# ---------------------------------------------------------------- facts of the image under test
# The firmware evolves; expectations take addresses and lines from its symbols and line table
# (and source text from the files), so they check the debugger's behaviour and formatting.


def addr(session: Session, name: str) -> int:
    value = session.target.program.address_of(name)
    assert value is not None, name
    return value


def src(session: Session, pc: int) -> tuple[str, int, str]:
    """(file, line, source text) of the instruction at `pc`."""
    row = session.target.program.line_for(pc)
    assert row is not None, hex(pc)
    with open(row.file, encoding="utf-8") as f:
        text = f.read().splitlines()[row.line - 1]
    return row.file, row.line, text


def shown(session: Session, pc: int) -> str:
    """How a stop shows its source line: `LINE<tab>TEXT`."""
    _, line, text = src(session, pc)
    return f"{line}\t{text}"


def frame(session: Session, pc: int) -> str:
    """`func () at file:line` for `pc`."""
    file, line, _ = src(session, pc)
    return f"{session.target.program.symbol_at(pc)[0].name} () at {file}:{line}"


def find_insn(session: Session, func: str, text: str) -> int:
    """Address of the first instruction in `func` whose disassembly contains `text`."""
    from isa.disasm import disassemble

    start = addr(session, func)
    prog = session.target.program
    for d in disassemble(session.read_memory(start, 4096), start, prog.symbols):
        if prog.symbol_at(d.addr)[0].name != func:
            break
        if text in d.text:
            return d.addr
    raise AssertionError(f"no '{text}' in {func}")
