"""`GdbServer`: gdb's remote serial protocol over TCP, on top of one `Session`.

The server listens on a port; one gdb at a time connects (`target remote :PORT`).
A connection reads packets and answers them through `Protocol`; `c`/`s` run the
Session (`cont`, `stepi`) on a run thread while the connection keeps reading, so a
Ctrl-C from gdb (0x03) reaches `Session.interrupt()`; the stop the Session reports
becomes the stop reply, and what the Session printed about it goes to gdb's console
when gdb cannot describe the stop itself (idle, traps, catchpoints, the shell's own
breakpoints with their command lists). A host program attached to the session runs in lockstep as
it does under the shell. When gdb detaches or the connection drops, the stop points
gdb inserted are removed and the target stays stopped where it is, ready for the
shell or the next gdb; `k` resets the device (the firmware "process" is killed) and
ends serving. Ctrl-C in npudbg's own terminal interrupts a running target, or stops
serving when the target is stopped.
"""

from __future__ import annotations

import contextlib
import selectors
import signal
import socket
import threading
from typing import TYPE_CHECKING, Any

from debugger.errors import DebuggerError, describe
from debugger.gdb import rsp
from debugger.gdb.protocol import Outcome, Protocol
from debugger.stops import StopEvent

if TYPE_CHECKING:
    from debugger.session import Session

POLL_S = 0.2  # how often a waiting server looks at its stop flag


