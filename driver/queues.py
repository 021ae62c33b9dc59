"""Submission and completion rings in the negotiated ABI generation, doorbells, and waiting.

Each queue pair is two rings in HBM (allocated from the driver's own context) that
the `queueN` registers describe. `submit` encodes a descriptor with
`firmware.abi` (the one table), writes it into the next submission slot over BAR2,
moves `sq_tail` and rings the doorbell; the returned `Command` is a future whose
`wait()` runs the device until its completion arrives. Completions are matched to
commands by id, whatever order they come in. `cq_head` is written only when the
firmware could otherwise find the completion ring full (as NVMe drivers batch their
completion doorbells), which saves one register write per command.

Waiting: in IRQ mode the host sleeps on the interrupt line in slices of
`irq_slice_ticks`; after a slice with no interrupt it polls `cq_tail` once, and
completions found that way mean an interrupt was lost: the engine notes it and
falls back to polling (with a growing interval) for the rest of the session.
`fw_fatal` and `watchdog` interrupts, a completion for an id nobody submitted
(a corrupted entry) and a command overrunning its budget are faults: the engine
hands them to its fault handler (`driver.recovery`), which resets the device and
calls `resubmit` — an accepted command is completed, resubmitted, or failed
loudly, never dropped.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from driver.abi import completion_dtype
from driver.errors import CommandFailed, DeviceTimeout, DriverError
from driver.memory import Buffer, Context
from driver.registers import Registers, offset
from firmware.abi import abi

IRQ_SLICE_TICKS = 1_000_000
POLL_MIN_TICKS = 1_000
POLL_MAX_TICKS = 1_000_000
DEFAULT_TIMEOUT_TICKS = 2_000_000_000
RING_ENTRIES = 64
MAX_ATTEMPTS = 3


class CommandLost(DriverError):
    """A command could not be completed even after recovery (it is reported, not dropped)."""


@dataclass(frozen=True)
class Fault:
    """Why the engine asks for recovery."""

    kind: str  # "timeout", "fw_fatal", "watchdog", "corrupt_completion", "device_error"
    detail: str
    tick: int
    command: int | None = None  # device_error: the command to run again (the firmware itself is fine)


@dataclass
class Completion:
    command_id: int
    status: str
    opcode: str
    cycles: int
    value: int
    detail: int
    queue: int

    @property
    def ok(self) -> bool:
        return self.status == "OK"


@dataclass
class Command:
    """A submitted command: a future for its completion."""

    id: int
    opcode: str
    fields: dict[str, Any]
    queue: int
    engine: Engine = field(repr=False)
    completion: Completion | None = None
    attempts: int = 1
    submitted_tick: int = 0
    error: DriverError | None = None
    retry_device_error: bool = True

    @property
    def done(self) -> bool:
        return self.completion is not None or self.error is not None

    def wait(self, timeout_ticks: int | None = None, check: bool = True) -> Completion:
        """Run the device until this command completes; raises CommandFailed on an error status."""
        self.engine.wait_for(self, timeout_ticks)
        if self.error is not None:
            raise self.error
        assert self.completion is not None
        if check and not self.completion.ok:
            c = self.completion
            raise CommandFailed(self.opcode, self.id, c.status, c.detail)
        return self.completion


class Ring:
    """One queue pair: its rings in device memory and the host's shadow indices."""

    def __init__(self, index: int, gen: int, ctx: Context, entries: int) -> None:
        g = abi().generation(gen)
        self.index = index
        self.name = f"queue{index}"
        self.entries = entries
        self.sq_bytes, self.cq_bytes = g.descriptor_size, g.completion_size
        self.sq: Buffer = ctx.alloc(entries * self.sq_bytes)
        self.cq: Buffer = ctx.alloc(entries * self.cq_bytes)
        self.tail = self.head = 0  # sq tail (host), cq head (host)
        self.head_told = 0  # cq head as the device last heard it
        self.inflight = 0  # commands on this ring whose completion has not been taken
        self.sq_head = 0  # last sq_head read from the device
        self.off_tail = offset(f"{self.name}.sq_tail")
        self.off_bell = offset(f"{self.name}.sq_doorbell")
        self.off_cq_tail = offset(f"{self.name}.cq_tail")
        self.off_cq_head = offset(f"{self.name}.cq_head")
        self.off_sq_head = offset(f"{self.name}.sq_head")

    def program(self, regs: Registers) -> None:
        """Point the queue registers at the rings (after a reset: indices from zero)."""
        self.tail = self.head = self.sq_head = self.head_told = self.inflight = 0
        n = self.name
        regs.write(f"{n}.enable", 0)
        regs.write(f"{n}.sq_base", self.sq.addr)
        regs.write(f"{n}.sq_size", self.entries)
        regs.write(f"{n}.cq_base", self.cq.addr)
        regs.write(f"{n}.cq_size", self.entries)
        regs.write_fields(f"{n}.entry_size", sq=self.sq_bytes, cq=self.cq_bytes)
        regs.write(f"{n}.sq_tail", 0)
        regs.write(f"{n}.cq_head", 0)
        regs.write(f"{n}.enable", 1)


