"""Boot and handshake of every release image, driven through BAR0 as the driver does."""

from __future__ import annotations

import pytest
from fwharness import FwHarness

from firmware.hw.cfgregs import CfgRegisters
from firmware.releases import abi_mask, release_line

RELEASES = release_line().releases
VERSIONS = [str(r.version) for r in RELEASES]


@pytest.mark.parametrize("version", VERSIONS)
def test_boot_reaches_ready_and_publishes_the_release(version: str) -> None:
    h = FwHarness(version)
    r = h.release
    assert h.field("version.handshake.status") == "ready"
    assert h.field("version.selftest.status") == "passed"
    assert h.field("version.selftest.detail") == 0
    assert h.rd("version.fw_version") == r.version.packed
    assert h.rd("version.abi_supported") == abi_mask(r.abi)
    assert h.rd("version.fw_features") == r.feature_mask
    assert h.field("ctrl.state.state") == "booting"  # until a handshake is accepted
    assert h.field("host_irq.status.handshake") == 1
    assert h.dev.errors == []
    assert h.dev.asleep  # waiting in wfi for the driver


def test_a_fresh_boot_through_the_load_window_is_repeatable() -> None:
    a = FwHarness("1.0.0", cache=False)
    b = FwHarness("1.0.0", cache=False)
    assert a.dev.now == b.dev.now < 2_000_000
    assert a.field("fw_load.status.error") == 0
    assert a.field("fw_load.status.words") == sum((len(s.data) + 3) // 4 for s in a.program.segments)


@pytest.mark.parametrize(("version", "gen"), [(str(r.version), g) for r in RELEASES for g in r.abi])
def test_handshake_accepts_each_spoken_generation(version: str, gen: int) -> None:
    h = FwHarness(version)
    assert h.handshake(gen) == "accepted"
    assert h.field("ctrl.state.state") == "ready"
    h.setup_rings()
    assert h.run("NOP").status == "OK"


@pytest.mark.parametrize(("version", "gen"), [("1.3.0", 2), ("2.1.0", 1), ("1.0.0", 0), ("2.0.0", 3),
                                              ("2.0.0", 200)])
def test_handshake_refuses_a_generation_it_does_not_speak(version: str, gen: int) -> None:
    h = FwHarness(version)
    assert h.handshake(gen) == "refused_abi"
    assert h.field("ctrl.state.state") == "booting"


@pytest.mark.parametrize(("version", "driver", "answer"), [
    ("2.1.0", "1.3.0", "refused_driver"), ("1.0.0", "2.1.0", "refused_driver"),
    ("2.0.0", "1.1.0", "refused_driver"), ("2.0.0", "1.2.0", "accepted"), ("2.0.0", "2.1.0", "accepted"),
    ("1.3.0", "2.0.0", "accepted")])
def test_handshake_checks_the_driver_version_against_the_release_range(version: str, driver: str,
                                                                      answer: str) -> None:
    h = FwHarness(version)
    assert h.handshake(min(h.release.abi), driver=driver) == answer


def test_commands_wait_for_an_accepted_handshake() -> None:
    h = FwHarness("2.1.0")
    assert h.handshake(1) == "refused_abi"
    h.gen = 2
    h.setup_rings()
    h.submit("NOP")
    h.dev.advance(1_000_000)
    assert h.pending() == 0 and h.dev.regs.peek("queue0.sq_head") == 0  # not even taken
    assert h.handshake(2) == "accepted"  # a new selection; the waiting doorbell is served now
    (done,) = h.wait()
    assert done.status == "OK"


def test_a_failing_self_test_is_reported_and_nothing_is_served() -> None:
    h = FwHarness("1.3.0", boot=False)
    h.dev.inject("dma_error", on="dma")  # the self-test's first DMA fails
    h.load()
    assert h.wait_ready() == "failed"
    assert h.field("version.selftest.status") == "failed"
    assert h.field("version.selftest.detail") == 2  # the DMA test
    assert [e.cause for e in h.dev.errors] == ["injected"]
    before = h.field("version.handshake.status")
    h.wr("version.abi_selected", 1)
    h.dev.advance(1_000_000)
    assert h.field("version.handshake.status") == before == "failed"


def test_the_self_test_leaves_the_unit_configuration_at_its_reset_values() -> None:
    h = FwHarness("2.1.0")
    fresh = CfgRegisters()
    assert {k: v for k, v in h.dev.cfgregs.sample().items() if k not in ("status", "fault_pc")} == {
        k: v for k, v in fresh.sample().items() if k not in ("status", "fault_pc")}
