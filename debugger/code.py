"""What the firmware image says about code: names for addresses, source lines, frames.

`CodeInfo` answers "where is this address" (`handle_nop+8`, `cmd_basic.S:12`), reads
source lines (found relative to the working directory or the image's tree), and walks
the frame chain. The firmware's prologue (`ENTER` in xnpu.inc) keeps the return address
at -4(s0) and the caller's s0 at -8(s0), so the backtrace follows s0: it is
frame-pointer based and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from debugger.session import Session

MAX_FRAMES = 64


@dataclass(frozen=True)
class Frame:
    level: int
    pc: int
    fp: int | None  # this frame's s0 (None for frame 0 before its prologue ran)
    function: str | None
    file: str | None
    line: int | None

    def where(self) -> str:
        name = self.function or "??"
        loc = f" at {self.file}:{self.line}" if self.file else ""
        return f"{name} (){loc}"


class CodeInfo:
    """Address and source lookups over the target's image."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self._sources: dict[str, list[str] | None] = {}

    @property
    def program(self):
        return self.s.target.program

    def function_at(self, addr: int) -> tuple[str, int] | None:
        found = self.program.symbol_at(addr)
        return (found[0].name, found[1]) if found else None

    def symbolic(self, addr: int) -> str:
        """`name` or `name+off`, or the bare address."""
        found = self.function_at(addr)
        if found is None:
            return f"0x{addr:08x}"
        name, off = found
        return name if off == 0 else f"{name}+{off}"

    def describe(self, addr: int) -> str:
        """`0x00000aa4 <handle_nop+4> at firmware/src/cmd_basic.S:11`."""
        found = self.function_at(addr)
        text = f"0x{addr:08x}"
        if found:
            text += f" <{found[0]}+{found[1]}>" if found[1] else f" <{found[0]}>"
        row = self.program.line_for(addr)
        if row is not None:
            text += f" at {row.file}:{row.line}"
        return text

    def where(self, addr: int) -> str:
        """gdb's "What" column: `in handle_nop at firmware/src/cmd_basic.S:10`."""
        found = self.function_at(addr)
        row = self.program.line_for(addr)
        text = f"in {found[0]}" + (f"+{found[1]}" if found[1] else "") if found else f"0x{addr:08x}"
        return text + (f" at {row.file}:{row.line}" if row else "")

    def frame_line(self, pc: int) -> str:
        """gdb's `handle_nop () at firmware/src/cmd_basic.S:10`."""
        found = self.function_at(pc)
        row = self.program.line_for(pc)
        name = found[0] if found else f"0x{pc:08x} in ??"
        return f"{name} ()" + (f" at {row.file}:{row.line}" if row else "")

    # ------------------------------------------------------------ source
    def source_lines(self, file: str) -> list[str] | None:
        if file not in self._sources:
            self._sources[file] = None
            for base in (Path.cwd(), *self.s.target.image_path.resolve().parents):
                path = base / file
                if path.is_file():
                    self._sources[file] = path.read_text(encoding="utf-8", errors="replace").splitlines()
                    break
        return self._sources[file]

    def source_line(self, file: str, line: int) -> str | None:
        lines = self.source_lines(file)
        if lines is None or not 1 <= line <= len(lines):
            return None
        return lines[line - 1]

    # ------------------------------------------------------------ frames
    def frames(self) -> list[Frame]:
        """Frame 0 at the pc, then callers from the s0 chain (frame-pointer based)."""
        core = self.s.target.device.core
        out = [self._frame(0, core.pc, core.regs["s0"])]
        fp = core.regs["s0"]
        func = self.function_at(core.pc)
        # At a function's first instruction (or while its prologue runs) ra is the return address
        # and s0 still the caller's frame: the caller is reached through ra.
        if func is not None and func[1] <= 12:
            ra = core.regs["ra"]
            if ra and self.function_at(ra) and ra != core.pc:
                out.append(self._frame(1, ra, fp))
        seen = set()
        while len(out) < MAX_FRAMES and fp and fp not in seen and fp % 4 == 0:
            seen.add(fp)
            try:
                ra = int.from_bytes(self.s.target.read_memory(fp - 4, 4), "little")
                prev = int.from_bytes(self.s.target.read_memory(fp - 8, 4), "little")
            except Exception:  # a frame pointer into nowhere ends the chain
                break
            if not ra or self.function_at(ra) is None:
                break
            out.append(self._frame(len(out), ra, prev))
            fp = prev
        return out

    def _frame(self, level: int, pc: int, fp: int | None) -> Frame:
        found = self.function_at(pc)
        row = self.program.line_for(pc - 4 if level else pc)
        return Frame(level, pc, fp, found[0] if found else None, row.file if row else None,
                     row.line if row else None)
