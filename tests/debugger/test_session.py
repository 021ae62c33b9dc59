"""Session API on the real firmware: breakpoints, stepping, finish, bt, x, print, watch, catch, idle."""

from __future__ import annotations

import re
import threading
import time

import pytest

from debugger.errors import DebuggerError
from debugger.session import Session
from tests.debugger.conftest import Host, addr, find_insn, frame, run, shown, src


def nop_stop(s, number=1, label="Breakpoint"):
    nop = addr(s, "handle_nop")
    return f"{label} {number}, {frame(s, nop)}\n{shown(s, nop)}\n"


def test_breakpoint_backtrace_finish(session, host):
    nop = addr(session, "handle_nop")
    file, line, _ = src(session, nop)
    assert run(session, "b handle_nop") == f"Breakpoint 1 at 0x{nop:x}: file {file}, line {line}.\n"
    host.submit("nop")
    assert run(session, "c") == nop_stop(session)
    ev = session.stops.last
    assert (ev.reason, ev.number, ev.pc) == ("breakpoint", 1, nop)
    out = run(session, "bt").splitlines()
    assert out[:2] == ["(frame-pointer based backtrace)", f"#0  {frame(session, nop)}"]
    callers = [re.match(r"#(\d) +0x([0-9a-f]{8}) in (\w+) \(\) at (\S+):(\d+)$", x).groups() for x in out[2:]]
    assert [c[2] for c in callers] == ["dispatch", "run_command", "serve_one", "drain_rings", "main_loop"]
    for _, pc, func, where, number in callers:
        ret = int(pc, 16)
        assert session.target.program.symbol_at(ret)[0].name == func
        row = session.target.program.line_for(ret - 4)  # the call's own line
        assert (where, int(number)) == (row.file, row.line)
    ret = int(callers[0][1], 16)
    out = run(session, "finish")
    a0 = session.target.device.core.regs["a0"]
    assert out == (f"Run till exit from #0  {frame(session, nop)}\n"
                   f"{frame(session, ret)}\n{shown(session, ret)}\nValue returned is $1 = {a0} ({a0:#x})\n")
    assert session.target.device.core.pc == ret
    assert run(session, "info breakpoints") == (
        "Num     Type               Disp Enb Address    What\n"
        f"1       breakpoint         keep y   0x{nop:08x} in handle_nop at {file}:{line}\n"
        "\tbreakpoint already hit 1 time\n")


def test_finish_shows_the_returned_a0_and_keeps_it_in_the_value_history(session, host):
    nop = addr(session, "handle_nop")
    file, line, _ = src(session, nop)
    with open(file, encoding="utf-8") as f:  # the line after handle_nop's `li a0, ST_OK`
        lines = f.read().splitlines()
    after = next(i for i, text in enumerate(lines[line:], line + 1) if "li      a1" in text)
    run(session, f"tbreak {file}:{after}")
    host.submit("nop")
    run(session, "c", "set $a0 = -5")
    out = run(session, "finish").splitlines()
    assert out[0] == f"Run till exit from #0  handle_nop () at {file}:{after}"
    assert out[-1] == "Value returned is $1 = -5 (0xfffffffb)"
    ev = session.stops.last
    assert (ev.reason, ev.new) == ("finish", 0xFFFFFFFB)
    assert run(session, "p/d $", "p/x $1") == "$2 = -5\n$3 = 0xfffffffb\n"


def test_examine_and_print(session):
    nop = addr(session, "handle_nop")
    words = [session.read_int(nop + 4 * i, 4) for i in range(4)]
    assert run(session, "x/4wx &handle_nop") == \
        f"0x{nop:08x} <handle_nop>:\t" + "\t".join(f"0x{w:08x}" for w in words) + "\n"
    session.target.device.core.regs["sp"] = 0x13FFA0
    assert run(session, "p/x $sp + 16") == "$1 = 0x13ffb0\n"
    assert run(session, "p $1 - 16", "p/d -1", "p/u -1", "p/t 10", "p/o 8", "p/c 65", "p/a handle_nop+4") == (
        f"$2 = 1310624\n$3 = -1\n$4 = 4294967295\n$5 = 1010\n$6 = 010\n$7 = 65 'A'\n"
        f"$8 = 0x{nop + 4:x} <handle_nop+4>\n")
    assert run(session, "x/2i handle_nop") == (f"   0x{nop:08x} <handle_nop>:\taddi sp,sp,-16\n"
                                                f"   0x{nop + 4:08x} <handle_nop+4>:\tsw ra,12(sp)\n")
    b = session.read_memory(nop, 8)
    h = [int.from_bytes(b[4:6], "little"), int.from_bytes(b[6:8], "little")]
    assert run(session, "x/4xb handle_nop", "x/2dh") == (
        f"0x{nop:08x} <handle_nop>:\t" + "\t".join(f"0x{v:02x}" for v in b[:4]) + "\n"
        f"0x{nop + 4:08x} <handle_nop+4>:\t" + "\t".join(str(v - (v >> 15) * 65536) for v in h) + "\n")


