"""A trap inside the firmware is recorded, reported to the host, and parks the core; the host never hangs."""

from __future__ import annotations

import pytest
from fwharness import FwHarness, HarnessTimeout

from firmware.hw.regmap import regmap

ILLEGAL_INSTRUCTION = 2  # mcause (privileged spec)
TR_WORDS = 6  # fw_trap_record: mcause, mepc, mtval, ra, sp, count


def trapped(version: str = "2.1.0") -> FwHarness:
    """A firmware that took an (injected) illegal-instruction trap in the middle of a FENCE."""
    h = FwHarness(version).open()
    assert h.run("NOP").status == "OK"
    h.dev.inject("trap", on="xnpu")  # the FENCE's npu.barrier becomes an illegal instruction
    h.submit("FENCE")
    with pytest.raises(HarnessTimeout):
        h.wait(budget=5_000_000)
    return h


@pytest.mark.parametrize("version", ["1.0.0", "2.1.0"])
def test_a_trap_is_logged_and_raises_the_fatal_irq(version: str) -> None:
    h = trapped(version)
    assert h.field("host_irq.status.fw_fatal") == 1 and h.dev.host_irq_pending()
    assert h.field("ctrl.state.state") == "fault"
    (entry,) = h.errlog()
    assert entry["cause"] == "fw_trap"
    mcause, mepc, mtval, ra, sp, count = h.tcm_words(h.symbol("fw_trap_record"), TR_WORDS)
    assert (mcause, count) == (ILLEGAL_INSTRUCTION, 1)
    dtcm = h.dev.config.region("dtcm")
    assert dtcm.base < sp < dtcm.base + dtcm.size  # the stack at the trap
    sym, _ = h.program.symbol_at(mepc)
    assert sym.name == "handle_fence"  # the faulting instruction's function
    assert entry["addr"] == mtval != 0  # the error log names the faulting word
    assert h.program.symbol_at(entry["pc"])[0].name == "fw_trap"  # reported by the trap handler
    assert h.program.symbol_at(ra)[0].name == "dispatch"  # the caller's frame survives for a debugger


def test_the_parked_core_sleeps_and_the_watchdog_stays_quiet() -> None:
    h = trapped()
    h.wr("wdog.timeout", 100_000)
    h.wr("wdog.enable", 1)
    h.dev.advance(50_000_000)
    assert h.dev.asleep and h.dev.halted is None
    assert [e.cause for e in h.dev.errors] == ["fw_trap"]  # no watchdog expiry, nothing more
    h.submit("NOP")  # a doorbell to a parked firmware: nothing runs, the host's wait ends on its budget
    start = h.dev.now
    with pytest.raises(HarnessTimeout):
        h.wait(budget=1_000_000)
    assert h.dev.now - start <= 1_000_000 + 10_000


def test_a_reset_and_reload_recovers() -> None:
    h = trapped()
    assert h.reboot() == "ready"
    assert h.field("host_irq.status.fw_fatal") == 0
    h.open()
    assert h.run("NOP").status == "OK"
    assert h.tcm_words(h.symbol("fw_trap_record"), TR_WORDS) == [0] * TR_WORDS  # .bss cleared at boot


def test_trap_handler_symbols_and_mtvec() -> None:
    h = FwHarness("1.3.0")
    assert h.dev.core.csr("mtvec") == h.symbol("trap_entry")
    assert h.dev.core.csr("mie") == 1 << 11  # only the external interrupt
    enable = regmap().register("core_irq.enable")
    assert h.dev.regs.peek("core_irq.enable") == regmap().encode(enable.path, sq0=1, sq1=1, handshake=1)
