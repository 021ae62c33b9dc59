"""Host programs run in lockstep with the device (filled in below; call sites for now)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent
_LIBRARY = tuple(str(_ROOT / pkg) + "/" for pkg in ("driver", "firmware", "debugger", "isa"))


def host_call_site(origin: Any = None) -> str:
    """`file:line in function` of the host program code that made the current access."""
    if isinstance(origin, str) and origin:
        return origin
    f = sys._getframe(1)
    while f is not None:
        name = f.f_code.co_filename
        if not name.startswith(_LIBRARY) and "threading" not in name and not name.startswith("<frozen"):
            return f"{name}:{f.f_lineno} in {f.f_code.co_name}"
        f = f.f_back
    return "the host"


class HostProgram:
    alive = False

    def __init__(self, session: Any, name: str) -> None:
        raise NotImplementedError

    def resume(self) -> Any:
        raise NotImplementedError

    def kill(self) -> None:
        pass
