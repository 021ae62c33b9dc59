"""Bring-up against every firmware image, and the version policy end to end (live registers, handshake)."""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pytest

import driver
from driver.bringup import boot, handshake
from driver.bus import Bus, BusAccess
from driver.device import CompatibilityWarning
from driver.errors import FeatureMissing, HandshakeRefused, Incompatible
from driver.loader import image_for
from driver.policy import Policy
from driver.registers import Registers
from driver.releases import driver_line
from driver.transport import InProcess
from firmware.releases import release_line

RELEASES = [str(r.version) for r in release_line().releases]


@pytest.mark.parametrize("version", RELEASES)
def test_bring_up_every_image_with_its_own_driver_release(version: str) -> None:
    release = release_line().release(version)
    with driver.open(version, release=version) as dev:
        assert dev.verdict.status == "compatible"
        assert dev.abi == max(release.abi)
        assert dev.versions == {"driver": version, "firmware": version, "abi": max(release.abi),
                                "features": list(release.features), "handshake": "accepted"}
        assert dev.regs.enum("version.handshake.status") == "accepted"
        assert dev.regs.enum("ctrl.state.state") == "ready"
        assert dev.regs.read("version.fw_version") == release.version.packed
        done = dev.nop()
        assert (done.status, done.opcode, done.command_id) == ("OK", "NOP", 1)
        info = dev.get_info()
        assert (info["fw_version"], info["features"], info["queues"]) == (
            release.version.packed, release.feature_mask, 2 if max(release.abi) == 2 else 1)
        assert info["commands_ok"] == 1
    assert dev.closed
    assert dev.regs.enum("ctrl.state.state") == "halted"


def test_bring_up_order_on_the_bus() -> None:
    """reset → load window → boot address → run → READY → versions → queues → handshake."""
    t = InProcess()
    bus = Bus(t)
    writes: list[str] = []
    bus.observe(lambda e: writes.append(e.register or "?") if e.kind == "write" else None)
    regs = Registers(bus)
    image = image_for("1.3.0")
    live = boot(regs, image)
    assert (live.fw_version, live.abi_supported, live.selftest, live.handshake) == (0x010300, 0b10, "passed",
                                                                                   "ready")
    firsts = [w for i, w in enumerate(writes) if w not in writes[:i]]
    assert firsts == ["ctrl.soft_reset", "host_irq.mask", "fw_load.addr", "fw_load.data", "ctrl.boot_addr",
                      "ctrl.run"]
    assert writes.count("fw_load.data") == image.words
    del writes[:]
    assert handshake(regs, driver_line().release("1.3.0"), 1) == "accepted"
    assert writes == ["version.driver_version", "version.abi_selected"]


def test_at_the_edge_runs_with_a_warning() -> None:
    with pytest.warns(CompatibilityWarning, match="compatible with warning"), \
            driver.open("1.2.0", release="1.0.0") as dev:
        assert dev.verdict.status == "compatible_with_warning"
        assert "2 releases apart: at the edge" in str(dev.verdict)
        assert dev.nop().status == "OK"


def test_too_far_apart_is_refused_unless_forced() -> None:
    t = InProcess()
    with pytest.raises(Incompatible, match=r"1\.0\.0 and firmware 1\.3\.0 are 3 releases apart; at most 2 "
                                           r"allowed \(force=True runs it anyway\)"):
        driver.open("1.3.0", release="1.0.0", transport=t)
    assert t.device.regs.peek("version.abi_selected") == 0  # refused before the handshake
    with pytest.warns(CompatibilityWarning, match=r"\(forced\)"), \
            driver.open("1.3.0", release="1.0.0", force=True) as dev:
        assert dev.verdict.forced and dev.verdict.status == "compatible_with_warning"
        assert dev.nop().status == "OK"


def test_no_common_abi_is_never_forceable() -> None:
    with pytest.raises(Incompatible,
                       match=r"driver 2\.1\.0 speaks ABI 2, firmware 1\.3\.0 speaks ABI 1: no generation"):
        driver.open("1.3.0", release="2.1.0", force=True)
    with pytest.raises(Incompatible, match="no generation in common"):
        driver.open("2.1.0", release="1.3.0", force=True)


