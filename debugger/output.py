"""The session's output object: what every command writes to, never `print`.

Text goes to a stream (the terminal, a pipe) or, without one, into a buffer that
tests and scripts read back with `take()`. Styles (`changed`, `pc`, `error`, ...)
become ANSI colours only when the stream is a terminal; elsewhere text stays plain,
so batch output and test expectations are the same bytes on every machine.
"""

from __future__ import annotations

import io
import os
from typing import TextIO

STYLES = {
    "changed": "1;31",  # a value that changed since the last stop
    "pc": "1;32",  # the current instruction
    "error": "31",
    "warning": "33",
    "name": "36",  # symbols, register names
    "address": "34",
    "heading": "1",
    "dim": "2",
}


class Output:
    """Where command output goes; `style()` colours a piece of text when colour is on."""

    def __init__(self, stream: TextIO | None = None, color: bool | None = None) -> None:
        self._buffer = io.StringIO() if stream is None else None
        self.stream: TextIO = stream if stream is not None else self._buffer  # type: ignore[assignment]
        if color is None:
            isatty = getattr(stream, "isatty", None)
            color = bool(stream is not None and isatty and isatty() and not os.environ.get("NO_COLOR"))
        self.color = color

    def write(self, text: str) -> None:
        self.stream.write(text)

    def line(self, text: str = "") -> None:
        self.stream.write(text + "\n")

    def lines(self, lines: list[str]) -> None:
        for text in lines:
            self.line(text)

    def error(self, text: str) -> None:
        self.line(self.style(text, "error"))

    def style(self, text: str, name: str) -> str:
        code = STYLES.get(name)
        if not self.color or code is None:
            return text
        return f"\x1b[{code}m{text}\x1b[0m"

    def flush(self) -> None:
        flush = getattr(self.stream, "flush", None)
        if flush:
            flush()

    def take(self) -> str:
        """The buffered text since the last take (buffered outputs only); the buffer empties."""
        if self._buffer is None:
            return ""
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text
