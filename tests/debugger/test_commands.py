"""Exact output of the register, device-register, code and support commands; views never change state."""

from __future__ import annotations

import io

from debugger.output import Output
from debugger.session import Session
from tests.debugger.conftest import addr, run


def test_info_registers_marks_changes_since_the_last_stop(session):
    session.stepi()
    core = session.target.device.core
    before = list(core.regs)
    session.execute("set $a2 = 0x1234")
    lines = run(session, "info registers").splitlines()
    a2 = next(line for line in lines if line.startswith("a2 "))
    assert a2 == "a2             0x1234            4660 *"
    changed = {line.split()[0] for line in lines if line.endswith(" *")}
    assert "a2" in changed and "zero" not in changed
    assert len(lines) == 33 and lines[-1].startswith("pc             0x")
    assert list(core.regs)[:12] == before[:12]
    assert run(session, "info registers a0 mstatus").splitlines()[1].startswith("mstatus        0x")


def test_colour_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert Output(io.StringIO()).color is False
    tty = Tty()
    out = Output(tty)
    assert out.color is True
    out.line(out.style("x", "changed"))
    assert tty.getvalue() == "\x1b[1;31mx\x1b[0m\n"
    plain = Output(None)
    plain.line(plain.style("x", "changed"))
    assert plain.take() == "x\n"


def test_io_views_peek_and_io_read_has_side_effects(session):
    regs = session.target.device.regs
    regs.poke("host_irq.status", 0x5)
    assert run(session, "io HOST_IRQ.STATUS.CQ0") == \
        "HOST_IRQ.STATUS.CQ0 = 0x1  bits 0 of HOST_IRQ.STATUS  completion queue 0 (normal priority) " \
        "has new entries\n"
    out = run(session, "io HOST_IRQ.STATUS", "info io host_irq", "x/1wx 0x10000300", "p $HOST_IRQ.STATUS")
    assert "value 0x00000005" in out and out.endswith("0x10000300:\t0x00000005\n$1 = 5\n")
    assert regs.peek("host_irq.status") == 0x5
    assert run(session, "io read HOST_IRQ.STATUS") == (
        "HOST_IRQ.STATUS = 0x00000005 (read with side effects)\n"
        "HOST_IRQ.STATUS              0x00000005  CQ0=0x1 CQ1=0x0 FW_FATAL=0x1 WATCHDOG=0x0 DMA_ERROR=0x0 "
        "THERMAL=0x0 HANDSHAKE=0x0\n")


def test_io_set_write_poke_and_enum_values(session):
    regs = session.target.device.regs
    assert run(session, "io set poke QUEUE0.SQ_TAIL=7") == "QUEUE0.SQ_TAIL = 0x00000007 (poked)\n"
    assert regs.peek("queue0.sq_tail") == 7
    assert run(session, "io set CTRL.RUN=0") == "CTRL.RUN = 0x00000000 (written as the host)\n"
    assert session.target.device.halted == "host"  # the write's side effect
    assert run(session, "info io ctrl") == (
        "CTRL (offset 0x0200)\n"
        "  CTRL.SOFT_RESET              0x00000000\n"
        "  CTRL.RUN                     0x00000000 *\n"
        "  CTRL.BOOT_ADDR               0x00000000\n"
        "  CTRL.STATE                   0x00000004  STATE=halted *\n")
    assert run(session, "io set poke CTRL.STATE.STATE=ready") == "CTRL.STATE = 0x00000003 (poked)\n"


def test_code_lookups(session):
    nop = addr(session, "handle_nop")
    assert run(session, "info symbol handle_nop+8", "info symbol 0x90000000") == \
        "handle_nop + 8 in section .text\nNo symbol matches 0x90000000.\n"
    row = session.target.program.line_for(nop)
    out = run(session, "info line handle_nop")
    assert out.startswith(f'Line {row.line} of "{row.file}" starts at address 0x{nop:x} <handle_nop> '
                          "and ends at ")
    out = run(session, "disassemble handle_nop").splitlines()
    assert out[0] == "Dump of assembler code for function handle_nop:"
    assert out[1] == f"   0x{nop:08x} <handle_nop>:\taddi sp,sp,-16"
    assert out[-2].endswith("\tret") and out[-1] == "End of assembler dump."
    session.set_register("pc", nop + 4)
    assert f"=> 0x{nop + 4:08x} <handle_nop+4>:\tsw ra,12(sp)" in run(session, "disassemble")
    listing = run(session, "list handle_nop").splitlines()
    assert len(listing) == 10 and listing[5].split("\t")[0] == str(row.line)
    more = run(session, "list").splitlines()
    assert more[0].split("\t")[0] == str(row.line + 5)


def test_info_mem_is_the_memory_map(session):
    lines = run(session, "info mem").splitlines()
    assert lines[0] == "Name   Low Addr   High Addr        Size  Kind  Attrs Description"
    regions = session.target.device.config.regions
    assert len(lines) == 1 + len(regions)
    for line, r in zip(lines[1:], regions, strict=True):
        assert line.startswith(f"{r.name:<6} 0x{r.base:08x} 0x{r.end - 1:08x}")


def test_help_is_generated_from_the_parsers(session):
    assert run(session, "help x") == (
        "Usage: x [addr ...]\n\n"
        "Examine memory: x/NFU ADDR.  N count, F format (x d u o t c a z s i), U unit\n"
        "(b h w g).  Defaults: the last format and unit, and the address after the last examined.\n"
        "MMIO is shown with peek: reading it here has no side effects.\n\n"
        "positional arguments:\n  addr  start address expression (e.g. &symbol, $sp + 16)\n")
    out = run(session, "help")
    assert out.startswith("List of classes of commands:\n\nrunning -- Running the program")
    summary = "stepi -- Execute N machine instructions (default 1), entering calls.\n"
    assert summary in run(session, "help running")


def test_support_commands(session):
    assert run(session, "echo hi\\n", "output 1+1", "python out.line(str(s.eval('2*3')))") == "hi\n26\n"


def test_session_output_to_a_stream():
    stream = io.StringIO()
    s = Session(output=stream)
    s.execute("p 3")
    assert stream.getvalue() == "$1 = 3\n"


def test_internal_errors_name_a_traceback_file(session):
    from debugger.errors import describe

    try:
        raise ValueError("broken invariant")
    except ValueError as exc:
        text = describe(exc)
    assert text.startswith("internal error: ValueError: broken invariant (traceback in ")
    path = text.rsplit("traceback in ", 1)[1].rstrip(")")
    with open(path, encoding="utf-8") as f:
        assert "raise ValueError(\"broken invariant\")" in f.read()
    session.execute("python session.out.line('ok')")
    assert session.out.take() == "ok\n"


def test_disassemble_range_and_strings(session):
    nop = addr(session, "handle_nop")
    out = run(session, f"disassemble {nop},+8").splitlines()
    assert out == [f"Dump of assembler code from 0x{nop:x} to 0x{nop + 8:x}:",
                   f"   0x{nop:08x} <handle_nop>:\taddi sp,sp,-16",
                   f"   0x{nop + 4:08x} <handle_nop+4>:\tsw ra,12(sp)", "End of assembler dump."]
    base = 0x13F100
    session.write_memory(base, b"npu\tok\0rest\0")
    assert run(session, f"x/2s {base}") == f'0x{base:08x}:\t"npu\\tok"\n0x{base + 7:08x}:\t"rest"\n'
    assert run(session, f"x/3c {base}") == f"0x{base:08x}:\t110 'n'\t112 'p'\t117 'u'\n"
