"""Key bindings, one factory per binding, each handler with a docstring saying what it does.

Ctrl-C at the prompt clears the line (as in gdb and bash); Ctrl-C while a command
runs is not a key binding at all but a signal, which `loop.py` turns into
`Session.interrupt()`. Ctrl-D on an empty line ends the shell. Ctrl-R is
prompt_toolkit's reverse history search.
"""

from __future__ import annotations

from prompt_toolkit.filters import Condition
from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings
from prompt_toolkit.key_binding.key_processor import KeyPressEvent


def clear_line_on_ctrl_c() -> KeyBindings:
    kb = KeyBindings()

    @kb.add("c-c")
    def _clear(event: KeyPressEvent) -> None:
        """Ctrl-C at the prompt: drop the line being typed and start a fresh one."""
        event.app.current_buffer.reset()

    return kb


def quit_on_ctrl_d() -> KeyBindings:
    kb = KeyBindings()

    @kb.add("c-d", filter=_empty_line())
    def _quit(event: KeyPressEvent) -> None:
        """Ctrl-D on an empty line: leave the shell (as end of input does)."""
        event.app.exit(exception=EOFError)

    return kb


def _empty_line() -> Condition:
    from prompt_toolkit.application.current import get_app

    return Condition(lambda: not get_app().current_buffer.text)


def bindings() -> KeyBindings:
    """Every binding of the shell."""
    return merge_key_bindings([clear_line_on_ctrl_c(), quit_on_ctrl_d()])  # type: ignore[return-value]
