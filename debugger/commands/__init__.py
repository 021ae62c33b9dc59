"""The command registry: every `npudbg` command, its parser, category, aliases and preconditions.

How to add a command
--------------------
1. Pick (or create) the group module `debugger/commands/<group>.py`; a new module
   must also be added to `MODULES` below (a test fails otherwise).
2. Declare a module-level argparse parser with help on every argument, using
   `parser(name, description)`; arguments that are expressions or locations use the
   marker types below (`Expr`, `Location`, `RegName`, `Text`) so that the Session's
   one evaluator resolves them (`Expr` → int; the others stay strings)::

       _p = parser("frobnicate", "Frobnicate the queue at ADDR.")
       _p.add_argument("addr", type=Expr, nargs="+", help="address expression")

3. Register the function with the decorator and write through `session.out`::

       @command("frobnicate", _p, category="queues", aliases=("frob",), repeat=True)
       @needs_halted
       def frobnicate(session, args):
           session.out.line(f"{args.addr:#x}")

   Names may have two words (`info queue`): the first word becomes a prefix group
   (`info`, `i`). `aliases` are other full names (`"i r"`, `"bt"`); every name also
   answers to its unique prefixes, as in gdb. `repeat=True` lets an empty Enter
   repeat the command (gdb: `stepi`, `next`, `x`, `list`). `fmt=True` accepts gdb's
   `/FMT` suffix (`x/4wx`), given to the function as `args.fmt` ("" when absent).
   `raw=True` gives the unparsed rest of the line as `args.text` (for `python`, `echo`).
4. Never print; never reach into the core or the device: ask the `Session`.

`dispatch(session, line)` parses one command line and runs it; the shell, batch mode,
`source` and tests all go through it.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from debugger.errors import DebuggerError, NotHalted, UsageError

if TYPE_CHECKING:
    from debugger.session import Session

# Every command module, in help order. A test checks that each module in this folder is listed.
MODULES = (
    "execution",
    "breakpoints",
    "data",
    "registers",
    "code",
    "scripting",
    "trace",
    "device",
    "inject",
    "versions",
    "remote",
)

CommandFn = Callable[["Session", argparse.Namespace], None]


# ---------------------------------------------------------------- typed arguments


class Expr(str):
    """An expression argument, evaluated to an int by the Session's evaluator."""


class Location(str):
    """A code location (`*ADDR`, `symbol`, `symbol+off`, `file:line`, `line`), resolved by the command."""


class RegName(str):
    """A device register, field or block name (`QUEUE0.SQ_TAIL`), checked by the command."""


class Text(str):
    """Free text kept as typed (joined with single spaces when it takes several words)."""


_RESOLVED = (Expr, Location, RegName, Text)


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message or 'bad arguments'}".strip())

    def print_help(self, file: Any = None) -> None:  # -h inside a command: say where help is
        raise UsageError(f"{self.prog}: see 'help {self.prog}'")


class LazyParser:
    """A command's parser, built on first use: the module declares its arguments at import, but
    argparse runs only for a command that is parsed, completed or shown in help (building all of
    them took about 30 ms of every start-up). Anything but `add_argument` is the built parser's."""

    def __init__(self, prog: str, description: str) -> None:
        self.prog = prog
        self.description = description
        self._arguments: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self._built: _Parser | None = None

    def add_argument(self, *args: Any, **kwargs: Any) -> None:
        if self._built is not None:
            self._built.add_argument(*args, **kwargs)
        else:
            self._arguments.append((args, kwargs))

    @property
    def built(self) -> bool:
        return self._built is not None

    def _parser(self) -> _Parser:
        if self._built is None:
            p = _Parser(prog=self.prog, description=self.description, add_help=False, allow_abbrev=False,
                        formatter_class=_Formatter)
            for args, kwargs in self._arguments:
                p.add_argument(*args, **kwargs)
            self._built = p
        return self._built

    def __getattr__(self, name: str) -> Any:  # only for what this class does not define
        if name.startswith("__") or name in ("_built", "_arguments"):  # copy, pickle, half-made
            raise AttributeError(name)
        return getattr(self._parser(), name)


