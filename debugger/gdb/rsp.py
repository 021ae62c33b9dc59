"""gdb's remote serial protocol on the wire: framing, checksums, escaping, hex.

A packet is `$payload#cc`: `cc` is the modulo-256 sum of the payload bytes in two hex
digits. Inside a payload `}` escapes the next byte (XOR 0x20); `#`, `$`, `}` and `*`
are always escaped when the server sends binary data. The peer acknowledges a packet
with `+` (or asks again with `-`) until no-ack mode is on. A lone 0x03 byte outside a
packet is the interrupt request (Ctrl-C). `PacketReader` turns a byte stream into
these events; nothing here knows about sockets or the debugger.
"""

from __future__ import annotations

from dataclasses import dataclass

INTERRUPT = 0x03
_ESCAPED = frozenset(b"#$}*")


class ProtocolError(ValueError):
    """A packet's payload does not parse (answered with an `E01`-style reply)."""


def checksum(payload: bytes) -> int:
    return sum(payload) & 0xFF


def frame(payload: bytes) -> bytes:
    """`$payload#cc` for a payload already escaped as needed."""
    return b"$" + payload + b"#" + f"{checksum(payload):02x}".encode()


def escape(data: bytes) -> bytes:
    """Binary data for a reply (qXfer): `#`, `$`, `}`, `*` become `}` + byte ^ 0x20."""
    out = bytearray()
    for b in data:
        if b in _ESCAPED:
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


def unescape(data: bytes) -> bytes:
    """Binary data from a packet (X): undo `}` escapes."""
    parts = data.split(b"}")
    if all(parts[1:]):  # the common case: every `}` is followed by the byte it escapes
        return parts[0] + b"".join(bytes((p[0] ^ 0x20,)) + p[1:] for p in parts[1:])
    out = bytearray()
    it = iter(data)
    for b in it:
        if b == 0x7D:
            nxt = next(it, None)
            if nxt is None:
                raise ProtocolError("escape character at the end of the data")
            out.append(nxt ^ 0x20)
        else:
            out.append(b)
    return bytes(out)


def hex_int(text: bytes | str) -> int:
    """A hex number as gdb writes them (no prefix); ProtocolError when it is not one."""
    s = text.decode("ascii", "replace") if isinstance(text, bytes) else text
    try:
        if not s or s.startswith(("-", "+", "0x", "0X")):
            raise ValueError
        return int(s, 16)
    except ValueError:
        raise ProtocolError(f"not a hex number: {s!r}") from None


def hex_bytes(text: bytes | str) -> bytes:
    s = text.decode("ascii", "replace") if isinstance(text, bytes) else text
    try:
        return bytes.fromhex(s)
    except ValueError:
        raise ProtocolError("bad hex data") from None


def le_hex(value: int, size: int = 4) -> str:
    """A register value as gdb expects it: target (little-endian) byte order, in hex."""
    return (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little").hex()


@dataclass(frozen=True)
class Event:
    """What the reader found: a `packet` (payload, checksum good or not), `interrupt`, `ack`, `nak`."""

    kind: str
    payload: bytes = b""
    good: bool = True


class PacketReader:
    """Incremental parser: `feed(bytes)` returns the events completed by those bytes."""

    def __init__(self, max_size: int = 1 << 20) -> None:
        self._buf = bytearray()
        self._sum = bytearray()
        self._state = "idle"  # idle, body, escape (after `}`), sum (the two checksum digits)
        self._max = max_size

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        i, n = 0, len(data)
        while i < n:
            state = self._state
            if state in ("body", "escape"):
                i = self._body(data, i)
                if len(self._buf) > self._max:
                    self._state = "idle"
                    events.append(Event("packet", b"", False))
                continue
            b = data[i]
            i += 1
            if state == "idle":
                if b == 0x24:  # '$'
                    self._state = "body"
                    self._buf.clear()
                elif b in _BETWEEN:
                    events.append(Event(_BETWEEN[b]))
                continue  # anything else between packets is noise
            self._sum.append(b)  # state "sum"
            if len(self._sum) == 2:
                events.append(self._finish())
        return events

    def _body(self, data: bytes, i: int) -> int:
        """Take payload bytes from `data[i:]` in bulk up to the `#` that ends it (not an escaped one);
        returns where to go on."""
        n = len(data)
        while i < n:
            if self._state == "escape":  # the byte after `}` is data, whatever it is
                self._buf.append(data[i])
                self._state = "body"
                i += 1
                continue
            end = data.find(b"#", i)
            stop = end if end >= 0 else n
            esc = data.find(b"}", i, stop)
            if esc >= 0:
                self._buf += data[i:esc + 1]
                self._state = "escape"
                i = esc + 1
                continue
            self._buf += data[i:stop]
            if end < 0:
                return n
            self._state = "sum"
            self._sum.clear()
            return end + 1
        return i

    def _finish(self) -> Event:
        self._state = "idle"
        body = bytes(self._buf)
        try:
            good = int(self._sum, 16) == checksum(body)
        except ValueError:
            good = False
        return Event("packet", body, good)


_BETWEEN = {INTERRUPT: "interrupt", 0x2B: "ack", 0x2D: "nak"}  # bytes that mean something alone
