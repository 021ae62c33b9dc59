"""gdb server fixtures: a server on a free port serving a real session, and a client connected to it."""

from __future__ import annotations

import pytest

from debugger.gdb import GdbServer
from debugger.session import Session
from tests.debugger.gdb.rspclient import RspClient


class Served:
    """A session, its server (on a thread) and a connected client."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.server = GdbServer(session).start()
        self.client = RspClient(self.server.port)

    def reconnect(self) -> RspClient:
        self.client.close()
        self.client = RspClient(self.server.port)
        return self.client

    def close(self) -> None:
        self.client.close()
        self.server.close()
        self.session.close()


@pytest.fixture
def served() -> Served:
    """The default device booted to READY (firmware asleep in main_loop), no host program."""
    s = Served(Session())
    yield s
    s.close()


@pytest.fixture
def served_nop() -> Served:
    """With the built-in `nop` host program: continuing opens the device and runs three NOPs."""
    s = Served(Session(workload="nop"))
    yield s
    s.close()
