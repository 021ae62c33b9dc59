"""Host programs in lockstep: built-in workloads and unmodified scripts, paused at a precise point."""

from __future__ import annotations

import inspect
import textwrap

import pytest

from debugger import hostprog
from debugger.errors import DebuggerError
from debugger.session import Session
from tests.debugger.conftest import addr, frame, run, shown


def _line_of(fn, text: str) -> int:
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if text in line)


@pytest.fixture
def nop_session():
    s = Session(workload="nop")
    yield s
    s.close()


def test_catch_doorbell_write_pauses_host_before_the_firmware_runs(nop_session):
    s = nop_session
    assert run(s, "catch mmio write QUEUE0.SQ_DOORBELL host") == \
        "Catchpoint 1 (mmio write QUEUE0.SQ_DOORBELL host)\n"
    out = run(s, "c")
    pc = s.target.device.core.pc
    assert out == ("Catchpoint 1 (mmio write): host write QUEUE0.SQ_DOORBELL = 0x00000001\n"
                   f"  by host at debugger/hostprog.py:{_line_of(hostprog._nop, 'dev.nop()')} in _nop\n"
                   f"{frame(s, pc)}\n{shown(s, pc)}\n")
    assert s.target.program.symbol_at(pc)[0].name == "main_loop"  # asleep: not yet told
    regs = s.target.device.regs
    assert regs.peek("core_irq.pending") != 0  # the doorbell's effect is latched
    assert regs.peek("queue0.sq_tail") == 1 and regs.peek("queue0.sq_head") == 0
    run(s, "c")
    assert s.stops.last.reason == "catchpoint"
    assert regs.peek("queue0.sq_head") == 1  # the first NOP was served before the second doorbell


def test_firmware_breakpoint_while_the_host_waits(nop_session):
    s = nop_session
    run(s, "b handle_nop")
    nop = addr(s, "handle_nop")
    for _ in range(3):
        assert run(s, "c") == f"Breakpoint 1, {frame(s, nop)}\n{shown(s, nop)}\n"
    assert run(s, "c") == "[Host program exited normally]\n"
    assert s.points.get(1).hits == 3
    assert not s.host.alive
    assert run(s, "p 6 * 7") == "$1 = 42\n"


def test_script_raising_is_reported_and_session_stays_usable(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent("""
        import driver

        if __name__ == "__main__":
            with driver.open() as dev:
                dev.nop()
            raise ValueError("boom")
    """))
    s = Session(workload=str(script))
    assert run(s, "c") == f"[Host program raised ValueError: boom at {script}:7]\n"
    assert s.stops.last.reason == "exited"
    assert run(s, "p 1") == "$1 = 1\n"
    s.close()


def test_script_exit_status(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text("import sys\nsys.exit(3)\n")
    s = Session(workload=str(script))
    assert run(s, "c") == "[Host program exited with code 3]\n"
    s.close()


def test_unknown_workload():
    with pytest.raises(DebuggerError, match=r"^unknown workload 'nope' \(built-in: nop, matmul, checksum; "
                                            r"or a Python script SCRIPT.py\)$"):
        Session(workload="nope")


def test_kill_a_paused_program(nop_session):
    s = nop_session
    run(s, "b handle_nop", "c")
    assert run(s, "kill") == "[Inferior 1 (firmware) killed]\n"
    assert s.host is None
    assert s.target.device.halted == "host"


def test_lockstep_is_deterministic():
    outs = []
    for _ in range(2):
        s = Session(workload="nop")
        out = run(s, "b handle_nop", "watch QUEUE0.CQ_TAIL", "c", "c", "c", "info io queue0", "c", "c")
        outs.append(out + str(s.target.device.now))
        s.close()
    assert outs[0] == outs[1]


def test_catch_irq_and_fault():
    s = Session(workload="matmul")
    assert run(s, "catch irq cq0") == "Catchpoint 1 (irq CQ0)\n"
    assert run(s, "c").startswith("Catchpoint 1 (irq): host interrupt CQ0 raised\ncomplete () at ")
    assert s.target.device.regs.field("host_irq.status.cq0") == 1
    s.close()
    s = Session(workload="matmul")
    s.device.inject("dma_error", on="dma")
    assert run(s, "catch fault") == "Catchpoint 1 (fault (any device error))\n"
    out = run(s, "c")
    assert out.startswith("Catchpoint 1 (fault): device error injected at tick ")
    assert s.stops.last.reason == "catchpoint"
    assert run(s, "c").startswith("[Host program raised BootFailed: firmware ")
    s.close()


def test_unmodified_script_gets_the_sessions_firmware_and_driver(tmp_path):
    """`driver.open()` with no arguments inside the session opens what npudbg was started with."""
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent("""
        import driver

        with driver.open() as dev:
            v = dev.versions
            raise SystemExit(0 if (v["firmware"], v["driver"]) == ("1.3.0", "1.2.0") else 7)
    """))
    s = Session(firmware="1.3.0", driver="1.2.0", workload=str(script))
    assert run(s, "c") == "[Host program exited with code 0]\n"
    s.close()
    import driver.transport

    assert driver.transport.defaults() == {}


def test_read_watchpoint_on_a_field_sees_a_byte_read_in_its_own_lane(tmp_path):
    """A host byte read of ID.HW_REV's second byte is MAJOR, not bits 8-15 of that byte."""
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent("""
        import driver
        from driver.registers import offset

        with driver.open() as dev:
            dev.bus.read8(offset("id.hw_rev") + 1)
    """))
    s = Session(workload=str(script))
    assert run(s, "rwatch ID.HW_REV.MAJOR") == "Register read watchpoint 1: ID.HW_REV.MAJOR\n"
    major = s.target.device.regs.map.field("id.hw_rev.major").extract(s.target.device.regs.peek("id.hw_rev"))
    assert major >= 1
    stops = []
    for _ in range(20):
        out = run(s, "c")
        if s.stops.last.reason != "watchpoint":
            break
        stops.append(out)
    byte_read = [out for out in stops if f"{script}:6" in out]
    assert len(byte_read) == 1, stops
    assert f"Value = 0x{major:x}\n" in byte_read[0]
    s.close()
