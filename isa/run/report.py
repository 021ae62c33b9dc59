"""How the runner shows a run: trace lines (pc, symbol, disassembly) and the final registers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from isa.errors import NpuError
from isa.registers import register_table

if TYPE_CHECKING:
    from isa.run import Runner

REGS_PER_LINE = 4


class TraceWriter:
    """Writes one line per executed pc: `0x00000010 <main+0x8>  addi a0,a0,1`.

    Called with each chunk of pcs the core's trace ring hands over. The text of
    a word is cached by (pc, word), so loops cost one lookup per line; the word is
    read when the chunk is written (code rewritten within one chunk shows its new form).
    """

    def __init__(self, runner: Runner, out: TextIO) -> None:
        from isa.disasm import SymbolIndex

        self._runner = runner
        self._out = out
        self._describe = SymbolIndex(runner.program.symbols).describe
        self._text: dict[tuple[int, int], str] = {}

    def line(self, pc: int) -> str:
        core = self._runner.core
        try:
            word = int.from_bytes(core.read_mem(pc, 4), "little")
        except NpuError:
            return f"0x{pc:08x}  <not in memory>"
        key = (pc, word)
        text = self._text.get(key)
        if text is None:
            from isa.disasm.render import render

            text = f"{self._runner.where(pc):<28} {word:08x}  {render(word, pc, self._describe).text}"
            self._text[key] = text
        return text

    def __call__(self, pcs: Sequence[int]) -> None:
        self._out.write("".join(self.line(int(pc)) + "\n" for pc in pcs))


def format_regs(regs: Sequence[int], pc: int) -> str:
    """The 32 integer registers by ABI name, four to a line, then pc."""
    table = register_table()
    cells = [f"{table.abi_name(i):<4} 0x{regs[i] & 0xFFFFFFFF:08x}" for i in range(32)]
    lines = ["  ".join(cells[i:i + REGS_PER_LINE]) for i in range(0, 32, REGS_PER_LINE)]
    lines.append(f"{'pc':<4} 0x{pc & 0xFFFFFFFF:08x}")
    return "\n".join(lines) + "\n"