class Engine:
    """Commands in flight on the queues of one device, and the wait loop."""

    def __init__(self, regs: Registers, ctx: Context, gen: int, *, irq: bool = True,
                 entries: int = RING_ENTRIES, timeout_ticks: int = DEFAULT_TIMEOUT_TICKS) -> None:
        self.regs = regs
        self.bus = regs.bus
        self.gen = gen
        self.queues = abi().generation(gen).queues
        self.rings = [Ring(i, gen, ctx, entries) for i in range(self.queues)]
        self.irq_mode = irq
        self.timeout_ticks = timeout_ticks
        self.pending: dict[int, Command] = {}
        self.ids = itertools.count(1)
        self.events: list[str] = []  # what happened that a person should know (lost IRQs, faults)
        self.fault_handler: Callable[[Fault], None] | None = None
        self.lost_irqs = 0
        self._status = offset("host_irq.status")
        self._bits = {f.name: f.mask for f in regs.map.register("host_irq.status").fields}
        self._cq_bits = self._bits["cq0"] | self._bits["cq1"]
        self._fatal_bits = self._bits["fw_fatal"] | self._bits["watchdog"]
        self._cdtype = completion_dtype(gen)
        self._has_detail = "detail" in (self._cdtype.names or ())
        self._opnames = {o.code: o.name for o in abi().opcodes}
        self._statuses = {s.code: s.name for s in abi().statuses}
        self.faults_seen: list[Fault] = []

    # ------------------------------------------------------------ set-up

    def program(self) -> None:
        """Program every queue's registers and unmask the interrupts the engine serves."""
        for ring in self.rings:
            ring.program(self.regs)
        errors = self._fatal_bits | self._bits["dma_error"]
        self.regs.write("host_irq.status", 0xFFFFFFFF)
        self.regs.write("host_irq.mask", errors | (self._cq_bits if self.irq_mode else 0))

    def use_polling(self, why: str) -> None:
        if self.irq_mode:
            self.irq_mode = False
            self.events.append(f"polling from tick {self.bus.now()}: {why}")

    # ------------------------------------------------------------ submit

    def submit(self, opcode: str, queue: int = 0, **fields: Any) -> Command:
        """Encode and queue one command; returns its future. Arguments were checked by the caller."""
        cmd = Command(next(self.ids), opcode, fields, queue, self)
        self._push(cmd)
        return cmd

    def _encode(self, cmd: Command) -> bytes:
        extra: dict[str, Any] = {}
        if self.gen >= 2:
            extra = {"queue": cmd.queue, "flags": "irq" if self.irq_mode else 0}
        return abi().encode_descriptor(self.gen, cmd.opcode, command_id=cmd.id, **extra, **cmd.fields)

    def _push(self, cmd: Command) -> None:
        ring = self.rings[cmd.queue]
        nxt = (ring.tail + 1) % ring.entries
        while nxt == ring.sq_head:  # full as far as we know: ask the device, then make room
            ring.sq_head = self.bus.read32(ring.off_sq_head) & 0xFFFF
            if nxt == ring.sq_head:
                self._progress(self.bus.now() + self.timeout_ticks, None)
        self.bus.bar2_write(ring.sq.offset + ring.tail * ring.sq_bytes, self._encode(cmd))
        ring.tail = nxt
        cmd.submitted_tick = self.bus.now()
        self.pending[cmd.id] = cmd
        ring.inflight += 1
        self._tell_head(ring)
        self.bus.write32(ring.off_tail, nxt)
        self.bus.write32(ring.off_bell, 1)

    def retry(self, cid: int) -> None:
        """Run one pending command again (the device logged an error while it ran)."""
        cmd = self.pending.pop(cid)
        cmd.attempts += 1
        self._push(cmd)

    def _tell_head(self, ring: Ring) -> None:
        """Write cq_head only when the firmware could otherwise find the completion ring full.

        The firmware waits for room once the entries it sees in use (taken but not yet
        reported, plus new ones) would fill the ring; completions still to come are at
        most the commands in flight. Until that bound nears, the host saves the write.
        """
        taken = (ring.head - ring.head_told) % ring.entries
        if taken and taken + ring.inflight >= ring.entries - 1:
            self.bus.write32(ring.off_cq_head, ring.head)
            ring.head_told = ring.head

    def resubmit(self) -> list[int]:
        """After a reset: submit every command still pending again, oldest first; returns their ids."""
        again = sorted(self.pending.values(), key=lambda c: c.id)
        self.pending.clear()
        ids = []
        for cmd in again:
            cmd.attempts += 1
            if cmd.attempts > MAX_ATTEMPTS:
                cmd.error = CommandLost(f"{cmd.opcode} (command {cmd.id}) failed to complete after "
                                        f"{MAX_ATTEMPTS} attempts with recovery in between: "
                                        f"{'; '.join(f.detail for f in self.faults_seen[-MAX_ATTEMPTS:])}")
                continue
            self._push(cmd)
            ids.append(cmd.id)
        return ids

    # ------------------------------------------------------------ completions

    def reap(self, rings: int = -1) -> int:
        """Take every published completion off the rings (a bit mask, default all); returns how many."""
        got = 0
        faults: list[Fault] = []
        for ring in self.rings:
            if not rings >> ring.index & 1:
                continue
            tail = self.bus.read32(ring.off_cq_tail) & 0xFFFF
            if tail == ring.head or tail >= ring.entries:
                continue
            n = (tail - ring.head) % ring.entries
            first = min(n, ring.entries - ring.head)
            raw = ring.cq.read_bytes(first * ring.cq_bytes, ring.head * ring.cq_bytes)
            if n > first:
                raw += ring.cq.read_bytes((n - first) * ring.cq_bytes, 0)
            ring.head = tail
            for entry in np.frombuffer(raw, self._cdtype):
                fault = self._complete(entry, ring.index)
                if fault is not None:
                    faults.append(fault)
            got += n
        for ring in self.rings:
            self._tell_head(ring)
        if faults:  # after every entry is taken: recovery rewrites the rings
            self._fault(faults[0])
        return got

    def _complete(self, entry: np.void, queue: int) -> Fault | None:
        cid = int(entry["command_id"])
        cmd = self.pending.pop(cid, None)
        if cmd is not None:
            self.rings[cmd.queue].inflight -= 1
        status = self._statuses.get(int(entry["status"]), f"status {int(entry['status'])}")
        if cmd is None:
            return Fault("corrupt_completion", f"completion on queue{queue} for unknown command id "
                         f"{cid:#x} (status {status})", self.bus.now())
        value = int(entry["value"])
        detail = int(entry["detail"]) if self._has_detail else (0 if status == "OK" else value)
        done = Completion(cid, status, self._opnames.get(int(entry["opcode"]), str(int(entry["opcode"]))),
                          int(entry["cycles"]), value, detail, queue)
        if status == "DEVICE_ERROR" and cmd.retry_device_error and cmd.attempts < MAX_ATTEMPTS:
            self.pending[cid] = cmd  # still ours: recovery runs it again
            return Fault("device_error", f"command {cid} ({cmd.opcode}) completed with DEVICE_ERROR "
                         f"(detail {detail:#x})", self.bus.now(), cid)
        cmd.completion = done
        return None

    # ------------------------------------------------------------ waiting

    def wait_for(self, cmd: Command, timeout_ticks: int | None = None) -> None:
        budget = self.timeout_ticks if timeout_ticks is None else timeout_ticks
        self._progress(self.bus.now() + budget, cmd)

    def drain(self, timeout_ticks: int | None = None) -> None:
        """Wait until every pending command has completed."""
        while self.pending:
            self.wait_for(min(self.pending.values(), key=lambda c: c.id), timeout_ticks)

    def _progress(self, deadline: int, cmd: Command | None) -> None:
        """Run until `cmd` is done (or, with None, until anything completes), or the deadline."""
        poll = POLL_MIN_TICKS
        start_count = len(self.pending)
        while True:
            if cmd is not None and cmd.done:
                return
            if cmd is None and len(self.pending) < start_count:
                return
            now = self.bus.now()
            if now >= deadline:
                waited = f"command {cmd.id} ({cmd.opcode})" if cmd is not None else "a free ring slot"
                since = cmd.submitted_tick if cmd else 0
                fault = Fault("timeout", f"{waited} not complete after {now - since} ticks", now)
                if cmd is None or self.fault_handler is None:
                    raise DeviceTimeout(f"device timeout: {fault.detail}")
                self._fault(fault)
                deadline = self.bus.now() + self.timeout_ticks
                continue
            if self.irq_mode:
                up = self.bus.wait_irq(min(IRQ_SLICE_TICKS, deadline - now))
                if up:
                    self._service_irq()
                elif self.reap() and not self.bus.irq_pending():
                    self.lost_irqs += 1
                    self.use_polling("completions arrived without an interrupt (lost IRQ)")
                continue
            self.bus.advance(min(poll, deadline - now))
            poll = min(poll * 2, POLL_MAX_TICKS)
            if self.bus.irq_pending():
                self._service_irq()
            else:
                self.reap()

    def _service_irq(self) -> None:
        status = self.bus.read32(self._status)
        if status:
            self.bus.write32(self._status, status)  # W1C before reaping: no completion slips between
        if status & self._fatal_bits:
            self.reap()  # what completed before the fault still counts
            kind = "watchdog" if status & self._bits["watchdog"] else "fw_fatal"
            self._fault(Fault(kind, f"host interrupt {kind} (status {status:#x})", self.bus.now()))
            return
        if status & self._bits["dma_error"]:
            self.events.append(f"DMA error interrupt at tick {self.bus.now()}")
        # Only the rings whose completion cause fired; a latched cause never hides an entry,
        # since the firmware raises it after moving cq_tail and the host clears it before reading.
        self.reap((status & self._bits["cq0"] and 1) | (status & self._bits["cq1"] and 2) or -1)

    def _fault(self, fault: Fault) -> None:
        self.faults_seen.append(fault)
        if self.fault_handler is None:
            raise DriverError(f"device fault without a recovery handler: {fault.kind}: {fault.detail}")
        self.fault_handler(fault)