class GdbServer:
    """Listens on `host:port` (port 0: any free port, see `.port`) and serves one gdb at a time."""

    def __init__(self, session: Session, port: int = 0, host: str = "127.0.0.1") -> None:
        self.session = session
        try:
            self._listener = socket.create_server((host, port))
        except OSError as exc:
            raise DebuggerError(f"gdb server: cannot listen on {host}:{port}: {exc.strerror}") from None
        self._listener.settimeout(POLL_S)
        self.host, self.port = self._listener.getsockname()[:2]
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self.ended: str | None = None  # why serving ended: "kill", "once", "closed", "quit"

    # ------------------------------------------------------------ serving
    def serve(self, once: bool = False) -> str:
        """Serve connections until gdb kills the target, `once` connection ended, or `close()`."""
        out = self.session.out
        out.line(f"Listening on port {self.port}")
        out.flush()
        with self._sigint():
            while not self._closing.is_set():
                try:
                    conn, peer = self._listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    break  # the listener was closed
                out.line(f"Remote debugging from host {peer[0]}, port {peer[1]}")
                out.flush()
                end = Connection(self, conn).run()
                out.line(_ENDINGS.get(end, end))
                out.flush()
                if end == "kill" or once or self.session.exit_requested is not None:
                    self.ended = "kill" if end == "kill" else "quit" if end == "quit" else "once"
                    break
        self.ended = self.ended or "closed"
        self._listener.close()
        return self.ended

    def start(self, once: bool = False) -> GdbServer:
        """Serve on a thread of its own (tests, embedding); `close()` ends it."""
        self._thread = threading.Thread(target=self.serve, args=(once,), name="gdb-server", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self._listener.close()

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    def __enter__(self) -> GdbServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _sigint(self) -> Any:
        """On the main thread: Ctrl-C interrupts a running target, else stops serving."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def on_sigint(signum: int, frame: Any) -> None:
            if self.session.running:
                self.session.interrupt()
            else:
                self._closing.set()

        old = signal.signal(signal.SIGINT, on_sigint)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, old)


_ENDINGS = {"detach": "gdb detached; the target stays stopped.", "kill": "gdb killed the target.",
            "dropped": "The gdb connection closed.", "closed": "The gdb server is closing.",
            "quit": "monitor quit: the gdb server ends."}


class Connection:
    """One gdb connection: packets in, replies out, runs on a run thread."""

    def __init__(self, server: GdbServer, sock: socket.socket) -> None:
        self.server = server
        self.s = server.session
        self.sock = sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small packets both ways: no Nagle wait
        self.proto = Protocol(self.s)
        self.reader = rsp.PacketReader()
        self.last_sent = b""
        self._wake_r, self._wake_w = socket.socketpair()
        self._run: threading.Thread | None = None
        self._stop: StopEvent | None = None
        self._report = ""  # what the Session printed for the last stop
        self._backlog: list[rsp.Event] = []  # packets gdb sent while the target ran
        self._interrupting = False  # Ctrl-C seen: repeated until the run stops (it may not have begun)

    def run(self) -> str:
        """Serve until gdb detaches or kills, the connection drops, or the server closes; why it ended."""
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ)
        sel.register(self._wake_r, selectors.EVENT_READ)
        try:
            return self._loop(sel)
        except OSError:
            return "dropped"
        finally:
            self._finish()
            sel.close()

    def _loop(self, sel: selectors.BaseSelector) -> str:
        while True:
            if self.server.closing:
                return "closed"
            if self._interrupting and self._run is not None:
                self.s.interrupt()
            if self._run is None and self._backlog:
                end = self._handle(self._backlog.pop(0))
                if end:
                    return end
                continue
            for key, _ in sel.select(POLL_S):
                if key.fileobj is self._wake_r:
                    self._wake_r.recv(64)
                    end = self._stopped()
                    if end:
                        return end
                    continue
                data = self.sock.recv(65536)
                if not data:
                    return "dropped"
                for ev in self.reader.feed(data):
                    end = self._handle(ev)
                    if end:
                        return end

    # ------------------------------------------------------------ events
    def _handle(self, ev: rsp.Event) -> str | None:
        if ev.kind == "interrupt":
            if self._run is not None:
                self._interrupting = True
                self.s.interrupt()
            return None
        if ev.kind == "nak":
            if self.last_sent and not self.proto.no_ack:
                self.sock.sendall(self.last_sent)
            return None
        if ev.kind != "packet":
            return None
        if self._run is not None:  # all-stop: nothing but Ctrl-C is expected while running
            self._backlog.append(ev)
            return None
        if not self.proto.no_ack:
            self.sock.sendall(b"+" if ev.good else b"-")
        if not ev.good:
            return None
        outcome = self.proto.handle(ev.payload)
        self._send_all(outcome)
        return self._act(outcome)

    def _act(self, outcome: Outcome) -> str | None:
        action = outcome.action
        if action == "no-ack":
            self.proto.no_ack = True
        elif action in ("continue", "step"):
            done = self.proto.catch_up(action, outcome.addr)
            if done is not None:
                self._send_all(done)
                return None
            if outcome.addr is not None:
                self.s.set_register("pc", outcome.addr)
            self._start(action)
        elif action == "detach":
            return "detach"
        elif action == "kill":
            self.proto.points.clear()
            self.s.reset(quiet=True)
            return "kill"
        if self.s.exit_requested is not None:
            return "quit"
        return None

    def _start(self, action: str) -> None:
        def body() -> None:
            with self.s.capture() as out:  # the stop report goes to gdb's console, when gdb has no words
                try:
                    self._stop = self.s.cont() if action == "continue" else self.s.stepi(1)
                except Exception as exc:  # a run that fails is a stop with its one line, never a traceback
                    self._stop = StopEvent("trap", self.s.register_value("pc"), self.s.target.device.now,
                                           describe(exc))
                    out.line(describe(exc))
                finally:
                    self._report = out.take()
                    with contextlib.suppress(OSError):
                        self._wake_w.send(b"!")

        self._stop, self._report = None, ""
        self._run = threading.Thread(target=body, name="gdb-run", daemon=True)
        self._run.start()

    def _stopped(self) -> str | None:
        """The run thread finished: send the stop reply."""
        if self._run is None:
            return None
        self._run.join()
        self._run = None
        self._interrupting = False
        ev = self._stop
        assert ev is not None
        self._send_all(self.proto.stop_outcome(ev, self._report))
        return None

    # ------------------------------------------------------------ output
    def _send_all(self, outcome: Outcome) -> None:
        for reply in outcome.replies:
            self.send(reply)

    def send(self, payload: str) -> None:
        self.last_sent = rsp.frame(payload.encode("latin-1"))
        self.sock.sendall(self.last_sent)

    def _finish(self) -> None:
        """Whatever ended the connection: stop a run, remove gdb's points, close the sockets."""
        if self._run is not None:
            self.s.interrupt()
            self._run.join()
            self._run = None
        self.proto.points.clear()
        for sock in (self.sock, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                sock.close()
