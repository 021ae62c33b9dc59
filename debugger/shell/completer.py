"""Completion: command names from the registry, then arguments: choices, files, registers, symbols.

The first word completes from every command's first word (`info`, `break`, `x`...),
the second from a prefix group's subcommands (`info device`). After that a word
completes from the command's own argument choices (`trace mmio on|off`), from file
paths for commands that take a file, from `$` + CPU and device register names, and
from firmware symbols and device register names. The word lists are read from the
registry, the register table, the register map and the image on demand.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

if TYPE_CHECKING:
    from debugger.session import Session

FILE_DESTS = ("file", "path", "filename", "script")


def _starting(word: str, words: Iterable[str]) -> Iterator[Completion]:
    low = word.lower()
    for w in sorted(set(words)):
        if w.lower().startswith(low):
            yield Completion(w, start_position=-len(word))


class NpudbgCompleter(Completer):
    """Completes a command line for one session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.paths = PathCompleter(expanduser=True)

    # ------------------------------------------------------------ word lists
    @staticmethod
    def command_groups() -> dict[str, set[str]]:
        from debugger.commands import names

        groups: dict[str, set[str]] = {}
        for name in names():
            first, _, second = name.partition(" ")
            groups.setdefault(first, set()).add(second)
        return groups

    def registers(self) -> list[str]:
        """`$` names: CPU registers (ABI names, pc, CSRs) and device registers and fields."""
        from isa.registers import register_table

        table = register_table()
        cpu = [g.abi for g in table.gprs] + ["pc"] + [c.name for c in table.csrs]
        return [f"${n}" for n in cpu] + [f"${n}" for n in self.device_names()]

    def device_names(self) -> list[str]:
        return self.session.target.device.regs.map.names()

    def symbols(self) -> list[str]:
        try:
            program = self.session.target.program
        except Exception:  # completion must never fail the prompt
            return []
        return [s.name for s in program.symbols if s.kind in ("func", "object", "notype")
                and s.section is not None and s.name and not s.name.startswith("$")]

    # ------------------------------------------------------------ completion
    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        text = document.text_before_cursor
        words = text.split()
        if text.endswith(" ") or not text:
            words.append("")
        if len(words) == 1:
            yield from _starting(words[0], self.command_groups())
            return
        groups = self.command_groups()
        first = words[0].split("/")[0].lower()
        seconds = groups.get(first, set()) - {""}
        if len(words) == 2 and seconds:
            yield from _starting(words[1], seconds)
        yield from self._arguments(text, words)

    def _arguments(self, text: str, words: list[str]) -> Iterator[Completion]:
        from debugger.commands import lookup

        word = words[-1]
        head = text[: len(text) - len(word)]
        try:
            cmd, _, rest = lookup(head)
        except Exception:
            return
        positionals = [a for a in cmd.parser._actions if not a.option_strings]
        index = len(rest.split())
        if index < len(positionals) and positionals[index].choices and not word.startswith(("$", "-")):
            yield from _starting(word, (str(c) for c in positionals[index].choices))
            return
        choices: set[str] = set()
        takes_file = False
        for action in cmd.parser._actions:
            if action.choices:
                choices.update(str(c) for c in action.choices)
            if action.dest in FILE_DESTS:
                takes_file = True
            choices.update(o for o in action.option_strings if o.startswith("--"))
        if word.startswith("$"):
            yield from _starting(word, self.registers())
            return
        if takes_file and not word.startswith("-"):
            yield from self.paths.get_completions(Document(word, len(word)), CompleteEvent())
            return
        yield from _starting(word, choices)
        if len(word) >= 1 and not word.startswith("-"):
            yield from _starting(word, self.symbols())
            yield from _starting(word, self.device_names())
