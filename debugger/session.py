"""`Session`: the one API of the debugger; the shell, batch scripts, tests and a gdb server use it.

A thin root object: it owns the target (device + firmware image + optional host
program), the output, the stop-point table, the stop events and the evaluator, and
delegates to them. Everything a command does is a method here first:

    import debugger
    s = debugger.Session()                 # default device, newest firmware, booted to READY
    s.execute("break handle_nop")          # any command line, as typed in the shell
    ev = s.cont()                          # -> StopEvent (also posted to s.stops)
    s.eval("$sp + 16"), s.read_memory(addr, n), s.register_value("a0")

Commands are run by `execute` (one line or a block) and `source`; errors are
`NpuError`s with one clear line, and the session stays usable after any of them.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from debugger.breakpoints import Points
from debugger.errors import DebuggerError, describe
from debugger.output import Output
from debugger.runner import Runner
from debugger.stops import StopEvent, StopEvents
from debugger.target import Target
from isa.errors import NpuError

if TYPE_CHECKING:
    from debugger.code import CodeInfo
    from debugger.expr import Evaluator
    from debugger.hostprog import HostProgram

LineReader = Callable[[str], "str | None"]  # prompt -> next line, None at end of input


class ScriptError(DebuggerError):
    """A command of a script failed; the message starts with `file:line: error:`."""


class Session:
    """The debugger: one target and everything about debugging it."""

    def __init__(self, firmware: str | Path | None = None, *, config: str = "default",
                 driver: str | None = None, workload: str | None = None, boot: bool = True,
                 output: Output | TextIO | None = None, color: bool | None = None) -> None:
        self.out = output if isinstance(output, Output) else Output(output, color)
        self.target = Target(firmware, config, driver=driver, boot=boot)
        self.stops = StopEvents()
        self.runner = Runner(self)
        self.points = Points(self)
        self.history: list[int] = []
        self.displays: list[tuple[int, str, str]] = []  # (number, format, expression)
        self._display_next = 1
        self.convenience: dict[str, int] = {}
        self.line_reader: LineReader | None = None  # the shell's prompt for `commands`, `python` blocks
        self._queued: list[tuple[str, str | None, int]] = []  # lines still to run: (text, file, line)
        self.before: dict[str, Any] = {}  # CPU and device registers at the last stop (for "changed")
        self.last_listed: tuple[str, int] | None = None  # `list`: file and last line shown
        self.list_first = 1  # first line of the last listing (for `list -`)
        self.list_more = False  # a bare `list` continues the last listing
        self.last_x: tuple[int, str, int] | None = None  # next address, format letter, unit size
        self.host: HostProgram | None = None
        self.exit_requested: int | None = None
        self._remember()
        if workload:
            self.load_workload(workload)

    @cached_property
    def code(self) -> CodeInfo:
        """Symbols, frames and source lines (made on first use: a run that never asks does not import it)."""
        from debugger.code import CodeInfo

        return CodeInfo(self)

    @cached_property
    def evaluator(self) -> Evaluator:
        """The expression evaluator (made on first use)."""
        from debugger.expr import Evaluator

        return Evaluator(self)

    # ------------------------------------------------------------ commands
    def execute(self, text: str) -> None:
        """Run one command line, or several (a block; `commands`/`python` read their bodies from it)."""
        self._run_queue([(line, None, 0) for line in text.splitlines() or [""]])

    def source(self, path: str | Path) -> None:
        """Run a command file; a failing line raises ScriptError naming `file:line`."""
        p = Path(path)
        try:
            lines = p.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise DebuggerError(f"{path}: {exc.strerror}") from None
        self._run_queue([(line, str(path), i) for i, line in enumerate(lines, 1)])

    def _run_queue(self, lines: list[tuple[str, str | None, int]]) -> None:
        from debugger.commands import dispatch

        saved, self._queued = self._queued, list(lines)
        try:
            while self._queued and self.exit_requested is None:
                text, file, number = self._queued.pop(0)
                try:
                    dispatch(self, text)
                except ScriptError:
                    raise
                except Exception as exc:
                    if file is None:
                        raise
                    raise ScriptError(f"{file}:{number}: error: {describe(exc)}") from exc
        finally:
            self._queued = saved

    def read_block(self, prompt: str = ">", end: str = "end") -> list[str]:
        """The lines after the current command up to `end` (from the script, or the shell's reader)."""
        body: list[str] = []
        while True:
            if self._queued:
                line = self._queued.pop(0)[0]
            elif self.line_reader is not None:
                got = self.line_reader(prompt)
                if got is None:
                    raise DebuggerError(f"input ended before '{end}'")
                line = got
            else:
                raise DebuggerError(f"missing '{end}' after the block")
            if line.strip() == end:
                return body
            body.append(line)

    def run_command(self, line: str) -> bool:
        """For front ends: run one line, printing a user error as one line; True when it succeeded."""
        try:
            self.execute(line)
            return True
        except Exception as exc:
            self.out.error(describe(exc))
            return False

    # ------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        return self.runner.active

    @property
    def device(self):
        return self.target.device

    def interrupt(self) -> None:
        """Stop a run at the next instruction boundary (Ctrl-C; thread and signal safe)."""
        self.runner.interrupt()

    def _remember(self) -> None:
        core = self.target.device.core
        self.before = {"cpu": list(core.regs), "pc": core.pc, "io": self.target.device.regs.values()}

    # ------------------------------------------------------------ running
    def _go(self, body: Callable[[], StopEvent | None], report: bool = True) -> StopEvent:
        if self.runner.active:
            raise DebuggerError("the target is already running")
        self._remember()
        self.runner.begin()
        try:
            ev = body()
        finally:
            self.runner.end()
            self.runner.clear_internal()
        if ev is None:
            ev = self.runner.event("step", "")
        self.stops.post(ev)
        if report:
            self.report_stop(ev)
        return ev

    def _resume(self) -> StopEvent | None:
        """Continue until a stop: the host program runs if there is one, else the device alone."""
        ev = self.runner.step_over_breakpoint()
        if ev is not None:
            return ev
        if self.host is not None and self.host.alive:
            return self.host.resume()
        return self.runner.run_device()

    def cont(self, count: int = 1) -> StopEvent:
        """continue [N]: N > 1 ignores the breakpoint stopped at N-1 more times."""
        last = self.stops.last
        at_bp = last is not None and last.reason == "breakpoint" and last.number in self.points.items
        if count > 1 and at_bp:
            self.points.items[last.number].ignore = count - 1
            self.out.line(f"Will ignore next {count - 1} crossings of breakpoint {last.number}.  Continuing.")
        return self._go(self._resume)

    def run(self) -> StopEvent:
        """Reset the device, boot the firmware from its entry point and continue; a host program
        attached starts again from its beginning."""
        name = self.host.name if self.host is not None else None
        self.reset(quiet=True)
        if name is not None:
            self.load_workload(name)
        return self._go(self._resume)

    def reset(self, quiet: bool = False) -> None:
        """Device reset, image reloaded, core released at the entry point but held by the debugger
        (the next stepi runs its first instruction); breakpoints are kept."""
        if self.host is not None:
            self.host.kill()
            self.host = None
        self.target.load()
        self.target.device.boot(self.target.entry)
        self.points.reinstall()
        self._remember()
        if not quiet:
            self.out.line(f"Device reset; {self.target.name} loaded, core at 0x{self.target.entry:08x}.")

    def stepi(self, count: int = 1) -> StopEvent:
        from debugger import stepping

        return self._go(lambda: stepping.stepi(self, count))

    def nexti(self, count: int = 1) -> StopEvent:
        from debugger import stepping

        return self._go(lambda: stepping.nexti(self, count))

    def step(self, count: int = 1) -> StopEvent:
        from debugger import stepping

        return self._go(lambda: stepping.step_line(self, count, over=False))

    def next(self, count: int = 1) -> StopEvent:
        from debugger import stepping

        return self._go(lambda: stepping.step_line(self, count, over=True))

    def finish(self) -> StopEvent:
        from debugger import stepping

        return self._go(lambda: stepping.finish(self))

    def until(self, location: str) -> StopEvent:
        from debugger import stepping

        return self._go(lambda: stepping.until(self, location))

    # ------------------------------------------------------------ stops
    def report_stop(self, ev: StopEvent) -> None:
        out = self.out
        if ev.reason == "exited" or ev.reason == "idle":
            out.line(ev.text)
            return
        commands = self.points.items[ev.number].commands if ev.number in self.points.items else []
        if not (commands and commands[0].strip() == "silent"):  # gdb: `silent` hides the stop itself
            if ev.text:
                out.line(ev.text)
            self._print_location(ev)
        if ev.reason == "finish" and ev.new is not None:
            self._print_returned(ev.new)
        self.show_displays()
        self._run_point_commands(commands)

    def _print_location(self, ev: StopEvent) -> None:
        pc = ev.pc
        prog = self.target.program
        row = prog.line_for(pc)
        if ev.reason in ("finish", "until", "step", "interrupt", "halted", "trap", "watchpoint",
                         "catchpoint"):
            here, was = self.code.function_at(pc), self.code.function_at(self.before["pc"])
            if ev.reason != "step" or (here and here[0]) != (was and was[0]):
                prefix = f"0x{pc:08x} in " if row is None or row.addr != pc else ""
                self.out.line(prefix + self.code.frame_line(pc))
        if row is None:
            self.out.line(f"0x{pc:08x}\t{self.code.symbolic(pc)}")
            return
        text = self.code.source_line(row.file, row.line)
        self.last_listed = (row.file, row.line)
        self.list_more = False
        shown = f"{row.line}\t{text}" if text is not None else f"{row.line}\tin {row.file}"
        prev = prog.line_for(pc - 4)
        mid_line = row.addr != pc or (prev is not None and (prev.file, prev.line) == (row.file, row.line))
        self.out.line(f"0x{pc:08x}\t{shown}" if mid_line else shown)

    def _print_returned(self, value: int) -> None:
        """gdb's `Value returned is $N = ...` after finish: a0, signed decimal and hex, kept as $N."""
        from debugger.formats import format_scalar

        n = self.record(value)
        shown = f"{format_scalar(value, 'd', 4)} ({format_scalar(value, 'x', 4)})"
        self.out.line(f"Value returned is ${n} = {shown}")

    def _run_point_commands(self, commands: list[str]) -> None:
        for line in commands:
            if line.strip() in ("silent",):
                continue
            self.execute(line)

    def show_displays(self) -> None:
        from debugger.commands import dispatch

        for number, fmt, expr in self.displays:
            cmd = "x" if fmt and fmt[-1] in "is" else "print"
            self.out.write(f"{number}: ")
            if cmd == "x":
                self.out.line(f"x/{fmt} {expr}")
            else:
                self.out.write(f"/{fmt} {expr} = " if fmt else f"{expr} = ")
            try:
                dispatch(self, f"{cmd}/{fmt} {expr}" if fmt else f"{cmd} {expr}") if cmd == "x" else \
                    self.out.line(self.format_value(self.eval(expr), fmt or ""))
            except NpuError as exc:
                self.out.line(f"<error: {exc}>")

    # ------------------------------------------------------------ values (the evaluator's context)
    def eval(self, text: str, names: dict[str, int] | None = None) -> int:
        merged = {**self.convenience, **(names or {})}
        return self.evaluator.evaluate(text, merged)

    def register_value(self, name: str) -> int:
        """`$name`: a CPU register (ABI or xN name, pc, fp), a CSR, or a device register or field (peek)."""
        from isa.registers import register_table

        core = self.target.device.core
        lowered = name.lower()
        if lowered == "pc":
            return core.pc
        table = register_table()
        n = table.gpr_number(lowered)
        if n is not None:
            return core.regs[n]
        if table.csr_number(lowered) is not None:
            return core.csr(lowered)
        if lowered in self.convenience:
            return self.convenience[lowered]
        if "." in name:
            from firmware.hw.regmap import Field, RegisterError

            regs = self.target.device.regs
            try:
                found = regs.map.find(name)
            except RegisterError as exc:
                raise DebuggerError(f"${name}: {exc}") from None
            if isinstance(found, Field):
                return found.extract(regs.peek(found.register))
            return regs.peek(found.path)
        import difflib

        known = [g.abi for g in table.gprs] + [c.name for c in table.csrs] + ["pc", "fp"]
        guess = difflib.get_close_matches(lowered, known, n=1)
        hint = f"; did you mean ${guess[0]}?" if guess else ""
        raise DebuggerError(f"no register named ${name}{hint}")

    def set_register(self, name: str, value: int) -> None:
        from isa.registers import register_table

        core = self.target.device.core
        lowered = name.lower()
        table = register_table()
        if lowered == "pc":
            core.pc = value
        elif (n := table.gpr_number(lowered)) is not None:
            if n == 0:
                raise DebuggerError("$zero is hard-wired to 0")
            core.regs[n] = value
        elif table.csr_number(lowered) is not None:
            core.set_csr(lowered, value)
        elif "." in name:
            from firmware.hw.regmap import Field

            regs = self.target.device.regs
            found = regs.map.find(name)
            if isinstance(found, Field):
                current = regs.peek(found.register)
                regs.poke(found.register, (current & ~found.mask) | ((value << found.lsb) & found.mask))
            else:
                regs.poke(found.path, value)
        else:
            self.register_value(name)  # raises: unknown register, with a suggestion
            self.convenience[lowered] = value

    def symbol_value(self, name: str) -> int | None:
        return self.target.program.address_of(name)

    def read_int(self, addr: int, size: int) -> int:
        return int.from_bytes(self.target.read_memory(addr, size), "little")

    def read_memory(self, addr: int, length: int) -> bytes:
        return self.target.read_memory(addr, length)

    def write_memory(self, addr: int, data: bytes) -> None:
        self.target.write_memory(addr, data)

    def history_value(self, index: int | None, back: int) -> int:
        if not self.history:
            raise DebuggerError("the value history is empty")
        i = (len(self.history) - 1 - back) if index is None else index - 1
        if not 0 <= i < len(self.history):
            raise DebuggerError(f"the value history has {len(self.history)} values")
        return self.history[i]

    def record(self, value: int) -> int:
        """Add a printed value to the history; returns its number ($N)."""
        self.history.append(value)
        return len(self.history)

    @staticmethod
    def format_value(value: int, fmt: str) -> str:
        from debugger.formats import format_scalar

        return format_scalar(value, fmt[-1] if fmt else "d", 4)

    # ------------------------------------------------------------ code
    def describe_code(self, addr: int) -> str:
        return self.code.describe(addr)

    def frame_line(self, pc: int) -> str:
        return self.code.frame_line(pc)

    def current_file(self) -> str | None:
        row = self.target.program.line_for(self.target.device.core.pc)
        if row is not None:
            return row.file
        return self.last_listed[0] if self.last_listed else None

    def access_site(self, side: str, origin: Any) -> str:
        """Who made a register access: the firmware pc, or the host program's call site."""
        if side == "firmware" and isinstance(origin, int):
            return f"firmware at {self.describe_code(origin)}"
        if side == "host":
            from debugger.hostprog import host_call_site

            return f"host at {host_call_site(origin)}"
        return side

    # ------------------------------------------------------------ host programs
    def load_workload(self, name: str) -> None:
        """Attach a host program (a built-in workload or a Python script); it starts on `continue`."""
        from debugger.hostprog import HostProgram

        if self.host is not None:
            self.host.kill()
        self.host = HostProgram(self, name)

    def serve_gdb(self, port: int = 0, *, host: str = "127.0.0.1", once: bool = False) -> str:
        """Serve gdb's remote protocol (`target remote :PORT`) until gdb kills the target, `once`
        connection ends, or Ctrl-C; returns why it ended. See `debugger.gdb`."""
        from debugger.gdb.server import GdbServer

        with GdbServer(self, port, host) as server:
            return server.serve(once=once)

    @contextlib.contextmanager
    def capture(self) -> Iterator[Output]:
        """Temporarily send output to a buffer (for tests and `python` helpers)."""
        saved = self.out
        self.out = Output(None, False)
        try:
            yield self.out
        finally:
            self.out = saved

    def close(self) -> None:
        """End the session: stop the host program and write trace files complete."""
        if self.host is not None:
            self.host.kill()
            self.host = None
        tracing = sys.modules.get("debugger.trace.tracer")  # loaded only if a trace was ever used
        if tracing is not None:
            tracing.close_session(self)