def parser(name: str, description: str) -> LazyParser:
    """A command's parser: the description is its help text (first line: the summary)."""
    return LazyParser(name, description)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """A fixed width, so help and docs/commands.md are the same on every terminal."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=HELP_WIDTH, max_help_position=30)


HELP_WIDTH = 100


# ---------------------------------------------------------------- preconditions


def needs_halted(fn: CommandFn) -> CommandFn:
    """The command needs the target stopped (not running on another thread)."""
    fn.__dict__.setdefault("preconditions", []).append(_check_halted)
    return fn


def needs_symbols(fn: CommandFn) -> CommandFn:
    """The command needs a firmware image with symbols."""
    fn.__dict__.setdefault("preconditions", []).append(_check_symbols)
    return fn


def _check_halted(session: Session) -> None:
    if session.running:
        raise NotHalted("the target is running; interrupt it first (Ctrl-C)")


def _check_symbols(session: Session) -> None:
    if session.target.program is None:
        raise DebuggerError("no firmware image with symbols is loaded")


# ---------------------------------------------------------------- registry


@dataclass
class Command:
    name: str
    fn: CommandFn
    parser: LazyParser
    category: str
    aliases: tuple[str, ...] = ()
    repeat: bool = False
    fmt: bool = False
    raw: bool = False
    preconditions: list[Callable[[Session], None]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        description = self.parser.description
        return description.strip().splitlines()[0] if description else ""

    def usage(self) -> str:
        return self.parser.format_usage().replace("usage: ", "", 1).strip()

    def help(self) -> str:
        """Help generated from the parser: usage, description, arguments, aliases."""
        text = self.parser.format_help().replace("usage: ", "Usage: ", 1).rstrip()
        if self.aliases:
            text += "\n\nAliases: " + ", ".join(self.aliases)
        return text


COMMANDS: dict[str, Command] = {}  # full name -> command
_NAMES: dict[str, Command] = {}  # every full name and alias -> command
CATEGORIES: dict[str, str] = {
    "running": "Running the program: run, continue, step, finish, reset",
    "breakpoints": "Breakpoints, watchpoints and catchpoints",
    "data": "Examining and changing memory and CPU registers",
    "registers": "CPU and device registers",
    "code": "Disassembly, source and the call stack",
    "tracing": "Tracing MMIO, memory and instructions; timelines",
    "device": "The device: queues, pipes, versions, fault injection",
    "support": "Scripts, help and the session",
}


class DuplicateCommand(Exception):
    """Two commands claim one name: a programming error, found at import."""


def command(name: str, parser: LazyParser, *, category: str, aliases: tuple[str, ...] = (),
            repeat: bool = False, fmt: bool = False, raw: bool = False) -> Callable[[CommandFn], CommandFn]:
    """Register `fn` as command `name` (see the module docstring)."""
    if category not in CATEGORIES:
        raise DuplicateCommand(f"command {name}: unknown category {category!r}")

    def register(fn: CommandFn) -> CommandFn:
        cmd = Command(name, fn, parser, category, tuple(aliases), repeat, fmt, raw,
                      list(fn.__dict__.get("preconditions", [])))
        keys = [" ".join(word.split()) for word in (name, *aliases)]
        for key in keys:
            if key in _NAMES or keys.count(key) > 1:
                other = _NAMES[key].name if key in _NAMES else name
                raise DuplicateCommand(f"command name '{key}' is registered twice ({other} and {name})")
        for key in keys:
            _NAMES[key] = cmd
        COMMANDS[name] = cmd
        return fn

    return register


_loaded = False


def load_all() -> dict[str, Command]:
    """Import every command module once (explicit list; no discovery magic)."""
    global _loaded
    if not _loaded:
        _loaded = True
        for module in MODULES:
            importlib.import_module(f"debugger.commands.{module}")
    return COMMANDS


def registered_names() -> dict[str, str]:
    """Every name and alias registered so far -> the module defining it (for the generated index)."""
    return {key: cmd.fn.__module__.rpartition(".")[2] for key, cmd in _NAMES.items()}


def _known_names() -> dict[str, Any]:
    """Every name and alias: the registry once all modules are loaded, else the generated index
    (debugger/command_index.py), so that a lookup imports only the module it needs."""
    if _loaded:
        return _NAMES
    from debugger.command_index import MODULE_OF

    return MODULE_OF


def _get(key: str) -> Command:
    """The command registered under `key`, importing its module (from the index) if need be."""
    cmd = _NAMES.get(key)
    if cmd is None:
        from debugger.command_index import MODULE_OF

        module = MODULE_OF.get(key)
        if module in MODULES:
            importlib.import_module(f"debugger.commands.{module}")
        cmd = _NAMES.get(key)
        if cmd is None:  # the index is stale (a test keeps it current): the whole registry decides
            load_all()
            cmd = _NAMES[key]
    return cmd


def names() -> list[str]:
    """Every name and alias (for completion)."""
    load_all()
    return sorted(_NAMES)


# ---------------------------------------------------------------- lookup


def _first_words() -> dict[str, set[str]]:
    """First word -> the second words that follow it in two-word names ('' for a one-word name)."""
    groups: dict[str, set[str]] = {}
    for key in _known_names():
        first, _, second = key.partition(" ")
        groups.setdefault(first, set()).add(second)
    return groups


def _pick(word: str, choices: set[str] | list[str], what: str) -> str:
    """`word` itself or its unique prefix among `choices`; a clear error otherwise."""
    if word in choices:
        return word
    hits = sorted(c for c in choices if c and c.startswith(word))
    if len(hits) == 1:
        return hits[0]
    if not hits:
        import difflib

        guess = difflib.get_close_matches(word, [c for c in choices if c], n=1)
        hint = f"; did you mean '{guess[0]}'?" if guess else "; try 'help'"
        raise UsageError(f"undefined {what}: \"{word}\"{hint}")
    shown = ", ".join(hits[:8]) + (", ..." if len(hits) > 8 else "")
    raise UsageError(f"ambiguous {what} \"{word}\": {shown}")


def split_fmt(word: str) -> tuple[str, str]:
    """gdb's `x/4wx` → ("x", "4wx")."""
    name, slash, fmt = word.partition("/")
    return name, fmt if slash else ""


