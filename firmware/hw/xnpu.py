"""The control core's Xnpu instructions: decode with the table, plan on a unit, queue on a pipe.

The core calls `XnpuHandler(core, word, pc)` once per Xnpu instruction. The word is
decoded with the instruction table and dispatched to the method named after the row's
key (`npu.mmad` -> `npu_mmad`); `check_handlers` fails when a table row has no method
or a method has no row. Work is planned at issue (a bad operand faults now, with the
instruction's pc), then queued on its pipe through the device; the core goes on.
A unit fault never raises into the host: the device reports it as a device error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from firmware.hw.cfgregs import CfgRegisters
from firmware.hw.pipes import ILLEGAL_INSTRUCTION, Flag, PlanLike
from firmware.hw.units import cube, descriptor, dma, vector
from firmware.hw.units.faults import DeviceFault
from firmware.hw.units.memory import DeviceMemory
from isa.errors import NpuError
from isa.spec import Instruction, InstructionSet, instruction_set


class XnpuHost(Protocol):
    """What the handler needs from the device."""

    memory: DeviceMemory
    cfgregs: CfgRegisters

    def xnpu_event(self, core: Any, word: int, pc: int, key: str) -> bool: ...
    def issue_op(self, pipe: str, key: str, pc: int, plan: PlanLike) -> None: ...
    def issue_sync(self, kind: str, key: str, pc: int, flag: Flag) -> None: ...
    def barrier(self, pipe: str | None, pc: int) -> None: ...
    def unit_fault(self, fault: DeviceFault, pc: int, key: str) -> None: ...


class XnpuError(NpuError):
    """The Xnpu handler and the instruction table disagree."""


def check_handlers(cls: type, iset: InstructionSet | None = None) -> None:
    """Every Xnpu row has a method named after its key, and every such method has a row."""
    rows = {row.key for row in (iset or instruction_set()).xnpu()}
    methods = {name for name in dir(cls) if name.startswith("npu_") and callable(getattr(cls, name))}
    if rows - methods:
        raise XnpuError(f"xnpu.py: no handler for table row(s) {', '.join(sorted(rows - methods))}")
    if methods - rows:
        raise XnpuError(f"xnpu.py: handler(s) {', '.join(sorted(methods - rows))} have no table row")


Operands = dict[str, int]


class XnpuHandler:
    """Decode and dispatch; one instance per device (it is the core's `xnpu` callback)."""

    def __init__(self, host: XnpuHost, iset: InstructionSet | None = None) -> None:
        check_handlers(type(self), iset)
        self.host = host
        self.iset = iset or instruction_set()
        self.pipe_names = {p.id: p.name for p in self.iset.pipes.values()}
        self.queue_pipes = tuple(n for n in self.pipe_names.values() if n not in ("s", "all"))
        self._decoded: dict[int, tuple[Instruction, Operands, Callable[..., None]] | None] = {}

    def _decode(self, word: int) -> tuple[Instruction, Operands, Callable[..., None]] | None:
        hit = self._decoded.get(word)
        if hit is None and word not in self._decoded:
            row = self.iset.decode(word)
            if row is not None and row.is_xnpu:
                hit = (row, self.iset.operand_values(row, word), getattr(self, row.key))
            self._decoded[word] = hit
        return hit

    def __call__(self, core: Any, word: int, pc: int) -> None:
        decoded = self._decode(word)
        if decoded is None:
            core.raise_trap(ILLEGAL_INSTRUCTION, word)
            return
        row, ops, method = decoded
        if not self.host.xnpu_event(core, word, pc, row.key):
            return  # the device took the instruction over (an injected trap)
        try:
            method(core, pc, ops)
        except DeviceFault as fault:
            self.host.unit_fault(fault, pc, row.key)

    # ------------------------------------------------------------ helpers

    def _pipe(self, pipe_id: int, allowed: tuple[str, ...], what: str) -> str:
        name = self.pipe_names.get(pipe_id)
        if name not in allowed:
            raise DeviceFault("sync_bad_pipe", None,
                              f"{what}: pipe {name or pipe_id} is not one of {', '.join(allowed)}")
        return name

    def _flag(self, ops: Operands, what: str) -> Flag:
        pipes = self.queue_pipes
        src = self._pipe(ops["psrc"], pipes, what)
        dst = self._pipe(ops["pdst"], pipes, what)
        if src == dst:
            raise DeviceFault("sync_bad_pipe", None, f"{what}: source and destination are both {src}")
        return src, dst, ops["event"]

    def _vector(self, core: Any, pc: int, ops: Operands, key: str) -> None:
        h = self.host
        plan = vector.plan(key, core.regs[ops["rd"]], core.regs[ops["rs1"]],
                           core.regs[ops["rs2"]] if "rs2" in ops else 0, h.cfgregs.sample(), h.memory)
        h.issue_op("v", key, pc, plan)

    # ------------------------------------------------------------ moves and compute

    def npu_dma(self, core: Any, pc: int, ops: Operands) -> None:
        h = self.host
        addr = core.regs[ops["rs1"]]
        pipe_id = core.regs[ops["rs2"]]
        pipe = self.pipe_names.get(pipe_id, f"#{pipe_id}")
        plan = dma.plan(descriptor.fetch(h.memory, addr), pipe, h.memory, h.cfgregs.sample(), desc_addr=addr)
        h.issue_op(pipe, "npu_dma", pc, plan)

    def npu_mmad(self, core: Any, pc: int, ops: Operands) -> None:
        h = self.host
        plan = cube.plan(core.regs[ops["rd"]], core.regs[ops["rs1"]], core.regs[ops["rs2"]],
                         h.cfgregs.sample(), h.memory)
        h.issue_op("m", "npu_mmad", pc, plan)

    def npu_vadd(self, core: Any, pc: int, ops: Operands) -> None:
        self._vector(core, pc, ops, "npu_vadd")

    def npu_vsub(self, core: Any, pc: int, ops: Operands) -> None:
        self._vector(core, pc, ops, "npu_vsub")

    def npu_vmul(self, core: Any, pc: int, ops: Operands) -> None:
        self._vector(core, pc, ops, "npu_vmul")

    def npu_vmax(self, core: Any, pc: int, ops: Operands) -> None:
        self._vector(core, pc, ops, "npu_vmax")

    def npu_vmin(self, core: Any, pc: int, ops: Operands) -> None:
        self._vector(core, pc, ops, "npu_vmin")

    def npu_vrelu(self, core: Any, pc: int, ops: Operands) -> None:
        self._vector(core, pc, ops, "npu_vrelu")

    def npu_vscalebias(self, core: Any, pc: int, ops: Operands) -> None:
        self._vector(core, pc, ops, "npu_vscalebias")

    def npu_vcvt_f32_f16(self, core: Any, pc: int, ops: Operands) -> None:
        self._vector(core, pc, ops, "npu_vcvt_f32_f16")

    def npu_vcvt_f16_f32(self, core: Any, pc: int, ops: Operands) -> None:
        self._vector(core, pc, ops, "npu_vcvt_f16_f32")

    def npu_vcvt_f32_i32(self, core: Any, pc: int, ops: Operands) -> None:
        self._vector(core, pc, ops, "npu_vcvt_f32_i32")

    def npu_vquant(self, core: Any, pc: int, ops: Operands) -> None:
        self._vector(core, pc, ops, "npu_vquant")

    def npu_vdequant(self, core: Any, pc: int, ops: Operands) -> None:
        self._vector(core, pc, ops, "npu_vdequant")

    # ------------------------------------------------------------ sync and config

    def npu_setflag(self, core: Any, pc: int, ops: Operands) -> None:
        flag = self._flag(ops, "npu.setflag")
        self.host.issue_sync("set", "npu_setflag", pc, flag)

    def npu_waitflag(self, core: Any, pc: int, ops: Operands) -> None:
        flag = self._flag(ops, "npu.waitflag")
        self.host.issue_sync("wait", "npu_waitflag", pc, flag)

    def npu_barrier(self, core: Any, pc: int, ops: Operands) -> None:
        name = self._pipe(ops["pipe"], (*self.queue_pipes, "s", "all"), "npu.barrier")
        if name != "s":
            self.host.barrier(None if name == "all" else name, pc)

    def npu_cfg(self, core: Any, pc: int, ops: Operands) -> None:
        cfg = self.host.cfgregs
        old = cfg.read(ops["cfgidx"])
        if ops["rs1"] != 0:
            cfg.write(ops["cfgidx"], core.regs[ops["rs1"]])
        core.regs[ops["rd"]] = old
