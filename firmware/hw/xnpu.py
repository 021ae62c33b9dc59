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
    """What the handler needs from the device. `now` is the tick of the issuing instruction."""

    memory: DeviceMemory
    cfgregs: CfgRegisters

    def xnpu_event(self, core: Any, word: int, pc: int, key: str) -> int | None: ...
    def issue_op(self, pipe: str, key: str, pc: int, plan: PlanLike, now: int) -> None: ...
    def issue_sync(self, kind: str, key: str, pc: int, flag: Flag, now: int) -> None: ...
    def barrier(self, pipe: str | None, pc: int, now: int) -> None: ...
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
Decoded = tuple[str, Operands, Callable[..., None]]  # (table key, operand values, handler method)
_MISS: Any = object()


class XnpuHandler:
    """Decode and dispatch; one instance per device (it is the core's `xnpu` callback).

    Firmware issues the same few words over and over, so everything that depends on the
    word alone is worked out once per word: the row, its operand values and the method
    (`_decoded`), and a sync instruction's flag (`_flags`). Handlers read the core's
    registers straight from its register array.
    """

    def __init__(self, host: XnpuHost, iset: InstructionSet | None = None) -> None:
        check_handlers(type(self), iset)
        self.host = host
        self.iset = iset or instruction_set()
        self.pipe_names = {p.id: p.name for p in self.iset.pipes.values()}
        self.queue_pipes = tuple(n for n in self.pipe_names.values() if n not in ("s", "all"))
        self._decoded: dict[int, Decoded | None] = {}
        self._flags: dict[tuple[int, int, int], Flag] = {}
        self._flag_of: dict[int, Flag] = {}  # by id() of a decoded word's operands
        self._core: Any = None  # the core whose register array `_x` is (a core keeps its array)
        self._x: Any = None

    def _regs(self, core: Any) -> Any:
        """The core's register array, looked up once per core."""
        if core is not self._core:
            self._core, self._x = core, core.regs.raw
        return self._x

    def _decode(self, word: int) -> Decoded | None:
        hit = self._decoded.get(word, _MISS)
        if hit is _MISS:
            row: Instruction | None = self.iset.decode(word)
            hit = None
            if row is not None and row.is_xnpu:
                hit = (row.key, self.iset.operand_values(row, word), getattr(self, row.key))
            self._decoded[word] = hit
        return hit

    def __call__(self, core: Any, word: int, pc: int) -> None:
        decoded = self._decoded.get(word, _MISS)
        if decoded is _MISS:
            decoded = self._decode(word)
        if decoded is None:
            core.raise_trap(ILLEGAL_INSTRUCTION, word)
            return
        key, ops, method = decoded
        host = self.host
        now = host.xnpu_event(core, word, pc, key)
        if now is None:
            return  # the device took the instruction over (an injected trap)
        try:
            method(core, pc, ops, now)
        except DeviceFault as fault:
            host.unit_fault(fault, pc, key)

    # ------------------------------------------------------------ helpers

    def _pipe(self, pipe_id: int, allowed: tuple[str, ...], what: str) -> str:
        name = self.pipe_names.get(pipe_id)
        if name not in allowed:
            raise DeviceFault("sync_bad_pipe", None,
                              f"{what}: pipe {name or pipe_id} is not one of {', '.join(allowed)}")
        return name

    def _flag(self, ops: Operands, what: str) -> Flag:
        flag = self._flag_of.get(id(ops))  # (a word's operands are decoded once and kept)
        if flag is not None:
            return flag
        key = (ops["psrc"], ops["pdst"], ops["event"])
        flag = self._flags.get(key)
        if flag is None:  # a bad one raises every time it is issued, and is never kept
            pipes = self.queue_pipes
            src = self._pipe(ops["psrc"], pipes, what)
            dst = self._pipe(ops["pdst"], pipes, what)
            if src == dst:
                raise DeviceFault("sync_bad_pipe", None, f"{what}: source and destination are both {src}")
            flag = self._flags[key] = (src, dst, ops["event"])
        if any(hit is not None and hit[1] is ops for hit in self._decoded.values()):
            self._flag_of[id(ops)] = flag  # kept as long as `_decoded` keeps `ops`
        return flag

    def _vector(self, core: Any, pc: int, ops: Operands, key: str, now: int) -> None:
        h = self.host
        x = self._x if core is self._core else self._regs(core)
        plan = vector.plan(key, x[ops["rd"]], x[ops["rs1"]], x[ops["rs2"]] if "rs2" in ops else 0,
                           h.cfgregs.sample(), h.memory)
        h.issue_op("v", key, pc, plan, now)

    # ------------------------------------------------------------ moves and compute

    def npu_dma(self, core: Any, pc: int, ops: Operands, now: int) -> None:
        h = self.host
        x = self._x if core is self._core else self._regs(core)
        addr = x[ops["rs1"]]
        pipe_id = x[ops["rs2"]]
        pipe = self.pipe_names.get(pipe_id) or f"#{pipe_id}"
        plan = dma.plan(descriptor.fetch(h.memory, addr), pipe, h.memory, None, desc_addr=addr)
        h.issue_op(pipe, "npu_dma", pc, plan, now)

    def npu_mmad(self, core: Any, pc: int, ops: Operands, now: int) -> None:
        h = self.host
        x = self._x if core is self._core else self._regs(core)
        plan = cube.plan(x[ops["rd"]], x[ops["rs1"]], x[ops["rs2"]], h.cfgregs.sample(), h.memory)
        h.issue_op("m", "npu_mmad", pc, plan, now)

    def npu_vadd(self, core: Any, pc: int, ops: Operands, now: int) -> None:
        self._vector(core, pc, ops, "npu_vadd", now)

    def npu_vsub(self, core: Any, pc: int, ops: Operands, now: int) -> None:
        self._vector(core, pc, ops, "npu_vsub", now)

    def npu_vmul(self, core: Any, pc: int, ops: Operands, now: int) -> None:
        self._vector(core, pc, ops, "npu_vmul", now)

    def npu_vmax(self, core: Any, pc: int, ops: Operands, now: int) -> None:
        self._vector(core, pc, ops, "npu_vmax", now)

    def npu_vmin(self, core: Any, pc: int, ops: Operands, now: int) -> None:
        self._vector(core, pc, ops, "npu_vmin", now)

    def npu_vrelu(self, core: Any, pc: int, ops: Operands, now: int) -> None:
        self._vector(core, pc, ops, "npu_vrelu", now)

    def npu_vscalebias(self, core: Any, pc: int, ops: Operands, now: int) -> None:
        self._vector(core, pc, ops, "npu_vscalebias", now)

    def npu_vcvt_f32_f16(self, core: Any, pc: int, ops: Operands, now: int) -> None:
        self._vector(core, pc, ops, "npu_vcvt_f32_f16", now)

    def npu_vcvt_f16_f32(self, core: Any, pc: int, ops: Operands, now: int) -> None:
        self._vector(core, pc, ops, "npu_vcvt_f16_f32", now)

    def npu_vcvt_f32_i32(self, core: Any, pc: int, ops: Operands, now: int) -> None:
        self._vector(core, pc, ops, "npu_vcvt_f32_i32", now)

    def npu_vquant(self, core: Any, pc: int, ops: Operands, now: int) -> None:
        self._vector(core, pc, ops, "npu_vquant", now)

    def npu_vdequant(self, core: Any, pc: int, ops: Operands, now: int) -> None:
        self._vector(core, pc, ops, "npu_vdequant", now)

    # ------------------------------------------------------------ sync and config

    def npu_setflag(self, core: Any, pc: int, ops: Operands, now: int) -> None:
        flag = self._flag(ops, "npu.setflag")
        self.host.issue_sync("set", "npu_setflag", pc, flag, now)

    def npu_waitflag(self, core: Any, pc: int, ops: Operands, now: int) -> None:
        flag = self._flag(ops, "npu.waitflag")
        self.host.issue_sync("wait", "npu_waitflag", pc, flag, now)

    def npu_barrier(self, core: Any, pc: int, ops: Operands, now: int) -> None:
        name = self._pipe(ops["pipe"], (*self.queue_pipes, "s", "all"), "npu.barrier")
        if name != "s":
            self.host.barrier(None if name == "all" else name, pc, now)

    def npu_cfg(self, core: Any, pc: int, ops: Operands, now: int) -> None:
        cfg = self.host.cfgregs
        old = cfg.read(ops["cfgidx"])
        x = self._x if core is self._core else self._regs(core)
        if ops["rs1"] != 0:
            cfg.write(ops["cfgidx"], x[ops["rs1"]])
        if ops["rd"] != 0:  # x0 stays 0
            x[ops["rd"]] = old