def lookup(line: str) -> tuple[Command, str, str]:
    """The command a line names, the `/FMT` suffix and the rest of the line."""
    try:
        return _lookup(line)
    except (UsageError, KeyError):
        if _loaded:
            raise
        load_all()  # a name the index does not know (stale index): ask the whole registry
        return _lookup(line)


def _lookup(line: str) -> tuple[Command, str, str]:
    text = line.strip()
    head, _, rest = text.partition(" ")
    word, fmt = split_fmt(head)
    groups = _first_words()
    first = _pick(word.lower(), set(groups), "command")
    seconds = groups[first]
    if seconds == {""} or (fmt and "" in seconds):
        return _get(first), fmt, rest.strip()
    sub, _, tail = rest.strip().partition(" ")
    sub_word, sub_fmt = split_fmt(sub)
    if sub_word and any(seconds - {""}):
        try:
            second = _pick(sub_word.lower(), seconds - {""}, f"{first} command")
        except UsageError:
            if "" not in seconds:
                raise
        else:
            return _get(f"{first} {second}"), sub_fmt or fmt, tail.strip()
    if "" in seconds:
        return _get(first), fmt, rest.strip()
    options = ", ".join(sorted(s for s in seconds if s))
    raise UsageError(f"\"{first}\" must be followed by the name of a subcommand ({options})")


def _tail(p: LazyParser) -> argparse.Action | None:
    """The last positional when it is a free-form expression or text and the parser has no options:
    such a command takes its tail verbatim (quotes, `-x`, `'c'` stay as typed)."""
    actions = [a for a in p._actions]
    if not actions or any(a.option_strings for a in actions):
        return None
    last = actions[-1]
    if last.type in (Expr, Text, Location) and last.nargs in ("*", "+", "?", argparse.REMAINDER):
        return last
    return None


def parse(session: Session, cmd: Command, fmt: str, rest: str) -> argparse.Namespace:
    """Parse the rest of a line with the command's parser and resolve its typed arguments."""
    if cmd.raw:
        args = argparse.Namespace(text=rest)
    else:
        tail = _tail(cmd.parser)
        if tail is not None:  # leading words, then an expression kept exactly as typed
            lead = [a for a in cmd.parser._actions if a.option_strings == [] and a is not tail]
            words = rest.split(None, len(lead))
            text = words[len(lead)] if len(words) > len(lead) else ""
            args = cmd.parser.parse_args(words[:len(lead)] + (["_"] if text else []))
            if not text and tail.nargs == "+":
                raise UsageError(f"{cmd.name}: the argument {tail.metavar or tail.dest} is required")
            setattr(args, tail.dest, [text] if text else [])
        else:
            try:
                words = shlex.split(rest, posix=True)
            except ValueError as exc:
                raise UsageError(f"{cmd.name}: {exc}") from None
            args = cmd.parser.parse_args(words)
        for action in cmd.parser._actions:
            kind = action.type
            value = getattr(args, action.dest, None)
            if kind not in _RESOLVED or value is None:
                continue
            if isinstance(value, list):
                value = " ".join(value) if value else None
                if value is None:
                    setattr(args, action.dest, None)
                    continue
            if kind is Expr:
                value = session.eval(value)
            setattr(args, action.dest, value)
    if not cmd.fmt and fmt:
        raise UsageError(f"{cmd.name} takes no /FORMAT")
    args.fmt = fmt
    return args


def dispatch(session: Session, line: str) -> Command | None:
    """Run one command line; returns the command that ran (None for an empty or comment line)."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    cmd, fmt, rest = lookup(text)
    args = parse(session, cmd, fmt, rest)
    for check in cmd.preconditions:
        check(session)
    cmd.fn(session, args)
    return cmd