def test_set_memory_registers_and_dump(session, tmp_path):
    base = 0x13F000
    run(session, f"set {{int}}{base} = 0x11223344", f"set *(short*)({base} + 4) = -2", "set var $a0 = 5",
        "set $a1 = $a0 * 3")
    core = session.target.device.core
    assert core.read_mem(base, 8) == bytes.fromhex("44332211feff0000")
    assert (core.regs["a0"], core.regs["a1"]) == (5, 15)
    out = tmp_path / "mem.bin"
    assert run(session, f"dump memory {out} {base} {base}+6") == f"Wrote 6 bytes to {out}.\n"
    assert out.read_bytes() == bytes.fromhex("44332211feff")
    with pytest.raises(DebuggerError, match=r"^\$zero is hard-wired to 0$"):
        session.execute("set $zero = 1")


def test_step_next_stepi_nexti(session, host):
    nop = addr(session, "handle_nop")
    run(session, "b handle_nop")
    host.submit("nop")
    run(session, "c")
    out = run(session, "next", "step", "stepi", "nexti").splitlines()
    rows = session.target.program.lines
    # next/step stop at the first instruction of each following line of handle_nop
    first = src(session, nop)[1]
    starts = sorted({r.line: r.addr for r in reversed(rows) if nop < r.addr < nop + 40
                     and r.file.endswith("cmd_basic.S") and r.line != first}.values())
    assert out[0] == shown(session, starts[0])
    assert out[1] == shown(session, starts[1])
    assert session.stops.last.reason == "step"
    pc = session.target.device.core.pc
    assert out[3] == f"0x{pc:08x}\t{shown(session, pc)}"  # inside a line: the address first


def test_nexti_runs_over_a_call(session, host):
    call = find_insn(session, "run_command", "jalr ra")  # call dispatch (auipc + jalr)
    run(session, f"b *{call}")
    host.submit("nop")
    run(session, "c")
    assert session.target.device.core.pc == call
    run(session, "nexti")
    assert session.target.device.core.pc == call + 4
    assert session.stops.last.reason == "step"


def test_memory_watchpoint_old_new_and_pc(session, host):
    assert run(session, "watch *(int*)&irq_events") == "Hardware watchpoint 1: *(int*)&irq_events\n"
    host.submit("nop")
    out = run(session, "c")
    ev = session.stops.last
    store = int(ev.site.split()[-1], 16)
    assert session.target.program.symbol_at(store)[0].name == "trap_entry"
    pc = session.target.device.core.pc
    assert out == ("Hardware watchpoint 1: *(int*)&irq_events\n\nOld value = 0\nNew value = 1\n"
                   f"written by the instruction at {session.describe_code(store)}\n"
                   f"{frame(session, pc)}\n{shown(session, pc)}\n")
    assert (ev.reason, ev.old, ev.new, ev.addr) == ("watchpoint", 0, 1, addr(session, "irq_events"))
    assert pc == store + 4


def test_register_watchpoint_with_condition(session, host):
    assert run(session, "watch QUEUE0.CQ_TAIL if value > 1") == "Register watchpoint 1: QUEUE0.CQ_TAIL\n"
    host.submit("nop")
    assert run(session, "c") == "Target idle: the firmware is asleep and nothing is scheduled.\n"
    host.submit("nop")
    out = run(session, "c")
    pc = session.target.device.core.pc
    store = pc - 4
    assert out == ("Register watchpoint 1: QUEUE0.CQ_TAIL\n\nOld value = 0x00000001 [IDX=0x1]\n"
                   "New value = 0x00000002 [IDX=0x2]\n"
                   f"changed by firmware at {session.describe_code(store)}\n"
                   f"{frame(session, pc)}\n{shown(session, pc)}\n")
    assert session.target.program.symbol_at(store)[0].name == "complete"
    assert session.points.get(1).hits == 1
    assert session.target.device.regs.peek("queue0.cq_tail") == 2


def test_catch_mmio_read_block_firmware_side(session, host):
    assert run(session, "catch mmio read QUEUE0 firmware") == "Catchpoint 1 (mmio read QUEUE0 firmware)\n"
    host.submit("nop")
    out = run(session, "c")
    pc = session.target.device.core.pc
    assert out == ("Catchpoint 1 (mmio read): firmware read QUEUE0.ENABLE = 0x00000001\n"
                   f"  by firmware at {session.describe_code(pc - 4)}\n"
                   f"{frame(session, pc)}\n{shown(session, pc)}\n")


