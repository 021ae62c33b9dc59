"""The npu.cfg registers: unit configuration the core sets before issuing work.

Names, indices, reset values and which are read-only come from the instruction
table's [cfg] section. Units get a copy of the values sampled at issue (`sample()`),
so a later `npu.cfg` never changes work already queued. The device (not firmware)
writes the read-only `status` and `fault_pc` through `set`.
"""

from __future__ import annotations

from firmware.hw.units.faults import DeviceFault
from isa.spec import InstructionSet, instruction_set

MASK32 = 0xFFFFFFFF


class CfgRegisters:
    """Current values of the [cfg] registers, by index and by name."""

    def __init__(self, iset: InstructionSet | None = None) -> None:
        self.spec = (iset or instruction_set()).cfg
        self.index_of = {r.name: r.index for r in self.spec.values()}
        self.reset()

    def reset(self) -> None:
        self.values = {i: r.reset & MASK32 for i, r in self.spec.items()}
        self._sample: dict[str, int] | None = None

    def _known(self, index: int) -> None:
        if index not in self.spec:
            raise DeviceFault("cfg_bad_index", None, f"npu.cfg: no cfg register with index {index}")

    def read(self, index: int) -> int:
        self._known(index)
        return self.values[index]

    def write(self, index: int, value: int) -> None:
        """A firmware write (npu.cfg with rs1 != x0)."""
        self._known(index)
        reg = self.spec[index]
        if reg.readonly:
            raise DeviceFault("cfg_read_only", None, f"npu.cfg: {reg.name} (index {index}) is read-only")
        self.values[index] = value & MASK32
        self._sample = None

    def get(self, name: str) -> int:
        return self.values[self.index_of[name]]

    def set(self, name: str, value: int) -> None:
        """A device-side write; read-only registers included."""
        self.values[self.index_of[name]] = value & MASK32
        self._sample = None

    def sample(self) -> dict[str, int]:
        """The values by name, as a unit sees them at issue.

        Made again only after a change (firmware sets the registers once per tile and issues
        several instructions in between). Units must not change it: issues share it.
        """
        sample = self._sample
        if sample is None:
            sample = self._sample = {r.name: self.values[i] for i, r in self.spec.items()}
        return sample

    def state(self) -> dict[int, int]:
        return dict(self.values)

    def load_state(self, state: dict[int, int]) -> None:
        self.values = dict(state)
        self._sample = None
