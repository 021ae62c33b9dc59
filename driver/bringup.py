"""Bring-up: reset → load → release the core → READY → versions and features → verdict → handshake.

Each step is a function of the registers (through the bus) and what came before,
so that recovery repeats the same steps and the debugger's live compat check can
stop after any of them. Waiting is in ticks of virtual time: the host sleeps on
the interrupt line (the firmware's handshake interrupt wakes it) and re-reads the
handshake register, within a budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from driver.errors import DeviceTimeout, DriverError, HandshakeRefused, Incompatible
from driver.loader import FirmwareImage, load
from driver.policy import FirmwareDescription, Policy, Verdict, evaluate
from driver.registers import Registers
from driver.releases import DriverRelease

READY_BUDGET_TICKS = 200_000_000
HANDSHAKE_BUDGET_TICKS = 50_000_000
_SLICE_TICKS = 100_000


class BootFailed(DriverError):
    """The firmware did not come up: self-test failure, fatal error or watchdog during boot."""


@dataclass(frozen=True)
class LiveInfo:
    """What the booted firmware published in the version registers."""

    fw_version: int
    abi_supported: int
    fw_features: int
    selftest: str
    handshake: str
    ready_tick: int

    def describe(self, image: FirmwareImage) -> FirmwareDescription:
        return image.description.with_live(fw_version=self.fw_version, abi_supported=self.abi_supported,
                                           fw_features=self.fw_features)


def _errlog_line(regs: Registers) -> str:
    from driver.recovery import read_errlog

    entries = read_errlog(regs)
    entries = [e for e in entries if e.fatal] or entries  # rejected commands are not why it failed
    return "; ".join(str(e) for e in entries[-3:]) or "error log empty"


def wait_handshake(regs: Registers, done: tuple[str, ...], budget_ticks: int, what: str) -> str:
    """Wait until version.handshake.status is one of `done`; returns it. Fatal interrupts end the wait."""
    bus = regs.bus
    status_at = regs.map.register("host_irq.status").offset
    fatal = regs.mask("host_irq.status", "fw_fatal", "watchdog")
    deadline = bus.now() + budget_ticks
    while True:
        state = regs.enum("version.handshake.status") or "?"
        if state in done:
            return state
        if bus.irq_pending():
            pending = bus.read32(status_at)
            bus.write32(status_at, pending)
            if pending & fatal:
                raise BootFailed(f"{what}: the firmware raised a fatal interrupt (status {pending:#x}): "
                                 f"{_errlog_line(regs)}")
            continue
        left = deadline - bus.now()
        if left <= 0:
            raise DeviceTimeout(f"{what}: no answer within {budget_ticks} ticks (handshake status {state}, "
                                f"device state {regs.enum('ctrl.state.state')})")
        bus.wait_irq(min(_SLICE_TICKS, left))


def boot(regs: Registers, image: FirmwareImage, budget_ticks: int = READY_BUDGET_TICKS) -> LiveInfo:
    """Reset the device, load `image`, start the core and wait for READY; returns the published values."""
    regs.write_fields("ctrl.soft_reset", trigger=1)
    regs.write("host_irq.mask", regs.mask("host_irq.status", "handshake", "fw_fatal", "watchdog"))
    load(regs, image)
    regs.write("ctrl.boot_addr", image.entry)
    regs.write_fields("ctrl.run", run=1)
    state = wait_handshake(regs, ("ready", "accepted", "failed"), budget_ticks,
                          f"firmware {image.version} boot")
    selftest = regs.enum("version.selftest.status") or "?"
    if state == "failed" or selftest == "failed":
        detail = regs.field("version.selftest.detail")
        raise BootFailed(f"firmware {image.version}: boot self-test failed (test {detail})")
    return LiveInfo(regs.read("version.fw_version"), regs.read("version.abi_supported"),
                    regs.read("version.fw_features"), selftest, state, regs.bus.now())


def negotiate(image: FirmwareImage, live: LiveInfo, release: DriverRelease, policy: Policy | None = None,
              force: bool = False) -> Verdict:
    """The policy's verdict from the manifest and the live registers; raises Incompatible on a refusal."""
    return evaluate(release, live.describe(image), policy, force).check()


def handshake(regs: Registers, release: DriverRelease, gen: int,
              budget_ticks: int = HANDSHAKE_BUDGET_TICKS) -> str:
    """Tell the firmware who we are and which ABI we chose; returns its answer (npu.rdl handshake_e)."""
    v = release.version
    regs.write_fields("version.driver_version", major=v.major, minor=v.minor, patch=v.patch)
    regs.write_fields("version.abi_selected", gen=gen)
    return wait_handshake(regs, ("accepted", "refused_abi", "refused_driver", "refused_features", "failed"),
                          budget_ticks, f"handshake (ABI {gen}, driver {v})")


def confirm(image: FirmwareImage, live: LiveInfo, release: DriverRelease, answer: str,
            policy: Policy | None = None, force: bool = False) -> Verdict:
    """The verdict including the firmware's handshake answer; raises HandshakeRefused on a refusal."""
    desc = live.describe(image).with_live(handshake=answer)
    verdict = evaluate(release, desc, policy, force)
    if not verdict.ok:
        if any(r.rule == "handshake" for r in verdict.blocking()):
            err = HandshakeRefused(f"firmware {image.version} refused the handshake of driver "
                                   f"{release.version}: {answer}")
            err.verdict = verdict  # type: ignore[attr-defined]
            raise err
        raise Incompatible(verdict)
    return verdict