def test_catch_trap(session):
    free = session.target.program.sections[0].size + 0x100  # zeros after the code: illegal instructions
    run(session, "catch trap illegal_instruction", f"set $pc = {free}", "set $mstatus = 0")
    session.target.device.asleep = False
    out = run(session, "c")
    assert out.startswith(f"Catchpoint 1 (trap illegal_instruction), mtval 0x0\n  at 0x{free:08x}")
    assert session.stops.last.reason == "catchpoint"


def test_temporary_breakpoint_ignore_count_and_commands(session, host):
    run(session, "tbreak handle_nop", "break complete", "ignore 2 1")
    session.execute("commands 2\np 100\nend")
    host.submit("nop")
    assert run(session, "c") == nop_stop(session, 1, "Temporary breakpoint")
    assert 1 not in session.points.items
    assert run(session, "c") == "Target idle: the firmware is asleep and nothing is scheduled.\n"
    host.submit("nop")
    done = addr(session, "complete")
    assert run(session, "c") == f"Breakpoint 2, {frame(session, done)}\n{shown(session, done)}\n$1 = 100\n"
    assert session.points.get(2).hits == 1


def test_enable_disable_delete(session, host):
    run(session, "b handle_nop", "disable 1")
    host.submit("nop")
    assert run(session, "c") == "Target idle: the firmware is asleep and nothing is scheduled.\n"
    run(session, "enable")
    host.submit("nop")
    assert run(session, "c") == nop_stop(session)
    run(session, "delete 1")
    assert run(session, "info breakpoints") == "No breakpoints or watchpoints.\n"


def test_until_and_advance(session, host):
    nop = addr(session, "handle_nop")
    file, line, _ = src(session, nop)
    host.submit("nop")
    assert run(session, "until handle_nop") == f"{frame(session, nop)}\n{shown(session, nop)}\n"
    target = session.target.program.addresses_for(file, line + 2)[0]
    assert run(session, f"advance {file.rsplit('/', 1)[-1]}:{line + 2}") == \
        f"{frame(session, target)}\n{shown(session, target)}\n"
    assert session.target.device.core.pc == target


def test_display_and_info_display(session, host):
    nop = addr(session, "handle_nop")
    run(session, "b handle_nop")
    pc = session.target.device.core.pc
    assert run(session, "display/i $pc").startswith(f"1: x/i $pc\n=> 0x{pc:08x} <")
    host.submit("nop")
    assert run(session, "c") == \
        nop_stop(session) + f"1: x/i $pc\n=> 0x{nop:08x} <handle_nop>:\taddi sp,sp,-16\n"
    assert run(session, "info display") == \
        "Auto-display expressions now in effect:\nNum Enb Expression\n1:   y  /i $pc\n"
    run(session, "undisplay 1")
    assert session.displays == []


def test_continue_idle_at_once(session):
    t0 = time.perf_counter()
    ev = session.cont()
    assert ev.reason == "idle"
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize("points", [[], ["watch CTRL.RUN", "catch mmio write QUEUE0.CQ_HEAD"]])
def test_continue_stops_idle_at_the_tick_the_firmware_went_to_sleep(session, host, points):
    """The idle stop's tick is where the core slept with nothing scheduled, found here by stepping
    a second device through the same command one instruction at a time; the same with observers
    that make the run end a slice at every firmware register write."""
    run(session, *points)
    twin = Session()
    twin_host = Host(twin)
    for h in (host, twin_host):
        h.submit("nop")
    dev = twin.target.device
    steps = 0
    while not twin.runner.idle():  # the core cannot run (asleep, no interrupt) and nothing is scheduled
        dev.step()
        steps += 1
        assert steps < 1_000_000
    ev = session.cont()
    assert (ev.reason, ev.tick, ev.pc) == ("idle", dev.now, dev.core.pc)
    assert session.target.device.now == dev.now and steps > 10
    twin.close()


def test_interrupt_from_another_thread(session):
    from isa.asm import assemble_elf
    from isa.elfread import load_elf

    loop = session.target.program.sections[0].size + 0x40
    word = load_elf(assemble_elf("j .")).segments[0].data[:4]
    session.write_memory(loop, word)
    session.set_register("pc", loop)
    session.target.device.asleep = False
    timer = threading.Timer(0.3, session.interrupt)
    timer.start()
    ev = session.cont()
    timer.join()
    assert ev.reason == "interrupt"
    assert session.target.device.core.pc == loop


