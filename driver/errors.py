"""The driver's exceptions: every error the driver raises to an application derives from `DriverError`.

`DriverError` derives from the project's `NpuError`, so front ends print any of
them as one line. Each subclass names one situation an application may want to
handle on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from isa.errors import NpuError

if TYPE_CHECKING:
    from driver.policy import Verdict


class DriverError(NpuError):
    """Base of the driver's errors."""


class Incompatible(DriverError):
    """The version policy refused the driver/firmware pair (the verdict says why)."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        reasons = "; ".join(r.message for r in verdict.blocking())
        hint = " (force=True runs it anyway)" if verdict.forceable else ""
        super().__init__(f"driver {verdict.driver} cannot use firmware {verdict.firmware}: {reasons}{hint}")


class FeatureMissing(DriverError):
    """An op needs a firmware feature the running firmware lacks; raised before anything is submitted."""

    def __init__(self, op: str, features: tuple[str, ...], firmware: str) -> None:
        self.op = op
        self.features = features
        self.firmware = firmware
        names = ", ".join(features)
        super().__init__(f"{op} needs firmware feature {names}, which firmware {firmware} lacks")


class HandshakeRefused(DriverError):
    """The firmware refused the handshake (the handshake register's status says why)."""


class ImageRejected(DriverError):
    """A firmware image failed verification (manifest, digest, architecture) before loading."""


class DeviceTimeout(DriverError):
    """The device did not answer within the budget in ticks."""


class CommandFailed(DriverError):
    """A command completed with an error status."""

    def __init__(self, opcode: str, command_id: int, status: str, detail: int = 0) -> None:
        self.opcode = opcode
        self.command_id = command_id
        self.status = status
        self.detail = detail
        super().__init__(f"{opcode} (command {command_id}) failed: {status} (detail {detail:#x})")
