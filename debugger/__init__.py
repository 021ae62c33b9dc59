"""npudbg: the debugger for the emulated NPU (Session API, shell, commands).

`debugger.Session` is the one API; it is imported on first use so that
`import debugger` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from debugger.session import Session

__all__ = ["Session"]


def __getattr__(name: str) -> Any:
    if name == "Session":
        from debugger.session import Session

        return Session
    raise AttributeError(f"module 'debugger' has no attribute {name!r}")
