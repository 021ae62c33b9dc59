"""The `npudbg` command line: options, batch mode, and handing over to the shell.

`npudbg` with no arguments opens the default device with the newest firmware image
and starts the interactive shell (`debugger.shell.run(session)` when that package
is present, else a plain line loop). `-x FILE` and `-ex CMD` run in the order given;
`--batch` exits afterwards: 0 on success, 1 on the first failing command (reported
as `FILE:LINE: error: ...` or `-ex N: error: ...`), including a failed `check`.
`npudbg compat ...` is the compatibility tool's entry point. Start-up imports only
what opening the device needs.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import signal
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from debugger.session import Session

PROMPT = "(npudbg) "


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("npudbg")
    except PackageNotFoundError:
        return "0+unknown"


class _Ordered(argparse.Action):
    """-x and -ex keep their relative order, as in gdb."""

    def __call__(self, parser: Any, ns: argparse.Namespace, value: Any, option: str | None = None) -> None:
        ns.actions = [*getattr(ns, "actions", []), (self.dest, value)]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="npudbg", description="Register-level debugger for the emulated NPU. "
                                "`npudbg compat ...` runs the compatibility tool.")
    p.add_argument("--firmware", metavar="IMAGE|VERSION",
                   help="firmware image path or release version (default: the newest release)")
    p.add_argument("--driver", metavar="VERSION", help="driver release a host program acts as")
    p.add_argument("--workload", metavar="NAME|SCRIPT.py",
                   help="host program (built-in workload or Python script) run in lockstep with the device")
    p.add_argument("--config", default="default", help="device configuration (default or large)")
    p.add_argument("-x", dest="file", action=_Ordered, metavar="FILE", help="run the commands in FILE")
    p.add_argument("-ex", dest="cmd", action=_Ordered, metavar="CMD", help="run CMD (repeatable)")
    p.add_argument("--batch", action="store_true", help="exit after the -x/-ex commands (non-zero on error)")
    p.add_argument("--gdb", type=int, metavar="PORT",
                   help="then serve gdb's remote protocol on PORT (gdb: target remote :PORT)")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    return p


def _compat(argv: list[str]) -> int:
    if importlib.util.find_spec("debugger.compat") is None:
        sys.stderr.write("npudbg compat: error: the compatibility tool is not available yet\n")
        return 2
    from debugger import compat  # type: ignore[attr-defined]

    return int(compat.main(argv) or 0)


def run_actions(session: Session, actions: list[tuple[str, str]], batch: bool) -> int | None:
    """Run -x/-ex in order; returns an exit status when the run must end (error in batch, quit)."""
    from debugger.errors import describe
    from debugger.session import ScriptError

    for i, (kind, value) in enumerate(actions, 1):
        try:
            if kind == "file":
                session.source(value)
            else:
                session.execute(value)
        except ScriptError as exc:
            sys.stderr.write(f"{exc}\n")
            if batch:
                return 1
        except Exception as exc:
            where = f"-ex {i}" if kind == "cmd" else value
            sys.stderr.write(f"{where}: error: {describe(exc)}\n")
            if batch:
                return 1
        session.out.flush()
        if session.exit_requested is not None:
            return session.exit_requested
    return None


def plain_loop(session: Session) -> int:
    """A line loop for when the prompt_toolkit shell is not available (or input is not a terminal)."""
    from debugger.commands import lookup
    from debugger.errors import describe

    last: str | None = None
    while session.exit_requested is None:
        if sys.stdin.isatty():
            sys.stdout.write(PROMPT)
            sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            break
        text = line.strip()
        if not text and last is not None:
            text = last
        elif not text:
            continue
        try:
            cmd = lookup(text)[0]
            last = text if cmd.repeat else None
            session.execute(text)
        except Exception as exc:
            last = None
            sys.stderr.write(describe(exc) + "\n")
        session.out.flush()
    return session.exit_requested or 0


class _StartUp:
    """No cyclic GC while start-up imports modules and boots the device: it allocates many
    long-lived objects and few garbage cycles, and the collector's passes over them cost
    about 5% of start-up. Afterwards what start-up made is frozen (later collections skip
    it) until `done`, which hands it back so that a dropped session can be freed. The
    caller's collector state is kept."""

    def __enter__(self) -> _StartUp:
        self.frozen, self.was = False, gc.isenabled()
        gc.disable()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.was:
            if exc[0] is None:
                gc.freeze()
                self.frozen = True
            gc.enable()

    def done(self) -> None:
        if self.frozen:
            gc.unfreeze()
            self.frozen = False


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else list(argv)
    if args_in and args_in[0] == "compat":
        return _compat(args_in[1:])
    args = build_parser().parse_args(args_in)
    if args.version:
        sys.stdout.write(f"npudbg {package_version()}\n")
        return 0
    actions = getattr(args, "actions", [])
    with _StartUp() as start:
        from debugger.errors import describe
        from debugger.session import Session

        try:
            session = Session(args.firmware, config=args.config, driver=args.driver,
                              workload=args.workload, output=sys.stdout)
        except Exception as exc:
            sys.stderr.write(f"npudbg: error: {describe(exc)}\n")
            session = None
        if session is not None and not args.batch:  # the shell's completion and help need every command
            from debugger.commands import load_all

            load_all()
    if session is None:
        start.done()
        return 1
    old = signal.signal(signal.SIGINT, lambda *_: session.interrupt())
    try:
        status = run_actions(session, actions, args.batch)
        if status is None and args.gdb is not None:
            try:
                session.serve_gdb(args.gdb)
            except Exception as exc:
                sys.stderr.write(f"npudbg: error: {describe(exc)}\n")
                return 1
            return session.exit_requested or 0
        if status is not None or args.batch:
            return status or 0
        if importlib.util.find_spec("debugger.shell") is not None and sys.stdin.isatty():
            signal.signal(signal.SIGINT, old)
            from debugger import shell  # type: ignore[attr-defined]

            return int(shell.run(session) or 0)
        return plain_loop(session)
    finally:
        signal.signal(signal.SIGINT, old)
        session.close()
        session.out.flush()
        start.done()


if __name__ == "__main__":
    sys.exit(main())
