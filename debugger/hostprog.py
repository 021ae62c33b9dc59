"""Host programs in lockstep with the device: a built-in workload or an unmodified Python script.

The program runs on its own thread as `__main__` (scripts) and reaches the device
only through the driver; while it runs, `driver.open()` attaches to the session's
device through `LockstepTransport` (installed with `driver.transport.use`). Only one
of the session and the program runs at a time: the session hands the baton over on
`continue` and waits; the program hands it back when a stop happens inside one of its
bus accesses or waits (a firmware breakpoint while it waits for an interrupt, a
catchpoint on the register it writes, Ctrl-C) and stays paused inside that call until
the session continues. When it ends or raises, the session reports it and stays usable.
The same program gives the same interleaving on every run: time is virtual.
"""

from __future__ import annotations

import runpy
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from debugger.errors import DebuggerError
from debugger.stops import StopEvent

if TYPE_CHECKING:
    from debugger.session import Session

_ROOT = Path(__file__).resolve().parent.parent
_LIBRARY = tuple(str(_ROOT / pkg) + "/" for pkg in ("driver", "firmware", "debugger", "isa"))


def host_call_site(origin: Any = None) -> str:
    """`file:line in function` of the host program code that made the current access."""
    if isinstance(origin, str) and origin:
        return origin
    f = sys._getframe(1)
    while f is not None:
        name = f.f_code.co_filename
        if f.f_code in _WORKLOAD_CODE or (not name.startswith(_LIBRARY) and "threading" not in name
                                          and not name.startswith("<frozen")):
            return f"{_shown_path(name)}:{f.f_lineno} in {f.f_code.co_name}"
        f = f.f_back
    return "the host"


def _shown_path(name: str) -> str:
    """A file name as people typed it: relative to the working directory when inside it."""
    try:
        return str(Path(name).relative_to(Path.cwd()))
    except ValueError:
        return name


# ---------------------------------------------------------------- built-in workloads


def _nop(open_device: Callable[[], Any]) -> None:
    with open_device() as dev:
        for _ in range(3):
            dev.nop()


def _matmul(open_device: Callable[[], Any]) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((32, 32)).astype(np.float16)
    b = rng.standard_normal((32, 32)).astype(np.float16)
    with open_device() as dev:
        dev.matmul(a, b)


def _checksum(open_device: Callable[[], Any]) -> None:
    with open_device() as dev:
        dev.checksum(bytes(range(256)) * 64)


WORKLOADS: dict[str, tuple[Callable[[Callable[[], Any]], None], str]] = {
    "nop": (_nop, "open the device and run three NOP commands"),
    "matmul": (_matmul, "one 32x32 fp16 matmul"),
    "checksum": (_checksum, "CHECKSUM over 16 KiB"),
}

_WORKLOAD_CODE = frozenset(fn.__code__ for fn, _ in WORKLOADS.values())


def _raised_at(exc: BaseException) -> str:
    """` at FILE:LINE` of the innermost frame of the program's own code in the traceback."""
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if tb.tb_frame.f_code in _WORKLOAD_CODE or not name.startswith((*_LIBRARY, "<")):
            where = f" at {_shown_path(name)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


class _Killed(BaseException):
    """Unwinds a paused host program when the session kills it."""


# ---------------------------------------------------------------- the transport


class LockstepTransport:
    """The driver's transport inside a session: the session's device, and a pause point per access."""

    def __init__(self, host: HostProgram) -> None:
        self.host = host
        self.session = host.session
        self.device = self.session.target.device
        self._core_stops: list[Any] = []
        self.device.on_stop.append(self._on_stop)

    def _on_stop(self, stop: Any) -> None:
        """A debugger stop of the core inside an access's latency (the device's on_stop hook)."""
        self._core_stops.append(stop)

    def _check(self) -> None:
        """After an access: report what stopped, and pause here until the session continues."""
        runner = self.session.runner
        while not self.host.killed:
            ev = None
            while self._core_stops and ev is None:
                ev = runner.classify(self._core_stops.pop(0))
            if ev is None and runner.pending:
                ev = runner.take_pending()
            if ev is None and runner.interrupted:
                ev = runner.event("interrupt", "Program received signal SIGINT, Interrupt.")
            if ev is None:
                return
            self._core_stops.clear()
            self.host.park(ev)

    def bar0_read(self, offset: int, width: int) -> int:
        value = self.device.bar0_read(offset, width, host_call_site())
        self._check()
        return value

    def bar0_write(self, offset: int, width: int, value: int) -> None:
        self.device.bar0_write(offset, width, value, host_call_site())
        self._check()

    def bar2_read(self, offset: int, n: int) -> bytes:
        data = self.device.bar2_read(offset, n)
        self._check()
        return data

    def bar2_write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        self.device.bar2_write(offset, data)
        self._check()

    def irq_pending(self) -> bool:
        return self.device.host_irq_pending()

    def _run(self, predicate: Callable[[], bool] | None, ticks: int) -> None:
        dev = self.device
        deadline = dev.now + max(0, ticks)
        while dev.now < deadline and not (predicate is not None and predicate()):
            if predicate is not None:
                dev.run_until(predicate, deadline - dev.now)
            else:
                dev.advance(deadline - dev.now)
            self._check()  # a core stop reached `_on_stop` already

    def wait_irq(self, timeout_ticks: int) -> bool:
        dev = self.device
        self._run(dev.host_irq_pending, timeout_ticks)
        return dev.host_irq_pending()

    def advance(self, ticks: int) -> None:
        self._run(None, ticks)

    def now(self) -> int:
        return self.device.now

    def describe(self) -> dict[str, Any]:
        cfg = self.device.config
        return {"kind": "debugger", "config": cfg.name, "hbm_base": cfg.hbm.base, "hbm_size": cfg.hbm.size}

    def close(self) -> None:
        if self._on_stop in self.device.on_stop:
            self.device.on_stop.remove(self._on_stop)


