"""A gdb remote-protocol server on the Session: `gdb-multiarch -ex 'target remote :PORT'`.

Modules, one job each: `rsp` (framing, checksums, escaping), `tdesc` (target.xml and
the memory map, derived from the register and memory-map tables), `stopreply` (stop
events as stop replies), `points` (Z/z packets as the Session's stop points),
`protocol` (the packets of a stopped target), `server` (sockets, connections and
run control). Start one with `npudbg --gdb PORT`, the shell's `gdbserver PORT`, or
`Session.serve_gdb(PORT)` / `GdbServer(session, PORT)` from Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from debugger.gdb.server import GdbServer

__all__ = ["GdbServer"]


def __getattr__(name: str) -> Any:
    if name == "GdbServer":
        from debugger.gdb.server import GdbServer

        return GdbServer
    raise AttributeError(f"module 'debugger.gdb' has no attribute {name!r}")
