"""The read-run loop: prompt, history, empty-Enter repeat, Ctrl-C, and output while the prompt is up.

`run(session)` reads lines with a `PromptSession` (FileHistory in
`$NPUDBG_HISTORY` or `~/.npudbg_history`, Ctrl-R searches it), runs each through
the Session, and prints a user error as one line. An empty line repeats the last
command when that command says gdb repeats it (`stepi`, `next`, `x`, ...). While a
command runs, SIGINT (Ctrl-C) calls `Session.interrupt()`, so a long `continue`
stops at the next instruction boundary and the shell stays. `patch_stdout()` keeps
output from a host program's thread above the prompt.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prompt_toolkit import PromptSession
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.patch_stdout import patch_stdout

from debugger.shell.completer import NpudbgCompleter
from debugger.shell.keys import bindings
from debugger.shell.style import STYLE, color_depth
from debugger.shell.toolbar import make_toolbar

if TYPE_CHECKING:
    from debugger.session import Session

PROMPT = "(npudbg) "


def history_path() -> Path:
    return Path(os.environ.get("NPUDBG_HISTORY") or Path.home() / ".npudbg_history")


def _history() -> History:
    try:
        path = history_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        return FileHistory(str(path))
    except OSError:
        return InMemoryHistory()  # a read-only home: the shell works, history does not persist


@contextlib.contextmanager
def interrupts_go_to(session: Session) -> Iterator[None]:
    """While a command runs: Ctrl-C interrupts the target (twice: stops waiting on it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    presses = 0

    def on_sigint(signum: int, frame: Any) -> None:
        nonlocal presses
        presses += 1
        if presses > 1 and not session.running:
            raise KeyboardInterrupt
        session.interrupt()

    old = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def make_prompt(session: Session, **kw: Any) -> PromptSession:
    """The PromptSession with the shell's completer, history, bindings, toolbar and style."""
    history = kw.pop("history", None) or _history()
    depth = kw.pop("color_depth", None) or color_depth()
    return PromptSession(completer=NpudbgCompleter(session), history=history, key_bindings=bindings(),
                         bottom_toolbar=make_toolbar(session), style=STYLE, complete_while_typing=False,
                         color_depth=depth, **kw)


def repeatable(text: str) -> bool:
    """Whether an empty Enter after `text` runs it again (the command's own `repeat` flag)."""
    from debugger.commands import lookup

    try:
        return lookup(text)[0].repeat
    except Exception:
        return False


def run(session: Session, *, input: Any = None, output: Any = None, history: History | None = None) -> int:
    """The interactive shell; returns the exit status (`quit N`, or 0 at end of input)."""
    prompt = make_prompt(session, input=input, output=output, history=history)
    last: str | None = None
    with patch_stdout(raw=True):
        while session.exit_requested is None:
            try:
                line = prompt.prompt(PROMPT)
            except EOFError:
                break
            except KeyboardInterrupt:
                continue
            text = line.strip()
            if not text:
                if last is None:
                    continue
                text = last
            with interrupts_go_to(session):
                ok = session.run_command(text)
            session.out.flush()
            last = text if ok and repeatable(text) else None
    return session.exit_requested or 0