def test_stop_events_and_gdb_numbering(session, host):
    from debugger.stops import gdb_registers, read_gdb_register

    seen = []
    session.stops.subscribe(seen.append)
    run(session, "b handle_nop")
    host.submit("nop")
    run(session, "c")
    assert [e.reason for e in seen] == ["breakpoint"]
    assert session.stops.wait(0) is seen[0]
    regs = gdb_registers()
    assert regs[:3] == [(0, "zero"), (1, "ra"), (2, "sp")]
    assert regs[32] == (32, "pc")
    assert (65 + 0x300, "mstatus") in regs
    assert read_gdb_register(session.target.device.core, 32) == addr(session, "handle_nop")


def test_a_front_end_thread_waits_for_the_next_stop(session, host):
    """A front end (a gdb server's thread) blocks on `stops.wait` while another thread runs the
    target, and wakes with the stop event that run posts."""
    got = []
    waiter = threading.Thread(target=lambda: got.append(session.stops.wait(timeout=60)))
    waiter.start()
    run(session, "b handle_nop")
    host.submit("nop")
    ev = session.cont()
    waiter.join(60)
    assert got == [ev] and ev.reason == "breakpoint" and ev.pc == addr(session, "handle_nop")
    assert session.stops.wait(0) is None  # each event is taken once


def test_reset_and_run(session):
    version = session.target.release
    assert run(session, "reset") == f"Device reset; firmware {version} loaded, core at 0x00000000.\n"
    assert session.target.device.core.pc == 0
    run(session, "b set_handshake")
    out = run(session, "run")
    assert out.startswith(f"Breakpoint 1, {frame(session, addr(session, 'set_handshake'))}\n")


def test_bad_input_is_one_line_and_session_usable(session):
    cases = {
        "frobnicate": 'undefined command: "frobnicate"; try \'help\'',
        "p 1 +": "bad expression '1 +': it ends too early",
        "p $qq": "no register named $qq",
        "io QUEUE0.SQ_TAI": "no register or field named 'QUEUE0.SQ_TAI'; did you mean QUEUE0.SQ_TAIL?",
        "x/4wx 0x90000000": "cannot access memory at 0x90000000: no memory at 0x90000000",
        "b nosuch_function": "no symbol \"nosuch_function\" in the firmware image (in 'nosuch_function')",
        "x/4q 0": "bad format letter 'q' in '/4q' (formats xduotcazsi, units bhwg)",
        "delete 99": "no breakpoint number 99",
        "catch trap nonsense": "unknown trap cause 'nonsense' (one of fetch_misaligned, fetch_fault, "
                               "illegal_instruction, breakpoint, load_misaligned, load_fault, "
                               "store_misaligned, store_fault, ecall, or a number)",
        "watch *(float*)0": "unknown type 'float' (char, short, int, long, uint8_t, ...)",
        "io set QUEUE0.SQ_TAIL.IDX=0x12345": "QUEUE0.SQ_TAIL.IDX: 74565 does not fit in 16 bits",
    }
    for line, message in cases.items():
        assert not session.run_command(line)
        assert session.out.take() == message + "\n", line
    assert not session.run_command("info")
    assert session.out.take().startswith('"info" must be followed by the name of a subcommand (')
    assert run(session, "p 2 * 21") == "$1 = 42\n"


def test_same_script_twice_is_identical():
    from debugger.session import Session
    from tests.debugger.conftest import Host

    outputs = []
    for _ in range(2):
        s = Session()
        h = Host(s)
        run(s, "b handle_nop", "watch QUEUE0.CQ_TAIL", "display/x $sp")
        h.submit("nop")
        out = run(s, "c", "bt", "c", "info registers", "info io queue0", "c")
        outputs.append(out + str(s.target.device.now))
    assert outputs[0] == outputs[1]


def test_read_and_access_watchpoints(session, host):
    run(session, "rwatch *(int*)&irq_events")
    host.submit("nop")
    out = run(session, "c")
    assert out.startswith("Hardware read watchpoint 1: *(int*)&irq_events\n\nValue = 0\n"
                          "read by the instruction at ")
    run(session, "delete", "awatch *(int*)&irq_events")
    first, second = run(session, "c"), run(session, "c")
    assert "\nOld value = 0\nNew value = 1\nwritten by the instruction at " in first
    assert "\nValue = 1\nread by the instruction at " in second  # an access watch shows a read as read
    assert session.stops.last.reason == "watchpoint"


def test_silent_command_list(session, host):
    run(session, "b handle_nop")
    session.execute("commands 1\nsilent\np $pc == handle_nop\nend")
    host.submit("nop")
    assert run(session, "c") == "$1 = 1\n"
