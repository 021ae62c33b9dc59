"""The expression evaluator: C operators, registers, symbols, memory, casts, errors."""

from __future__ import annotations

import pytest

from debugger.errors import DebuggerError


@pytest.mark.parametrize(("text", "value"), [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("0x10 | 0b11", 0x13), ("010", 8), ("0o17", 15),
    ("7 / 2", 3), ("-7 / 2", -3), ("-7 % 2", -1), ("1 << 4 >> 2", 4), ("~0", 0xFFFFFFFF),
    ("!5", 0), ("3 > 2 && 2 > 1", 1), ("0 || 0", 0), ("5 == 5 != 0", 1), ("6 & 3 ^ 1", 3),
    ("'a'", 97), ("'\\n'", 10), ("(char)0x1ff", -1), ("(unsigned char)0x1ff", 0xFF),
    ("(short)0x18000", -32768),
    ("1_000", 1000),
])
def test_constants(session, text, value):
    assert session.eval(text) == value


def test_registers_symbols_and_memory(session):
    core = session.target.device.core
    core.regs["a0"] = 3
    core.regs["sp"] = 0x13FF00
    assert session.eval("$a0") == 3
    assert session.eval("$x10 + $A0") == 6
    assert session.eval("$sp + 16") == 0x13FF10
    assert session.eval("$fp") == core.regs["s0"]
    assert session.eval("$pc") == core.pc
    assert session.eval("$mstatus") == core.csr("mstatus")
    nop = session.target.program.address_of("handle_nop")
    assert session.eval("handle_nop") == nop
    assert session.eval("&handle_nop + 4") == nop + 4
    word = int.from_bytes(core.read_mem(nop, 4), "little")
    assert session.eval("*handle_nop") == word
    assert session.eval("*(int*)handle_nop") == word
    assert session.eval("*(char*)handle_nop") == (word & 0xFF) - (256 if word & 0x80 else 0)
    assert session.eval("*(unsigned short*)(handle_nop + 2)") == word >> 16
    assert session.eval("{short}(handle_nop + 2)") == ((word >> 16) ^ 0x8000) - 0x8000


def test_device_registers_are_peeked(session):
    regs = session.target.device.regs
    regs.poke("queue0.sq_tail", 5)
    regs.poke("host_irq.status", 0x4)
    assert session.eval("$QUEUE0.SQ_TAIL") == 5
    assert session.eval("$queue0.sq_tail.idx * 2") == 10
    assert session.eval("$HOST_IRQ.STATUS") == 4
    assert regs.peek("host_irq.status") == 4  # no clear-on-read, no W1C


def test_names_and_history(session):
    assert session.eval("value + 1", {"value": 41}) == 42
    session.record(7)
    session.record(9)
    assert session.eval("$") == 9
    assert session.eval("$$") == 7
    assert session.eval("$1 + $2") == 16


@pytest.mark.parametrize(("text", "message"), [
    ("1 +", "bad expression '1 +': it ends too early"),
    ("1 @ 2", "bad expression '1 @ 2': unexpected '@' at column 3"),
    ("(1 + 2", "bad expression '(1 + 2': it ends too early"),
    ("1 2", "bad expression '1 2': unexpected '2' at column 3"),
    ("4 / 0", "bad expression '4 / 0': division by zero at column 3"),
    ("nosuch + 1", "no symbol \"nosuch\" in the firmware image (in 'nosuch + 1')"),
    ("$sq0", "no register named $sq0; did you mean $s0?"),
    ("$QUEUE0.SQ_TAI",
     "$QUEUE0.SQ_TAI: no register or field named 'QUEUE0.SQ_TAI'; did you mean QUEUE0.SQ_TAIL?"),
    ("*0x90000000", "cannot access memory at 0x90000000: no memory at 0x90000000"),
    ("", "an expression is required"),
    ("$", "the value history is empty"),
])
def test_errors_are_one_line(session, text, message):
    with pytest.raises(DebuggerError) as info:
        session.eval(text)
    assert str(info.value) == message
