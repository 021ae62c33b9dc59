"""One assembly run: read the input, pass 1, link (pass 2), and raise all diagnostics at once."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from isa.asm.assembler import Abort, Assembler
from isa.asm.diagnostics import AsmError, Diagnostic, Loc
from isa.asm.emit import link
from isa.asm.source import display_name
from isa.image import ObjectImage


def run(source: str | None, *, path: str | None, include_dirs: Sequence[str], defines: Mapping[str, int],
        filename: str) -> ObjectImage:
    if (source is None) == (path is None):
        raise AsmError([Diagnostic(Loc(filename, 0, 0), "give either source text or a path")])
    if path is not None:
        name = display_name(path)
        try:
            with open(path, encoding="utf-8") as handle:
                source = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise AsmError([Diagnostic(Loc(name, 0, 0), f"cannot read {path}: {exc}")]) from None
        real = path
    else:
        name = filename
        real = os.path.join(".", filename) if filename and not filename.startswith("<") else ""
    assert source is not None
    asm = Assembler(include_dirs=include_dirs, defines=defines)
    asm.paths = {name: real}
    try:
        asm.run_text(source, name)
        asm.finish()
    except Abort:
        pass
    except RecursionError:
        asm.diag.error(Loc(name, 0, 0), "input nested too deeply")
    image = link(asm)  # pass 2 runs even after errors, so that one run reports everything
    asm.diag.raise_if_any()
    return image
