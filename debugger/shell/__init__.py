"""The interactive `npudbg` shell on prompt_toolkit, split by concern.

`completer.py` (commands from the registry, symbols, CPU and device register names,
file paths), `keys.py` (key bindings, one factory per binding), `toolbar.py` (the
bottom toolbar, rendered from the Session each time), `style.py`, and `loop.py`
(the read-run loop: history, empty-Enter repeat, Ctrl-C). Everything runs through
the Session; the shell keeps no state of the target.
"""

from debugger.shell.loop import run

__all__ = ["run"]
