"""The execution core: a C interpreter for RV32IM + Zicsr + machine mode + Xnpu, and its Python API.

`Core` (api.py) is the entry point; `Stop`/`StopReason` (stop.py) say why a run
ended; the C sources beside this file are built by build.py at install.
"""

from __future__ import annotations

from isa.core.api import Core, Snapshot
from isa.core.memory import MemoryAccessError
from isa.core.stop import Stop, StopReason
from isa.core.trace import KIND_EXEC, KIND_READ, KIND_WRITE

__all__ = ["KIND_EXEC", "KIND_READ", "KIND_WRITE", "Core", "MemoryAccessError", "Snapshot", "Stop",
           "StopReason"]
