"""Source files: reading, naming and `.include` search.

A file is named in diagnostics and line rows as the source named it: the main
file as given (relative to the current directory when it lies under it), an
included file as the path it was found at.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from isa.asm.diagnostics import Loc
from isa.asm.lexer import strip_comments
from isa.asm.program import SourceLine


def display_name(path: str) -> str:
    """`path` relative to the current directory when it lies under it, else as given."""
    absolute = os.path.abspath(path)
    cwd = os.getcwd()
    if absolute == cwd or absolute.startswith(cwd.rstrip(os.sep) + os.sep):
        return os.path.relpath(absolute, cwd)
    return path


def find_include(name: str, including: str | None,
                 include_dirs: Sequence[str]) -> tuple[str | None, list[str]]:
    """The path of `name`: the including file's directory first, then `include_dirs`; also dirs searched."""
    dirs = [os.path.dirname(including) if including else "."]
    dirs += [d for d in include_dirs if d not in dirs]
    if os.path.isabs(name):
        return (name if os.path.isfile(name) else None), []
    for d in dirs:
        candidate = os.path.normpath(os.path.join(d, name)) if d else name
        if os.path.isfile(candidate):
            return candidate, dirs
    return None, [d or "." for d in dirs]


def source_lines(text: str, name: str, chain: tuple[str, ...] = ()) -> tuple[list[SourceLine], Loc | None]:
    """The comment-free lines of a file; also where an unterminated `/*` started."""
    raw = text.split("\n")
    stripped, open_comment = strip_comments(text)
    lines = [SourceLine(s, Loc(name, i + 1, 1, raw[i].rstrip("\r"), chain)) for i, s in enumerate(stripped)]
    unclosed = None
    if open_comment is not None:
        src = raw[open_comment].rstrip("\r")
        unclosed = Loc(name, open_comment + 1, src.find("/*") + 1 if "/*" in src else 1, src, chain)
    return lines, unclosed
