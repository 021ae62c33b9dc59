"""Characters to tokens: comments, statements, operands, strings and expression tokens.

Comments (`#`, `//`, `/* */`) are blanked rather than removed so that every
column the assembler reports is the column in the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from isa.asm.diagnostics import LineError

_ESCAPES = {"n": 10, "t": 9, "r": 13, "b": 8, "f": 12, "v": 11, "a": 7, "\\": 92, '"': 34, "'": 39, "e": 27}


def _skip_char_literal(text: str, i: int) -> int:
    """Index after the char literal starting at text[i] == "'" (closing quote optional)."""
    j = i + 1
    j += 2 if j < len(text) and text[j] == "\\" else 1
    if j < len(text) and text[j] == "'":
        j += 1
    return j


def strip_comments(text: str) -> tuple[list[str], int | None]:
    """Lines of `text` with comments blanked; also the line index of an unclosed `/*`."""
    out: list[str] = []
    in_block: int | None = None
    for index, line in enumerate(text.split("\n")):
        if in_block is None and not any(c in line for c in "#/\"'"):
            out.append(line.rstrip("\r"))
            continue
        chars = list(line.rstrip("\r"))
        i, quote = 0, ""
        while i < len(chars):
            c = chars[i]
            if in_block is not None:
                if c == "*" and i + 1 < len(chars) and chars[i + 1] == "/":
                    chars[i] = chars[i + 1] = " "
                    in_block = None
                    i += 2
                    continue
                chars[i] = " "
            elif quote:
                if c == "\\":
                    i += 1
                elif c == quote:
                    quote = ""
            elif c == '"':
                quote = c
            elif c == "'":
                i = _skip_char_literal(line, i)
                continue
            elif c == "#" or (c == "/" and i + 1 < len(chars) and chars[i + 1] == "/"):
                chars[i:] = " " * (len(chars) - i)
                break
            elif c == "/" and i + 1 < len(chars) and chars[i + 1] == "*":
                chars[i] = chars[i + 1] = " "
                in_block = index
                i += 2
                continue
            i += 1
        out.append("".join(chars))
    return out, in_block


def _scan_split(text: str, sep: str) -> list[tuple[int, str]]:
    """Split at `sep` outside strings, char literals and parentheses; (offset, piece)."""
    if '"' not in text and "'" not in text and (sep != "," or "(" not in text):
        pieces, start = [], 0
        for piece in text.split(sep):
            pieces.append((start, piece))
            start += len(piece) + 1
        return pieces
    pieces: list[tuple[int, str]] = []
    start, depth, i, quote = 0, 0, 0, ""
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c == '"':
            quote = c
        elif c == "'":
            i = _skip_char_literal(text, i)
            continue
        elif c == "(" and sep == ",":
            depth += 1
        elif c == ")" and sep == ",":
            depth = max(depth - 1, 0)
        elif c == sep and depth == 0:
            pieces.append((start, text[start:i]))
            start = i + 1
        i += 1
    pieces.append((start, text[start:]))
    return pieces


def unclosed_quote(text: str) -> int | None:
    """Offset of a `"` that opens a string never closed on this line, if any."""
    if '"' not in text:
        return None
    i, start = 0, None
    while i < len(text):
        c = text[i]
        if start is not None:
            if c == "\\":
                i += 1
            elif c == '"':
                start = None
        elif c == '"':
            start = i
        elif c == "'":
            i = _skip_char_literal(text, i)
            continue
        i += 1
    return start


def split_statements(line: str) -> list[tuple[int, str]]:
    """The `;`-separated statements of a comment-free line, each with its offset."""
    return [(off + len(s) - len(s.lstrip()), s.strip()) for off, s in _scan_split(line, ";") if s.strip()]


def split_operands(text: str) -> list[tuple[int, str]]:
    """Top-level comma-separated operands, stripped, each with its offset in `text`."""
    if not text.strip():
        return []
    result = []
    for off, piece in _scan_split(text, ","):
        lead = len(piece) - len(piece.lstrip())
        result.append((off + lead, piece.strip()))
    return result


def parse_string(text: str) -> bytes:
    """A double-quoted string literal with C escapes; raises LineError when malformed."""
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise LineError(f"expected a string in double quotes, got '{text}'" if text else "expected a string")
    body, out, i = text[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i]
        if c == '"':
            raise LineError("unexpected '\"' inside a string")
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        i += 1
        if i >= len(body):
            raise LineError("unterminated string")
        e = body[i]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 1
        elif e in "xX":
            m = re.match(r"[0-9a-fA-F]+", body[i + 1:])
            if not m:
                raise LineError("\\x needs hex digits")
            out.append(int(m.group(), 16) & 0xFF)
            i += 1 + len(m.group())
        elif e in "01234567":
            m = re.match(r"[0-7]{1,3}", body[i:])
            assert m is not None
            out.append(int(m.group(), 8) & 0xFF)
            i += len(m.group())
        else:
            raise LineError(f"unknown escape '\\{e}' in a string")
    return bytes(out)


@dataclass(frozen=True)
class Token:
    kind: str  # "num", "name", "local", "op", "mod", "end"
    text: str
    pos: int
    value: int = 0


_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<hex>0[xX][0-9a-fA-F]+\b)
      | (?P<bin>0[bB][01]+\b)
      | (?P<oct>0[oO][0-7]+\b)
      | (?P<local>\d+[bfBF]\b)
      | (?P<num>\d+\b)
      | (?P<char>'(\\(x[0-9a-fA-F]+|[0-7]{1,3}|.)|[^\\])'?)
      | (?P<mod>%[A-Za-z_]+)
      | (?P<name>[A-Za-z_.$][A-Za-z0-9_.$]*)
      | (?P<op><<|>>|<=|>=|==|!=|&&|\|\||<>|[-+*/%&|^~!()<>])
    """,
    re.VERBOSE,
)


def _char_value(text: str) -> int:
    body = text[1:-1] if text.endswith("'") and len(text) > 2 else text[1:]
    if body.startswith("\\"):
        return parse_string('"' + body + '"')[0]
    return ord(body)


def tokenize(text: str) -> list[Token]:
    """Expression tokens; raises LineError(col offset) on a character that starts none."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise LineError(f"unexpected character '{text[pos]}' in expression", pos)
        kind = m.lastgroup or ""
        word = m.group()
        if kind == "hex":
            tokens.append(Token("num", word, pos, int(word, 16)))
        elif kind == "bin":
            tokens.append(Token("num", word, pos, int(word[2:], 2)))
        elif kind == "oct":
            tokens.append(Token("num", word, pos, int(word[2:], 8)))
        elif kind == "num":
            # GNU as reads a leading 0 as octal
            if len(word) > 1 and word[0] == "0":
                if not all(ch in "01234567" for ch in word):
                    raise LineError(f"bad octal number '{word}'", pos)
                tokens.append(Token("num", word, pos, int(word, 8)))
            else:
                tokens.append(Token("num", word, pos, int(word)))
        elif kind == "char":
            tokens.append(Token("num", word, pos, _char_value(word)))
        elif kind == "local":
            tokens.append(Token("local", word, pos))
        elif kind == "mod":
            tokens.append(Token("mod", word[1:].lower(), pos))
        elif kind in ("name", "op"):
            tokens.append(Token(kind, word, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens
