"""The shell, headless (prompt_toolkit pipe input, dummy output) and in a pseudo-terminal (pexpect)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pexpect
import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from debugger.shell import run as shell_run
from debugger.shell.completer import NpudbgCompleter
from debugger.shell.loop import interrupts_go_to
from debugger.shell.toolbar import toolbar_text
from tests.debugger.conftest import run

ROOT = Path(__file__).resolve().parents[2]
BIG_SRC, BIG_SIZE = 0x8010_0000, 192 << 20  # a CHECKSUM this large runs for seconds, however fast the core
PROMPT = "(npudbg)"  # in a terminal the trailing space is drawn as a cursor move


def complete(session, text: str) -> list[str]:
    return [c.text for c in NpudbgCompleter(session).get_completions(Document(text), CompleteEvent())]


def drive(session, keys: str, history=None) -> int:
    """Type `keys` into the shell; the input ends after them."""
    with create_pipe_input() as inp:
        inp.send_text(keys)
        inp.close()
        return shell_run(session, input=inp, output=DummyOutput(), history=history or InMemoryHistory())


# ---------------------------------------------------------------- completion


def test_completes_commands_subcommands_and_choices(session) -> None:
    assert complete(session, "tra") == ["trace"]
    assert complete(session, "info d") == ["device", "display"]
    assert complete(session, "trace ") == ["clear", "insn", "mem", "mmio", "save", "show", "status"]
    assert complete(session, "trace mmio o")[:2] == ["off", "on"]
    assert complete(session, "inject irq") == ["irq-loss"]


def test_completes_registers_symbols_and_device_registers(session) -> None:
    assert complete(session, "p $a")[:8] == [f"$a{i}" for i in range(8)]
    assert complete(session, "p $mst") == ["$mstatus"]
    assert complete(session, "p $QUEUE0.SQ_T") == ["$QUEUE0.SQ_TAIL", "$QUEUE0.SQ_TAIL.IDX"]
    assert complete(session, "break handle_n") == ["handle_nop"]
    assert "QUEUE1.CQ_HEAD" in complete(session, "trace mmio on QUEUE1.CQ")


def test_completes_file_paths(session, tmp_path) -> None:
    (tmp_path / "partial.jsonl").write_text("")
    assert complete(session, f"trace save {tmp_path}/par") == ["tial.jsonl"]
    assert complete(session, f"source {tmp_path}/pa") == ["rtial.jsonl"]


# ---------------------------------------------------------------- the loop


def test_commands_errors_and_quit(session) -> None:
    status = drive(session, "info pipes\nfrobnicate\nquit 3\n")
    assert status == 3
    out = session.out.take()
    assert out.startswith("pipe  state     queued  now\n")
    assert out.endswith('undefined command: "frobnicate"; try \'help\'\n')


def test_end_of_input_ends_the_shell(session) -> None:
    assert drive(session, "info device\n") == 0


def test_empty_enter_repeats_only_what_gdb_repeats(session, host) -> None:
    from debugger.session import Session
    from tests.debugger.conftest import Host

    other = Session()
    for s in (session, other):
        run(s, "break handle_nop")
    host.submit("NOP")
    Host(other).submit("NOP")
    run(session, "continue")
    run(other, "continue", "stepi 3")
    pc0 = session.device.core.pc
    drive(session, "stepi\n\n\ninfo pipes\n\n")
    assert session.device.core.pc == other.device.core.pc != pc0
    assert session.out.take().count("pipe  state") == 1


def test_ctrl_c_at_the_prompt_clears_the_line(session) -> None:
    drive(session, "info dev\x03trace status\n")
    assert session.out.take().startswith("mmio: off")


def test_history_is_saved_to_the_history_file(session, tmp_path, monkeypatch) -> None:
    path = tmp_path / "hist"
    monkeypatch.setenv("NPUDBG_HISTORY", str(path))
    from debugger.shell.loop import _history

    drive(session, "info pipes\ntrace status\n", history=_history())
    assert [line for line in path.read_text().splitlines() if line.startswith("+")] == \
        ["+info pipes", "+trace status"]


def test_ctrl_r_searches_the_history_backwards(session) -> None:
    history = InMemoryHistory()
    for line in ("trace status", "info pipes", "info device"):
        history.append_string(line)
    drive(session, "\x12pip\r\r", history=history)  # Ctrl-R, "pip": finds `info pipes`
    assert session.out.take().startswith("pipe  state     queued  now\nMTE1  idle")


def test_toolbar_shows_state_pc_cycles_firmware_and_traces(session) -> None:
    dev = session.device
    text = "".join(t for _, t in toolbar_text(session))
    assert text == (f" asleep   pc 0x{dev.core.pc:08x} <{session.code.symbolic(dev.core.pc)}>  cycles "
                    f"{dev.core.cycles}  tick {dev.now}  firmware 2.1.0")
    run(session, "trace mmio on", "trace insn on", "stepi")
    text = "".join(t for _, t in toolbar_text(session))
    assert text.endswith("  last stop: idle  trace: mmio,insn")


def test_sigint_during_a_run_interrupts_it(session, host) -> None:
    host.submit("CHECKSUM", src=BIG_SRC, size=BIG_SIZE, seed=0)  # seconds of host time
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with interrupts_go_to(session):
        ok = session.run_command("continue")
    timer.join()
    assert ok and session.stops.last.reason == "interrupt"
    assert session.out.take().startswith("Program received signal SIGINT, Interrupt.")
    assert session.code.symbolic(session.device.core.pc).startswith(("crc32", "handle_checksum"))


# ---------------------------------------------------------------- a real terminal


@pytest.fixture
def terminal(tmp_path):
    env = dict(os.environ, NPUDBG_HISTORY=str(tmp_path / "hist"), TERM="xterm", PYTHONPATH=str(ROOT))
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(sys.executable, ["-m", "debugger.cli"], cwd=str(ROOT), env=env, encoding="utf-8",
                          timeout=60, dimensions=(40, 160))
    expect(child, PROMPT)
    yield child, tmp_path / "hist"
    if child.isalive():
        child.terminate(force=True)


CPR = "\x1b[6n"  # the terminal is asked where the cursor is (prompt_toolkit sizes its toolbar so)


def expect(child, text: str) -> None:
    """Wait for `text`, answering cursor position requests as a terminal does."""
    while child.expect_exact([CPR, text]) == 0:
        child.send("\x1b[1;1R")


def interrupt_the_run(child) -> None:
    """^C until the run reports the interrupt. The echo of the command is no sign that it runs:
    a ^C typed while the prompt still holds the terminal in raw mode is a key, not a signal."""
    stopped = "Program received signal SIGINT, Interrupt."
    for _ in range(40):
        time.sleep(0.5)
        child.sendintr()
        while (seen := child.expect_exact([CPR, stopped, pexpect.TIMEOUT], timeout=1)) == 0:
            child.send("\x1b[1;1R")
        if seen == 1:
            return
    raise AssertionError("the run never reported the interrupt")


def test_terminal_session(terminal) -> None:
    child, hist = terminal
    expect(child, "firmware 2.1.0")  # the toolbar
    child.send("info device\r")
    expect(child, "NPU default  device id 0x4e505531")
    expect(child, PROMPT)
    child.send("p $QUEUE0.SQ_SI\t")  # only the completed name is a register
    expect(child, "ZE")
    child.send("\r")
    expect(child, "$1 = 0")
    expect(child, PROMPT)
    child.send("frobnicate\r")
    expect(child, 'undefined command: "frobnicate"; try \'help\'')
    expect(child, PROMPT)
    child.send("python from tests.debugger.conftest import Host; "
               f"Host(s).submit('CHECKSUM', src={BIG_SRC:#x}, size={BIG_SIZE:#x}, seed=0)\r")
    expect(child, PROMPT)
    child.send("continue\r")
    expect(child, "continue")
    interrupt_the_run(child)
    expect(child, PROMPT)
    child.send("quit\r")
    child.expect(pexpect.EOF)
    history = hist.read_text()
    assert "+info device" in history and "+continue" in history