# ---------------------------------------------------------------- the program


class HostProgram:
    """One host program and the baton it shares with the session."""

    def __init__(self, session: Session, name: str) -> None:
        self.session = session
        self.name = name
        if name in WORKLOADS:
            self.kind = "workload"
        elif name.endswith(".py"):
            if not Path(name).is_file():
                raise DebuggerError(f"host program {name}: no such file")
            self.kind = "script"
        else:
            raise DebuggerError(f"unknown workload '{name}' (built-in: {', '.join(WORKLOADS)}; "
                                "or a Python script SCRIPT.py)")
        self._cond = threading.Condition()
        self._turn = "session"
        self._event: StopEvent | None = None
        self._thread: threading.Thread | None = None
        self._killed = False
        self._transports: list[LockstepTransport] = []
        self.result: str | None = None  # how it ended, once it has

    @property
    def killed(self) -> bool:
        return self._killed

    @property
    def alive(self) -> bool:
        return self.result is None and not self._killed

    # ------------------------------------------------------------ session side
    def resume(self) -> StopEvent:
        """Run the program until it pauses on a stop or ends."""
        with self._cond:
            self._event = None
            self._turn = "host"
            if self._thread is None:
                self._thread = threading.Thread(target=self._main, name=f"host:{self.name}", daemon=True)
                self._thread.start()
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._turn == "session")
            ev = self._event
        assert ev is not None
        return ev

    def kill(self) -> None:
        with self._cond:
            self._killed = True
            self._turn = "host"
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    # ------------------------------------------------------------ program side
    def park(self, event: StopEvent) -> None:
        """On the program's thread: hand the baton back with a stop and wait to be continued."""
        if self._killed:
            raise _Killed
        with self._cond:
            self._event = event
            self._turn = "session"
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._turn == "host")
            if self._killed:
                raise _Killed

    def _open_device(self, **kw: Any) -> Any:
        import driver

        kw.setdefault("firmware", str(self.session.target.image_path))
        if self.session.target.driver_version:
            kw.setdefault("release", self.session.target.driver_version)
        return driver.open(**kw)

    def _transport(self) -> LockstepTransport:
        t = LockstepTransport(self)
        self._transports.append(t)
        return t

    def _main(self) -> None:
        from driver import transport as driver_transport

        with self._cond:
            self._cond.wait_for(lambda: self._turn == "host")
        old = driver_transport.set_provider(self._transport)
        target = self.session.target
        old_defaults = driver_transport.set_defaults(str(target.image_path), target.driver_version)
        exit_code: int | None = None
        try:
            if self._killed:
                raise _Killed
            if self.kind == "workload":
                WORKLOADS[self.name][0](self._open_device)
            else:
                saved = sys.argv
                sys.argv = [self.name]
                try:
                    runpy.run_path(self.name, run_name="__main__")
                finally:
                    sys.argv = saved
            self.result, exit_code = "[Host program exited normally]", 0
        except _Killed:
            self.result, exit_code = "[Host program killed]", None
        except SystemExit as exc:
            exit_code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            self.result = f"[Host program exited with code {exit_code}]"
        except BaseException as exc:
            self.result, exit_code = f"[Host program raised {type(exc).__name__}: {exc}{_raised_at(exc)}]", 1
        finally:
            driver_transport.set_provider(old)
            driver_transport.restore_defaults(old_defaults)
            for t in self._transports:
                t.close()
        with self._cond:
            self._event = self.session.runner.event("exited", self.result, exit_code=exit_code)
            self._turn = "session"
            self._cond.notify_all()
