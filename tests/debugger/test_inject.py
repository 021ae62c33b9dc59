"""Fault injection from the debugger: each kind on a real command, at a tick or on an event."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.debugger.conftest import run


def _eltwise(host) -> int:
    buf = host.h.put(np.arange(64, dtype=np.float32))
    return host.submit("ELTWISE", a=buf, b=buf, out=buf + 256, count=64, op="add", dtype="fp32")


def test_dma_error_on_the_doorbell_fails_the_command(session, host) -> None:
    assert run(session, "inject dma-error on doorbell") == "Injection 1: dma-error on the next doorbell.\n"
    _eltwise(host)
    run(session, "continue")
    log = session.device.injector.log
    assert [(e.injection.id, e.what) for e in log] == [(1, "triggered"), (1, "fired")]
    assert log[0].tick < log[1].tick
    assert run(session, "info inject") == (
        f"     tick {log[0].tick:>12}: injection 1 (dma-error) triggered\n"
        f"     tick {log[1].tick:>12}: injection 1 (dma-error) fired\n")
    queue = run(session, "info queue 0").splitlines()
    assert re.fullmatch(r"  cq\[ 0\] unread    completion command_id=1 status=DEVICE_ERROR opcode=ELTWISE "
                        r"cycles=\d+ value=0 detail=0 queue=normal", queue[-1])
    err = session.device.errors[-1]
    assert session.code.symbolic(err.pc).startswith("dma_2d+") and err.tick == log[1].tick
    assert run(session, "info device").splitlines()[-1] == (
        f"  last: device error injected at tick {err.tick} (pc 0x{err.pc:08x}): npu.dma: device fault "
        "injected: injected DMA error")


def test_hang_at_a_tick_leaves_the_core_spinning(session, host) -> None:
    now = session.device.now
    assert run(session, "inject hang at +5000") == f"Injection 1: hang at tick {now + 5000}.\n"
    assert run(session, "info inject") == \
        f"  1  hang            waiting for its trigger (at tick {now + 5000})\n"
    assert run(session, "continue") == "Target idle: the core is hung and nothing is scheduled.\n"
    assert session.device.hung and session.runner.state() == "hung"
    assert run(session, "info inject").splitlines() == [
        f"     tick {now + 5000:>12}: injection 1 (hang) triggered",
        f"     tick {now + 5000:>12}: injection 1 (hang) fired"]


def test_bad_completion_corrupts_the_entry_the_host_reads(session, host) -> None:
    run(session, "inject bad-completion on doorbell")
    host.submit("NOP")
    run(session, "continue")
    assert run(session, "info queue 0").splitlines()[1:] == [
        "  sq[ 0] IN FLIGHT NOP command_id=1 queue=normal flags=irq",
        "  cq[ 0] unread    completion command_id=4294967294 status=OK opcode=NOP cycles=83 value=0 detail=0 "
        "queue=normal"]


def test_trap_on_the_doorbell_is_an_illegal_instruction_at_the_first_xnpu_issue(session, host) -> None:
    run(session, "inject trap on doorbell", "catch trap illegal_instruction")
    _eltwise(host)
    out = run(session, "continue")
    assert re.fullmatch(r"Catchpoint 1 \(trap illegal_instruction\), mtval 0x[0-9a-f]+", out.splitlines()[0])
    assert re.fullmatch(r"  at 0x[0-9a-f]{8} <handle_eltwise\+\d+> at firmware/src/ops_eltwise.S:\d+",
                        out.splitlines()[1])


def test_irq_loss_drops_the_completion_interrupt(session, host) -> None:
    run(session, "inject irq-loss on doorbell")
    host.submit("NOP")
    run(session, "continue")
    dev = session.device
    assert dev.regs.peek("queue0.cq_tail") == 1  # the completion was written...
    assert not dev.host_irq_pending()  # ...and its interrupt never came
    assert [e.what for e in dev.injector.log] == ["triggered", "fired"]


@pytest.mark.parametrize("line, message", [
    ("inject", "inject: the following arguments are required: kind"),
    ("inject flood", "inject: argument kind: invalid choice: 'flood' (choose from 'hang', 'irq-loss', "
                     "'dma-error', 'trap', 'bad-completion')"),
    ("inject hang at", "inject: say when as 'at TICK', 'at +TICKS' or 'on EVENT'"),
    ("inject hang when 5", "inject: say when as 'at TICK', 'at +TICKS' or 'on EVENT'"),
    ("inject hang on sunrise",
     "inject hang: unknown event 'sunrise' (one of doorbell, xnpu, dma, completion, irq)"),
    ("inject hang at 5", "inject hang: tick 5 is in the past (now {now})"),
])
def test_bad_injections_are_one_line(session, line, message) -> None:
    assert session.run_command(line) is False
    assert session.out.take() == message.format(now=session.device.now) + "\n"
    assert run(session, "info inject") == "No injections.\n"
