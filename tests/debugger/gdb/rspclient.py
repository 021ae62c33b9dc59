"""A small gdb remote-protocol client for the tests, with its own framing code.

It does not reuse the server's `rsp` module, so a bug there cannot hide itself:
checksums, `}` escaping and the `+`/`-` acknowledgements are written again here from
the protocol's description.
"""

from __future__ import annotations

import socket
import time

TIMEOUT_S = 30.0


def cksum(data: bytes) -> bytes:
    total = 0
    for b in data:
        total = (total + b) % 256
    return b"%02x" % total


def escape(data: bytes) -> bytes:
    out = bytearray()
    for b in data:
        if b in b"#$}*":
            out += b"}" + bytes([b ^ 0x20])
        else:
            out.append(b)
    return bytes(out)


def unescape(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        if data[i] == ord("}"):
            out.append(data[i + 1] ^ 0x20)
            i += 2
        else:
            out.append(data[i])
            i += 1
    return bytes(out)


def le32(hex_text: str) -> int:
    """A register from its target-order hex."""
    return int.from_bytes(bytes.fromhex(hex_text), "little")


def stop_fields(reply: str) -> dict[str, str]:
    """`T05swbreak:;20:80040000;thread:1;` -> {"signal": "05", "swbreak": "", "20": "...", ...}."""
    assert reply.startswith("T"), reply
    fields = {"signal": reply[1:3]}
    for item in reply[3:].split(";"):
        if item:
            key, _, value = item.partition(":")
            fields[key] = value
    return fields


class RspClient:
    """Talks to a server like gdb does: one request, its reply; `O` console packets collected."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.ack = True
        self.console: list[str] = []
        self.acks: list[bytes] = []  # the server's acknowledgements of our packets, in order

    # ------------------------------------------------------------ bytes
    def _read(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buf += data

    def _next_byte(self) -> int:
        while not self.buf:
            self._read()
        b, self.buf = self.buf[0], self.buf[1:]
        return b

    def closed(self, wait_s: float = 5.0) -> bool:
        """Whether the server has closed the connection (reads until EOF or `wait_s`)."""
        self.sock.settimeout(wait_s)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except TimeoutError:
            return False
        except OSError:
            return True
        finally:
            self.sock.settimeout(TIMEOUT_S)

    # ------------------------------------------------------------ packets
    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, payload: bytes | str, *, binary: bool = False) -> None:
        body = payload.encode("latin-1") if isinstance(payload, str) else payload
        if binary:
            body = escape(body)
        self.sock.sendall(b"$" + body + b"#" + cksum(body))
        if self.ack:
            self.acks.append(bytes([self._next_byte()]))

    def receive(self) -> str:
        """The next packet that is not console output (console text goes to `self.console`)."""
        while True:
            payload = self._packet()
            if payload.startswith(b"O") and payload != b"OK" and len(payload) % 2 == 1:
                self.console.append(bytes.fromhex(payload[1:].decode()).decode())
                continue
            return payload.decode("latin-1")

    def _packet(self) -> bytes:
        while self._next_byte() != ord("$"):
            pass
        while (end := self.buf.find(b"#")) < 0 or len(self.buf) < end + 3:
            self._read()
        body, got, self.buf = self.buf[:end], self.buf[end + 1:end + 3], self.buf[end + 3:]
        assert got == cksum(body), f"bad checksum from the server: {body!r} {got!r}"
        if self.ack:
            self.sock.sendall(b"+")
        return body

    def request(self, payload: bytes | str, *, binary: bool = False) -> str:
        self.send(payload, binary=binary)
        return self.receive()

    def interrupt(self) -> None:
        self.sock.sendall(b"\x03")

    def no_ack(self) -> str:
        reply = self.request("QStartNoAckMode")
        self.ack = False
        return reply

    def monitor(self, line: str) -> tuple[str, str]:
        """(console text, final reply) of `monitor LINE`."""
        self.console.clear()
        reply = self.request("qRcmd," + line.encode().hex())
        return "".join(self.console), reply

    def xfer(self, obj: str, annex: str, chunk: int = 0x200) -> str:
        """A whole qXfer document, read in `chunk`-byte pieces as gdb does."""
        data, offset = b"", 0
        while True:
            reply = self.request(f"qXfer:{obj}:read:{annex}:{offset:x},{chunk:x}")
            assert reply[:1] in ("m", "l"), reply
            piece = unescape(reply[1:].encode("latin-1"))
            data += piece
            offset += len(piece)
            if reply[0] == "l":
                return data.decode()

    def close(self) -> None:
        self.sock.close()


def wait_for(predicate, timeout_s: float = TIMEOUT_S) -> None:
    """Poll until `predicate()` holds (a server thread doing its part), failing after `timeout_s`."""
    end = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)
