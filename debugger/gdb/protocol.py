"""The packets of a stopped target: one payload in, the replies out (no sockets, no threads).

Everything goes through the Session: registers by gdb number (`debugger.stops`),
memory with the debugger's side-effect-free reads, stop points in the Session's
table, `monitor` lines through `Session.execute`. A packet that resumes, detaches or
kills the target is returned as an `Outcome` action for the server to carry out.
Malformed packets get `E01`, memory faults `E14`, other refusals `E16`; unknown
packets the empty reply, as the protocol asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from debugger.errors import describe
from debugger.gdb import rsp, stopreply, tdesc
from debugger.gdb.points import WATCH_KINDS, GdbPoints
from debugger.gdb.rsp import ProtocolError, hex_bytes, hex_int, le_hex
from debugger.stops import StopEvent, gdb_registers, read_gdb_register, write_gdb_register
from isa.errors import NpuError
from isa.registers import GDB_PC

if TYPE_CHECKING:
    from debugger.session import Session

PACKET_SIZE = 0x4000
E_MALFORMED, E_MEMORY, E_REFUSED = "E01", "E14", "E16"
_CONSOLE_CHUNK = 512  # text bytes per `O` packet
_BREAK_FEATURE = {0: "swbreak", 1: "hwbreak"}  # a stop reason gdb must have asked for
_G_REGISTERS = GDB_PC + 1  # the `g` packet: x0..x31 and pc; CSRs are read one by one with `p`


@dataclass
class Outcome:
    """Replies to send, in order, and what the server must do next (None: wait for the next packet)."""

    replies: list[str] = field(default_factory=list)
    action: str | None = None  # "continue", "step", "detach", "kill"
    addr: int | None = None  # resume address (`c ADDR`, `s ADDR`)


class Protocol:
    """One connection's protocol state: negotiated features, gdb's stop points, the last stop."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.points = GdbPoints(session)
        self.features: set[str] = set()  # what gdb said it supports (swbreak, hwbreak, ...)
        self.no_ack = False
        self.last: StopEvent | None = None
        self.behind: tuple[int, int] | None = None  # (pc shown to gdb, real pc) after a watchpoint

    @property
    def core(self):
        return self.s.target.device.core

    # ------------------------------------------------------------ dispatch
    def handle(self, payload: bytes) -> Outcome:
        """The outcome of one packet; never raises for bad input."""
        try:
            text = payload.decode("latin-1")
            got = self._dispatch(text, payload)
        except ProtocolError:
            return Outcome([E_MALFORMED])
        except (NpuError, ValueError, IndexError, KeyError):
            return Outcome([E_REFUSED])
        except Exception as exc:  # a bug: one line in npudbg's output (traceback in a file), never a crash
            self.s.out.error(f"gdb server: {describe(exc)}")
            return Outcome([E_REFUSED])
        return got if isinstance(got, Outcome) else Outcome([got])

    def _dispatch(self, text: str, payload: bytes) -> Outcome | str:
        head = text[:1]
        if head == "?":
            return self.stop_reply(self.last)
        if head == "q" or head == "Q":
            return self._query(text)
        if head == "v":
            return self._v(text)
        simple = {"g": self._read_all, "G": self._write_all, "p": self._read_one, "P": self._write_one,
                  "m": self._read_mem, "M": self._write_mem, "H": lambda t: "OK", "T": self._alive,
                  "Z": self._insert, "z": self._remove}
        if head in simple:
            return simple[head](text)
        if head == "X":
            return self._write_binary(payload)
        if head in "cs" and head:
            addr = hex_int(text[1:]) if len(text) > 1 else None
            return Outcome(action="continue" if head == "c" else "step", addr=addr)
        if head in "CS" and head:
            _, _, rest = text[1:].partition(";")
            return Outcome(action="continue" if head == "C" else "step", addr=hex_int(rest) if rest else None)
        if head == "D":
            return Outcome(["OK"], action="detach")
        if head == "k":
            return Outcome(action="kill")
        return ""

    # ------------------------------------------------------------ stops
    def stop_reply(self, ev: StopEvent | None) -> str:
        why = ""
        if ev is not None:
            key = self.points.key_of(ev.number)
            if key is not None and (key[0] > 1 or _BREAK_FEATURE[key[0]] in self.features):
                why = stopreply.why_field(ev, *key)
        return stopreply.stop_reply(ev, self.pc(), why)

    def stop_outcome(self, ev: StopEvent, report: str = "") -> Outcome:
        """The console text (the Session's `report` of the stop, when gdb would not say it itself)
        and the stop reply for a stop."""
        self.last = ev
        self.behind = None
        own = self.points.key_of(ev.number) is not None
        if ev.reason == "watchpoint" and self.points.watch_kind(ev.number) and ev.site:
            self.behind = (int(ev.site.split()[-1], 16), ev.pc)
        text = stopreply.console_text(ev, own, report)
        return Outcome([*console_packets(text), self.stop_reply(ev)])

    # gdb's RISC-V target takes watchpoints as firing before the access, and steps over the
    # accessing instruction itself before it reports; the core stops after that instruction.
    # So gdb is shown the stop at the accessing instruction (`behind`: that pc and the real
    # one), and its step over it (a breakpoint at the real pc, or `s`) completes at once,
    # leaving gdb and the core at the same instruction with the new value in memory.
    def pc(self) -> int:
        return self.behind[0] if self.behind is not None else self.core.pc

    def catch_up(self, action: str, addr: int | None) -> Outcome | None:
        """The stop reply for a resume that only steps over the access already made, else None."""
        behind, self.behind = self.behind, None
        if behind is None or addr is not None:
            return None
        real = behind[1]
        bp = next((n for (ztype, a, _), n in self.points.numbers.items() if ztype < 2 and a == real), None)
        if action != "step" and bp is None:
            return None
        now = self.s.target.device.now
        ev = StopEvent("breakpoint", real, now, number=bp) if bp is not None else StopEvent("step", real, now)
        return self.stop_outcome(ev)

    # ------------------------------------------------------------ registers
    def _read(self, n: int) -> int:
        return self.pc() if n == GDB_PC else read_gdb_register(self.core, n)

    def _read_all(self, text: str) -> str:
        return "".join(le_hex(self._read(n)) for n in range(_G_REGISTERS))

    def _write_all(self, text: str) -> str:
        data = hex_bytes(text[1:])
        if len(data) % 4 or len(data) > 4 * _G_REGISTERS:
            raise ProtocolError("G: bad length")
        for n in range(1, len(data) // 4):  # x0 is hard-wired
            if n == GDB_PC and self.behind is not None and int.from_bytes(data[4 * n:4 * n + 4], "little") \
                    == self.behind[0]:
                continue  # gdb writing back the pc it was shown
            if n == GDB_PC:
                self.behind = None
            write_gdb_register(self.core, n, int.from_bytes(data[4 * n:4 * n + 4], "little"))
        return "OK"

    def _read_one(self, text: str) -> str:
        n = hex_int(text[1:])
        if n not in _NUMBERS:
            return E_REFUSED
        return le_hex(self._read(n))

    def _write_one(self, text: str) -> str:
        number, eq, value = text[1:].partition("=")
        n = hex_int(number)
        data = hex_bytes(value)
        if not eq or len(data) != 4:
            raise ProtocolError("P: bad value")
        if n not in _NUMBERS:
            return E_REFUSED
        if n == GDB_PC:
            self.behind = None
        if n != 0:
            write_gdb_register(self.core, n, int.from_bytes(data, "little"))
        return "OK"

    # ------------------------------------------------------------ memory
    def _range(self, text: str) -> tuple[int, int, str]:
        spec, _, data = text[1:].partition(":")
        a, comma, n = spec.partition(",")
        if not comma:
            raise ProtocolError("expected ADDR,LENGTH")
        addr, length = hex_int(a), hex_int(n)
        if addr >= 1 << 32 or length > PACKET_SIZE:
            raise ProtocolError("address or length out of range")
        return addr, length, data

    def _read_mem(self, text: str) -> str:
        addr, length, _ = self._range(text)
        data = self.read_memory(addr, length)
        return data.hex() if data or not length else E_MEMORY

    def read_memory(self, addr: int, length: int) -> bytes:
        """As much of the range as is readable from its start (gdb accepts a short read)."""
        from isa.memmap import region_at

        try:
            return self.s.read_memory(addr, length)
        except NpuError:
            region = region_at(addr, self.s.target.config)
            if region is None or region.end >= addr + length:
                return b""
        try:
            return self.s.read_memory(addr, region.end - addr)
        except NpuError:
            return b""

    def _write_mem(self, text: str) -> str:
        addr, length, data = self._range(text)
        raw = hex_bytes(data)
        return self._write(addr, length, raw)

    def _write_binary(self, payload: bytes) -> str:
        colon = payload.find(b":")
        if colon < 0:
            raise ProtocolError("X: expected ADDR,LENGTH:DATA")
        addr, length, _ = self._range(payload[:colon].decode("latin-1"))
        return self._write(addr, length, rsp.unescape(payload[colon + 1:]))

    def _write(self, addr: int, length: int, raw: bytes) -> str:
        if len(raw) != length:
            raise ProtocolError("data length differs from LENGTH")
        if not raw:
            return "OK"
        try:
            self.s.write_memory(addr, raw)
        except NpuError:
            return E_MEMORY
        return "OK"

    # ------------------------------------------------------------ stop points
    def _z_args(self, text: str) -> tuple[int, int, int]:
        fields = text[1:].split(";", 1)[0].split(",")
        if len(fields) != 3:
            raise ProtocolError("expected TYPE,ADDR,KIND")
        ztype, addr, kind = (hex_int(f) for f in fields)
        return ztype, addr, kind

    def _insert(self, text: str) -> str:
        ztype, addr, kind = self._z_args(text)
        if ztype not in (0, 1, *WATCH_KINDS):
            return ""
        self.points.insert(ztype, addr, kind)  # NpuError (no slot left, bad range) -> E16
        return "OK"

    def _remove(self, text: str) -> str:
        ztype, addr, kind = self._z_args(text)
        if ztype not in (0, 1, *WATCH_KINDS):
            return ""
        self.points.remove(ztype, addr, kind)
        return "OK"

    def _alive(self, text: str) -> str:
        return "OK" if ours(text[1:]) else E_REFUSED

    # ------------------------------------------------------------ queries
    def _query(self, text: str) -> Outcome | str:
        name, _, args = text.partition(":")
        if text.startswith("qRcmd,"):
            return self.monitor(hex_bytes(text[len("qRcmd,"):]).decode("utf-8", "replace"))
        if name == "qSupported":
            self.features = {f[:-1] for f in args.split(";") if f.endswith("+")}
            return (f"PacketSize={PACKET_SIZE:x};swbreak+;hwbreak+;qXfer:features:read+;"
                    "qXfer:memory-map:read+;QStartNoAckMode+;vContSupported+")
        if name == "QStartNoAckMode":
            return Outcome(["OK"], action="no-ack")
        if name == "qXfer":
            return self._xfer(args)
        answers = {"qAttached": "1", "qfThreadInfo": f"m{stopreply.THREAD_ID:x}", "qsThreadInfo": "l",
                   "qC": f"QC{stopreply.THREAD_ID:x}", "qSymbol": "OK"}
        if name in answers:
            return answers[name]
        if text.startswith("qThreadExtraInfo,"):
            return b"RV32 control core".hex()
        return ""

    def _xfer(self, args: str) -> str:
        parts = args.split(":")
        if len(parts) != 4 or parts[1] != "read":
            return ""
        obj, _, annex, span = parts
        off, comma, n = span.partition(",")
        if not comma:
            raise ProtocolError("qXfer: expected OFFSET,LENGTH")
        if obj == "features" and annex == "target.xml":
            doc = tdesc.target_xml()
        elif obj == "memory-map" and annex == "":
            doc = tdesc.memory_map_xml(self.s.target.config)
        elif obj in ("features", "memory-map"):
            return "E00"
        else:
            return ""
        return tdesc.xfer_chunk(doc, hex_int(off), hex_int(n)).decode("latin-1")

    def _v(self, text: str) -> Outcome | str:
        if text == "vCont?":
            return "vCont;c;C;s;S"
        if text.startswith("vCont;"):
            return self._vcont(text[len("vCont;"):])
        if text.startswith("vKill"):
            return Outcome(["OK"], action="kill")
        return ""  # vMustReplyEmpty, vFile, vRun, ...: not supported

    def _vcont(self, actions: str) -> Outcome:
        for item in actions.split(";"):
            act, _, thread = item.partition(":")
            if thread and not ours(thread):
                continue
            if act[:1] in ("c", "C"):
                return Outcome(action="continue")
            if act[:1] in ("s", "S"):
                return Outcome(action="step")
            if act[:1] == "t":
                return Outcome([self.stop_reply(self.last)])
        raise ProtocolError("vCont: no action for the control core")

    # ------------------------------------------------------------ monitor
    def monitor(self, line: str) -> Outcome:
        """`monitor LINE`: any npudbg command; its output (or its one-line error) as console text."""
        self.behind = None  # the command may move the core: gdb is told the real pc from now on
        with self.s.capture() as out:
            try:
                self.s.execute(line)
            except Exception as exc:
                out.line(describe(exc))
            text = out.take()
        return Outcome([*console_packets(text), "OK"])


_NUMBERS = frozenset(n for n, _ in gdb_registers())


def ours(thread: str) -> bool:
    """Whether a thread id (`1`, `p1.1`, `-1` all, `0` any) names the control core."""
    tid = thread.rsplit(".", 1)[-1].lstrip("p")
    return tid in ("-1", "0") or hex_int(tid) == stopreply.THREAD_ID


def console_packets(text: str) -> list[str]:
    """`O` packets carrying text to gdb's console, in pieces that fit a packet."""
    data = text.encode("utf-8")
    return ["O" + data[i:i + _CONSOLE_CHUNK].hex() for i in range(0, len(data), _CONSOLE_CHUNK)]
