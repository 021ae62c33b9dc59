"""The device error a unit raises when firmware hands it a bad instruction or descriptor.

The cause names and codes are the register map's `device_error` enum (npu.rdl), read
through `causes()`; the device's error registers and error log report the same names.
A unit names the cause, the guest address involved (if any) and what was wrong, in one line.
"""

from __future__ import annotations

from functools import cache

from isa.errors import NpuError


@cache
def causes() -> dict[str, int]:
    """Cause name -> code, from the register map's device_error enum."""
    from firmware.hw.regmap import regmap

    return {v.name: v.value for v in regmap().enums["device_error"].values}


class DeviceFault(NpuError):
    """A unit refused an instruction: `cause` (a device_error name), `addr` (guest address), `detail`."""

    def __init__(self, cause: str, addr: int | None, detail: str) -> None:
        if cause not in causes():
            raise ValueError(f"unknown device fault cause '{cause}'")
        self.cause = cause
        self.addr = addr
        self.detail = detail
        super().__init__(str(self))

    @property
    def code(self) -> int:
        """The cause's code in the register map."""
        return causes()[self.cause]

    def __str__(self) -> str:
        where = f" at 0x{self.addr:08x}" if self.addr is not None else ""
        return f"device fault {self.cause}{where}: {self.detail}"

    def __reduce__(self) -> tuple:
        return (type(self), (self.cause, self.addr, self.detail))
