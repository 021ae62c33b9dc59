"""The device error a unit raises when firmware hands it a bad instruction or descriptor.

`CAUSES` lists the cause names in the order of the register map's fault-cause enum
(the device's error registers and error log report the same names); a unit names the
cause, the guest address involved (if any) and what was wrong, in one line.
"""

from __future__ import annotations

from isa.errors import NpuError

CAUSES: tuple[str, ...] = (
    "none",
    "dma_bad_descriptor",
    "dma_out_of_range",
    "dma_bad_route",
    "dma_bad_layout",
    "cube_bad_operand",
    "cube_bad_shape",
    "cube_bad_dtype",
    "vec_bad_operand",
    "vec_bad_length",
    "vec_bad_dtype",
    "sync_bad_pipe",
    "deadlock",
    "race",
    "cfg_bad_index",
    "cfg_read_only",
    "watchdog",
    "fw_trap",
    "injected",
)


class DeviceFault(NpuError):
    """A unit refused an instruction: `cause` (one of CAUSES), `addr` (guest address or None), `detail`."""

    def __init__(self, cause: str, addr: int | None, detail: str) -> None:
        if cause not in CAUSES:
            raise ValueError(f"unknown device fault cause '{cause}'")
        self.cause = cause
        self.addr = addr
        self.detail = detail
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" at 0x{self.addr:08x}" if self.addr is not None else ""
        return f"device fault {self.cause}{where}: {self.detail}"

    def __reduce__(self) -> tuple:
        return (type(self), (self.cause, self.addr, self.detail))
