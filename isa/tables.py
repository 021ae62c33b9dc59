"""Reading the project's text tables: `[section]` headers, whitespace rows, `|` continuations.

The instruction table, the register table and the memory map share this small
format so that each reads like a datasheet and reports errors by line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from isa.errors import SpecError

_SECTION = re.compile(r"^\[([a-z_]+)\]$")


@dataclass
class Row:
    """One table row: its tokens, the line it came from, and continuation text."""

    section: str
    line: int
    text: str
    more: list[str] = field(default_factory=list)

    def tokens(self) -> list[str]:
        return self.text.split()


@dataclass
class Problems:
    """Collects every problem of a table so that one load reports all of them."""

    filename: str
    messages: list[str] = field(default_factory=list)

    def add(self, line: int, subject: str, message: str) -> None:
        where = f"{self.filename}:{line}: error: "
        self.messages.append(where + (f"{subject}: {message}" if subject else message))

    def raise_if_any(self) -> None:
        if self.messages:
            raise SpecError("\n".join(self.messages))


def strip_comment(line: str) -> str:
    return line.split("#", 1)[0].rstrip()


def read_rows(text: str, sections: set[str], problems: Problems) -> list[Row]:
    """Split `text` into rows of the named sections; unknown sections are problems."""
    rows: list[Row] = []
    section = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = strip_comment(raw).strip()
        if not line:
            continue
        header = _SECTION.match(line)
        if header:
            section = header.group(1)
            if section not in sections:
                problems.add(number, "", f"unknown section [{section}]")
            continue
        if line.startswith("|"):
            if rows and rows[-1].section == section:
                rows[-1].more.append(line[1:].strip())
            else:
                problems.add(number, "", "continuation line '|' without a row above it")
            continue
        if not section:
            problems.add(number, "", "row before any [section] header")
            continue
        rows.append(Row(section, number, line))
    return rows


def parse_int(text: str) -> int:
    """An integer in decimal, hex (0x), binary (0b) or octal (0o); raises ValueError."""
    return int(text, 0)


def parse_range(text: str) -> tuple[int, int]:
    """`hi..lo` or a single bit `n` as (hi, lo); raises ValueError when malformed."""
    if ".." in text:
        hi_text, lo_text = text.split("..", 1)
        hi, lo = int(hi_text), int(lo_text)
    else:
        hi = lo = int(text)
    if hi < lo:
        raise ValueError(f"range {text} runs upward; write hi..lo")
    return hi, lo
