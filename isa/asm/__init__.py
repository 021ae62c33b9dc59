"""The project's GNU-as-compatible assembler for RV32IM + Zicsr + Xnpu.

`assemble()` turns source into an `isa.image.ObjectImage`; `assemble_elf()`
adds the ELF writer. Errors come as one `AsmError` carrying every diagnostic of
the input (`file:line:col: error: message`, the line, a caret).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from isa.asm.diagnostics import AsmError, Diagnostic, Loc
from isa.image import ObjectImage

__all__ = ["AsmError", "Diagnostic", "Loc", "assemble", "assemble_elf"]


def assemble(source: str | None = None, *, path: str | None = None, include_dirs: Sequence[str] = (),
             defines: Mapping[str, int] | None = None, filename: str = "<input>") -> ObjectImage:
    """Assemble `source` text, or the file at `path`; raises AsmError listing every problem."""
    from isa.asm.driver import run
    return run(source, path=path, include_dirs=include_dirs, defines=defines or {}, filename=filename)


def assemble_elf(source: str | None = None, *, path: str | None = None, include_dirs: Sequence[str] = (),
                 defines: Mapping[str, int] | None = None, filename: str = "<input>") -> bytes:
    """`assemble()` then the ELF writer: an executable ELF32 RISC-V image as bytes."""
    image = assemble(source, path=path, include_dirs=include_dirs, defines=defines, filename=filename)
    from isa.elfwrite import write_elf
    return write_elf(image)