def test_a_driver_for_both_generations_speaks_abi_1_to_old_firmware() -> None:
    with pytest.warns(CompatibilityWarning, match="degraded"), driver.open("1.3.0", release="2.0.0") as dev:
        assert (dev.abi, dev.verdict.status) == (1, "degraded")  # no priority queue before 2.0.0
        assert dev.verdict.unavailable_ops == (("priority_submit", ("priority_queue",)),)
        assert dev.checksum(b"123456789") == 0xCBF43926


def test_degraded_firmware_refuses_the_missing_ops_before_submitting() -> None:
    with pytest.warns(CompatibilityWarning, match="degraded"), driver.open("1.1.0", release="1.3.0") as dev:
        assert dev.verdict.status == "degraded"
        assert dev.verdict.unavailable_ops == (("checksum", ("checksum",)), ("conv2d_fused", ("conv_fused",)))
        seen: list[BusAccess] = []
        dev.bus.observe(seen.append)
        with pytest.raises(FeatureMissing, match=r"checksum needs firmware feature checksum, which firmware "
                                                 r"1\.1\.0 lacks"):
            dev.checksum(b"abc")
        assert seen == []  # nothing allocated, written or rung
        assert dev.nop().status == "OK"


def test_the_firmware_refusing_the_handshake_is_reported_as_a_live_refusal() -> None:
    """The policy is told to skip the range rule; the firmware still checks it, live."""
    relaxed = Policy(check_driver_range=False)
    with pytest.raises(HandshakeRefused, match=r"firmware 2\.0\.0 refused the handshake of driver 1\.0\.0: "
                                               r"refused_driver") as info:
        driver.open("2.0.0", release="1.0.0", policy=relaxed, force=True)
    verdict = info.value.verdict  # type: ignore[attr-defined]
    assert (verdict.status, verdict.forceable) == ("incompatible", False)
    assert ("handshake", "firmware 2.0.0 answered the handshake with refused_driver") in [
        (r.rule, r.message) for r in verdict.blocking()]


DRIVERS = [str(r.version) for r in driver_line().releases]
# Cells run by default (one of each kind of outcome); the whole grid runs with -m long.
SAMPLE = {("2.0.0", "1.2.0"), ("1.2.0", "2.0.0"), ("2.1.0", "2.0.0"), ("1.0.0", "2.1.0"), ("1.1.0", "1.3.0"),
          ("2.0.0", "2.1.0")}
GRID = [pytest.param(d, f, id=f"driver{d}-fw{f}", marks=() if (d, f) in SAMPLE else pytest.mark.long)
        for f in RELEASES for d in DRIVERS]


@pytest.mark.parametrize(("drv", "fw"), GRID)
def test_live_bring_up_does_what_the_static_verdict_says(drv: str, fw: str) -> None:
    """Live bring-up (live registers, the firmware's handshake check) agrees with the manifest's verdict."""
    from driver.policy import FirmwareDescription, evaluate

    manifest = FirmwareDescription.from_release(release_line().release(fw))
    static = evaluate(driver_line().release(drv), manifest)
    if static.ok:
        warns = pytest.warns(CompatibilityWarning) if static.status != "compatible" else nullcontext()
        with warns, driver.open(fw, release=drv) as dev:
            assert dev.verdict == static
            assert dev.nop().status == "OK"
    else:
        with pytest.raises(Incompatible) as info:
            driver.open(fw, release=drv)
        assert info.value.verdict == static


def test_a_closed_device_refuses_ops_and_has_freed_its_memory() -> None:
    from driver.device import DeviceClosed

    dev = driver.open("1.3.0", release="1.3.0")
    kept = dev.ctx.upload(np.arange(10, dtype=np.int32))
    dev.close()
    dev.close()  # idempotent
    assert kept.freed and dev.memory.allocator.used == {}
    with pytest.raises(DeviceClosed, match="the device is closed"):
        dev.nop()
