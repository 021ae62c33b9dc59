"""Serving gdb: gdbserver PORT (gdb's remote serial protocol on the session)."""

from __future__ import annotations

from debugger.commands import command, needs_halted, parser

_gdbserver = parser("gdbserver", "Serve gdb's remote protocol on PORT until gdb kills the target or Ctrl-C.\n"
                    "Connect with: gdb-multiarch IMAGE -ex 'target remote :PORT'. When gdb detaches the\n"
                    "target stays stopped and the server waits for the next gdb (--once: returns).\n"
                    "`monitor CMD` in gdb runs any npudbg command.")
_gdbserver.add_argument("port", type=int, help="TCP port to listen on (0: any free port)")
_gdbserver.add_argument("--once", action="store_true", help="return after the first gdb connection ends")


@command("gdbserver", _gdbserver, category="running")
@needs_halted
def gdbserver(session, args) -> None:
    session.serve_gdb(args.port, once=args.once)
