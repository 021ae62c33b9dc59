"""Running the target: reset, run, continue, stepi/nexti, step/next, finish, until/advance, kill, quit."""

from __future__ import annotations

from debugger.commands import Expr, Location, command, needs_halted, needs_symbols, parser

_reset = parser("reset", "Reset the device and reload the firmware image; the core waits at its entry "
                "point.\nBreakpoints and other stop points are kept.")


@command("reset", _reset, category="running")
@needs_halted
def reset(session, args) -> None:
    session.reset()


_run = parser("run", "Reset the device, boot the firmware from its entry point, and continue.\n"
              "With a host program attached, the program starts from the beginning too.")


@command("run", _run, category="running", aliases=("r",))
@needs_halted
def run(session, args) -> None:
    session.run()


_continue = parser("continue", "Continue running until a stop point, Ctrl-C, or the target going idle.")
_continue.add_argument("count", type=Expr, nargs="?", help="ignore the breakpoint stopped at N-1 more times")


@command("continue", _continue, category="running", aliases=("c", "cont", "fg"))
@needs_halted
def cont(session, args) -> None:
    session.cont(args.count or 1)


_stepi = parser("stepi", "Execute N machine instructions (default 1), entering calls.")
_stepi.add_argument("count", type=Expr, nargs="?", help="number of instructions")


@command("stepi", _stepi, category="running", aliases=("si",), repeat=True)
@needs_halted
def stepi(session, args) -> None:
    session.stepi(args.count or 1)


_nexti = parser("nexti", "Execute N machine instructions (default 1), running over calls.")
_nexti.add_argument("count", type=Expr, nargs="?", help="number of instructions")


@command("nexti", _nexti, category="running", aliases=("ni",), repeat=True)
@needs_halted
def nexti(session, args) -> None:
    session.nexti(args.count or 1)


_step = parser("step", "Run to the start of the next source line (DWARF line table), entering calls.")
_step.add_argument("count", type=Expr, nargs="?", help="number of lines")


@command("step", _step, category="running", aliases=("s",), repeat=True)
@needs_halted
@needs_symbols
def step(session, args) -> None:
    session.step(args.count or 1)


_next = parser("next", "Run to the next source line in this function, running over calls.")
_next.add_argument("count", type=Expr, nargs="?", help="number of lines")


@command("next", _next, category="running", aliases=("n",), repeat=True)
@needs_halted
@needs_symbols
def next_(session, args) -> None:
    session.next(args.count or 1)


_finish = parser("finish", "Run until the current function returns (its caller from the frame chain).")


@command("finish", _finish, category="running", aliases=("fin",))
@needs_halted
@needs_symbols
def finish(session, args) -> None:
    session.finish()


_until = parser("until", "Run until LOCATION is reached (or another stop happens); without LOCATION,\n"
                "the same as next.")
_until.add_argument("location", type=Location, nargs="*",
                    help="*ADDR, SYMBOL, SYMBOL+OFF, FILE:LINE or LINE")


@command("until", _until, category="running", aliases=("u",))
@needs_halted
def until(session, args) -> None:
    if args.location:
        session.until(args.location)
    else:
        session.next()


_advance = parser("advance", "Run until LOCATION is reached (gdb's advance; the same as until LOCATION).")
_advance.add_argument("location", type=Location, nargs="+",
                      help="*ADDR, SYMBOL, SYMBOL+OFF, FILE:LINE or LINE")


@command("advance", _advance, category="running")
@needs_halted
def advance(session, args) -> None:
    session.until(args.location)


_kill = parser("kill", "Stop the host program (if any) and halt the core; the session stays open.")


@command("kill", _kill, category="running", aliases=("k",))
def kill(session, args) -> None:
    if session.host is not None:
        session.host.kill()
        session.host = None
    dev = session.target.device
    if dev.halted is None:
        dev.halt("host")
    session.out.line("[Inferior 1 (firmware) killed]")


_quit = parser("quit", "Leave the debugger (exit status EXPR, default 0).")
_quit.add_argument("status", type=Expr, nargs="?", help="exit status")


@command("quit", _quit, category="support", aliases=("q", "exit"))
def quit_(session, args) -> None:
    session.close()
    session.exit_requested = int(args.status or 0)
