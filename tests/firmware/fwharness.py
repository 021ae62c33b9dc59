"""Firmware test harness: a device running a release image, driven the way the driver drives it.

Everything goes through the host interface: the image is written through the BAR0
firmware load window and started with ctrl.run; the handshake writes
version.driver_version and version.abi_selected; descriptors (encoded with the ABI
codec) go into submission rings in HBM over BAR2, then sq_tail and the doorbell over
BAR0; completions are read back over BAR2. Waiting runs the device in virtual time, so
every run is deterministic. Tensors are placed in and read from HBM with `put`/`get`.

Ring layout (HBM offsets): queue q's submission ring at q * 0x2000, its completion ring
at q * 0x2000 + 0x1000; buffers are allocated from DATA_OFFSET up.

Booting through the load window costs host time, so the state right after READY is kept
per image and configuration and later harnesses start from it (`Device.snapshot`), which
gives the same device tick for tick; `cache=False` boots afresh.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from firmware import abi as abi_codec
from firmware.hw.device import Device
from firmware.releases import Release, Version, release_line
from isa.elfread import Program, load_elf

RING_STRIDE = 0x2000
CQ_OFFSET = 0x1000
DATA_OFFSET = 0x10000
BOOT_BUDGET = 2_000_000  # ticks for the boot to reach READY
COMMAND_BUDGET = 2_000_000_000  # ticks one command may take before the harness gives up


_BOOTED: dict[tuple[Any, ...], dict[str, Any]] = {}
_PROGRAMS: dict[str, Program] = {}


def program_of(image: bytes) -> Program:
    """The parsed image (parsing an image with all its symbols and lines takes a while: kept)."""
    digest = hashlib.sha256(image).hexdigest()
    if digest not in _PROGRAMS:
        _PROGRAMS[digest] = load_elf(image)
    return _PROGRAMS[digest]


class HarnessTimeout(AssertionError):
    """The device did not do what the test waited for within the budget."""


@dataclass
class Completion:
    """One decoded completion entry (names for enums), plus its raw status code."""

    fields: dict[str, Any]
    code: int

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    @property
    def status(self) -> str:
        return self.fields["status"]

    @property
    def detail(self) -> int:
        """The error detail: ABI 2's detail field, ABI 1's value field."""
        return self.fields.get("detail", self.fields["value"])


class FwHarness:
    """One device, one firmware image, the host side of the rings."""

    def __init__(self, version: str | None = None, *, image: bytes | None = None, config: str = "default",
                 boot: bool = True, cache: bool = True, **overrides: Any) -> None:
        line = release_line()
        self.release: Release = line.release(version) if version else line.newest
        self.image = image if image is not None else self.release.image_path().read_bytes()
        self.program: Program = program_of(self.image)
        self.dev = Device(config, **overrides)
        self.rmap = self.dev.regs.map
        self.abi = abi_codec.abi()
        self.gen = 0
        self._next_id = 1
        self._heap = DATA_OFFSET
        self._cq_head = [0, 0]
        self._sq_tail = [0, 0]
        self.entries = 0
        if boot:
            key = (hashlib.sha256(self.image).hexdigest(), config, tuple(sorted(overrides.items())))
            snap = _BOOTED.get(key) if cache else None
            if snap is not None:
                self.dev.restore(snap)
            else:
                self.load()
                self.wait_ready()
                if cache:
                    _BOOTED[key] = self.dev.snapshot()

    # ------------------------------------------------------------ registers

    def off(self, path: str) -> int:
        return self.rmap.register(path).offset

    def rd(self, path: str) -> int:
        return self.dev.bar0_read(self.off(path), 4)

    def wr(self, path: str, value: int) -> None:
        self.dev.bar0_write(self.off(path), 4, value)

    def field(self, path: str) -> int | str:
        """A field's value as the host reads it, the enum member's name when it has one."""
        f = self.rmap.field(path)
        value = f.extract(self.rd(f.register))
        return (f.enum.name_of(value) or value) if f.enum else value

    def symbol(self, name: str) -> int:
        addr = self.program.address_of(name)
        if addr is None:
            raise KeyError(f"the image has no symbol {name}")
        return addr

    # ------------------------------------------------------------ boot

    def load(self) -> None:
        """Write the loadable segments through the load window and release the core."""
        for seg in self.program.segments:
            data = bytes(seg.data) + bytes(-len(seg.data) % 4)
            self.wr("fw_load.addr", seg.addr)
            for i in range(0, len(data), 4):
                self.wr("fw_load.data", int.from_bytes(data[i:i + 4], "little"))
        self.wr("ctrl.boot_addr", self.program.entry)
        self.wr("ctrl.run", 1)

    def reboot(self) -> str:
        """Soft reset, reload the image through the load window, wait for READY (the host's recovery).
        The host forgets its ring state; call `open` again."""
        self.wr("ctrl.soft_reset", 1)
        self.gen = 0
        self._cq_head, self._sq_tail = [0, 0], [0, 0]
        self.load()
        return self.wait_ready()

    def wait_ready(self, budget: int = BOOT_BUDGET) -> str:
        """Run until the handshake leaves `none`; returns its state (ready or failed)."""
        self.dev.run_until(lambda: self.dev.regs.field("version.handshake.status") != 0, budget)
        return str(self.field("version.handshake.status"))

    def handshake(self, gen: int | None = None, driver: str | None = None, budget: int = 200_000) -> str:
        """Select an ABI generation (default: the newest the release speaks); the firmware's answer."""
        gen = max(self.release.abi) if gen is None else gen
        if driver is not None:
            self.wr("version.driver_version", Version.parse(driver).packed)
        before = self.dev.regs.field("version.handshake.status")
        self.wr("version.abi_selected", gen)
        self.dev.run_until(lambda: self.dev.regs.field("version.handshake.status") != before, budget)
        state = str(self.field("version.handshake.status"))
        if state == "accepted":
            self.gen = gen
        return state

    def open(self, gen: int | None = None, entries: int = 16) -> FwHarness:
        """Handshake, then set up and enable the rings of every queue of the generation."""
        state = self.handshake(gen)
        if state != "accepted":
            raise AssertionError(f"firmware {self.release.version} refused ABI {gen}: {state}")
        self.setup_rings(entries)
        return self

    def setup_rings(self, entries: int = 16) -> None:
        g = self.abi.generation(self.gen)
        self.entries = entries
        hbm = self.dev.config.hbm.base
        for q in range(g.queues):
            base = hbm + q * RING_STRIDE
            self.wr(f"queue{q}.sq_base", base)
            self.wr(f"queue{q}.sq_size", entries)
            self.wr(f"queue{q}.cq_base", base + CQ_OFFSET)
            self.wr(f"queue{q}.cq_size", entries)
            self.wr(f"queue{q}.entry_size", self.rmap.encode(f"queue{q}.entry_size", sq=g.descriptor_size,
                                                             cq=g.completion_size))
            self.wr(f"queue{q}.enable", 1)
        self.wr("host_irq.mask", self.rmap.encode("host_irq.mask", cq0=1, cq1=1, fw_fatal=1, watchdog=1))

    # ------------------------------------------------------------ commands

    def descriptor(self, opcode: str, command_id: int | None = None, queue: int = 0, **args: Any) -> bytes:
        """Descriptor bytes in the negotiated generation (ABI 2 header: queue and irq flag set)."""
        cid = self.new_id() if command_id is None else command_id
        if self.gen == 2:
            args.setdefault("queue", queue)
            args.setdefault("flags", "irq")
        return self.abi.encode_descriptor(self.gen, opcode, command_id=cid, **args)

    def new_id(self) -> int:
        cid = self._next_id
        self._next_id += 1
        return cid

    def submit_raw(self, data: bytes, queue: int = 0, ring: bool = True) -> None:
        """Put descriptor bytes in the next submission slot, move sq_tail, ring the doorbell."""
        g = self.abi.generation(self.gen)
        data = bytes(data).ljust(g.descriptor_size, b"\0")
        tail = self._sq_tail[queue]
        self.dev.bar2_write(queue * RING_STRIDE + tail * g.descriptor_size, data)
        self._sq_tail[queue] = (tail + 1) % self.entries
        self.wr(f"queue{queue}.sq_tail", self._sq_tail[queue])
        if ring:
            self.doorbell(queue)

    def doorbell(self, queue: int = 0) -> None:
        self.wr(f"queue{queue}.sq_doorbell", 1)

    def submit(self, opcode: str, queue: int = 0, **args: Any) -> int:
        """Encode and submit one command; returns its command id."""
        cid = self.new_id()
        self.submit_raw(self.descriptor(opcode, cid, queue, **args), queue)
        return cid

    def pending(self, queue: int = 0) -> int:
        """Completions the firmware published that the host has not taken."""
        tail = self.dev.regs.peek(f"queue{queue}.cq_tail")
        return (tail - self._cq_head[queue]) % self.entries if self.entries else 0

    def wait(self, count: int = 1, queue: int = 0, budget: int = COMMAND_BUDGET) -> list[Completion]:
        """Run until `count` completions are published on `queue`, take and decode them."""
        self.dev.run_until(lambda: self.pending(queue) >= count or self.dev.halted is not None, budget)
        if self.pending(queue) < count:
            raise HarnessTimeout(f"{self.pending(queue)} of {count} completions on queue{queue} "
                                 f"(state {self.field('ctrl.state.state')})")
        return [self.take(queue) for _ in range(count)]

    def take(self, queue: int = 0) -> Completion:
        g = self.abi.generation(self.gen)
        head = self._cq_head[queue]
        offset = queue * RING_STRIDE + CQ_OFFSET + head * g.completion_size
        data = self.dev.bar2_read(offset, g.completion_size)
        self._cq_head[queue] = (head + 1) % self.entries
        self.wr(f"queue{queue}.cq_head", self._cq_head[queue])
        raw = self.abi.decode_completion(self.gen, data, raw=True)
        return Completion(self.abi.decode_completion(self.gen, data), raw["status"])

    def run(self, opcode: str, queue: int = 0, **args: Any) -> Completion:
        """Submit one command and wait for its completion."""
        cid = self.submit(opcode, queue, **args)
        done = self.wait(1, queue)[0]
        assert done["command_id"] == cid
        return done

    # ------------------------------------------------------------ device memory

    def alloc(self, nbytes: int, align: int = 64) -> int:
        """A fresh HBM range (bump allocation); returns its device address."""
        self._heap = -(-self._heap // align) * align
        addr = self.dev.config.hbm.base + self._heap
        self._heap += max(nbytes, 1)
        return addr

    def put(self, array: np.ndarray, align: int = 64) -> int:
        """Copy an array into a fresh HBM range over BAR2; returns its device address."""
        data = np.ascontiguousarray(array).tobytes()
        addr = self.alloc(len(data), align)
        self.write(addr, data)
        return addr

    def write(self, addr: int, data: bytes) -> None:
        self.dev.bar2_write(addr - self.dev.config.hbm.base, bytes(data))

    def read(self, addr: int, nbytes: int) -> bytes:
        return self.dev.bar2_read(addr - self.dev.config.hbm.base, nbytes)

    def get(self, addr: int, dtype: Any, shape: tuple[int, ...] | int) -> np.ndarray:
        shape = (shape,) if isinstance(shape, int) else shape
        count = int(np.prod(shape))
        data = self.read(addr, count * np.dtype(dtype).itemsize)
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()

    def tcm_words(self, addr: int, count: int) -> list[int]:
        """Words of ITCM/DTCM read through the load window (how the host sees firmware state)."""
        self.wr("fw_load.addr", addr)
        return [self.rd("fw_load.data") for _ in range(count)]

    def cmd_errors(self) -> list[dict[str, int]]:
        """The firmware's log of failed commands (cmd_errlog in DTCM), oldest first."""
        count = self.tcm_words(self.symbol("cmd_errlog_count"), 1)[0]
        words = self.tcm_words(self.symbol("cmd_errlog"), 16 * 4)
        out = []
        for k in range(max(0, count - 16), count):
            cid, status, detail, queue = words[4 * (k % 16): 4 * (k % 16) + 4]
            out.append({"command_id": cid, "status": status & 0xFFFF, "opcode": status >> 16,
                        "detail": detail, "queue": queue & 0xFF, "gen": queue >> 8})
        return out

    def errlog(self) -> list[dict[str, int | str]]:
        """The device error log as the host reads it, oldest first."""
        count = min(self.rd("errlog.count"), 8)
        newest = self.rd("errlog.write_idx")
        out = []
        for k in range(count):
            i = (newest - count + k) % 8
            cause = self.field(f"errlog.entry[{i}].cause.cause")
            out.append({"cause": cause if isinstance(cause, str) else "?",
                        "status": self.field(f"errlog.entry[{i}].cause.status"),
                        "addr": self.rd(f"errlog.entry[{i}].addr"), "pc": self.rd(f"errlog.entry[{i}].pc")})
        return out
