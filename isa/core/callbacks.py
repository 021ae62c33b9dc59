"""The C core's calls into Python (cffi extern "Python"): MMIO accesses and Xnpu instructions.

Each returns 0, or 1 after storing the exception it caught on the Core: a Python
exception never unwinds through C; the loop stops and `run()` re-raises it.

MMIO is served by a callback rather than by stopping the loop: the access completes
inside its instruction (nothing to replay or resume), its ordering with traps,
watchpoints and tracing stays in C, and MMIO is rare, so the cost of a Python call
per access does not matter. A handler ends the run with `core.stop_with()` when the
device wants the debugger to see the access (reason MMIO).
"""

from __future__ import annotations

from isa.core._core import ffi


@ffi.def_extern()
def py_mmio_read(user: object, addr: int, size: int, value: object) -> int:
    core = ffi.from_handle(user)
    try:
        core._in_callback = "mmio"
        value[0] = int(core.mmio.read(addr, size)) & ((1 << (8 * size)) - 1)
        return 0
    except BaseException as exc:
        core._callback_error = exc
        return 1
    finally:
        core._in_callback = None


@ffi.def_extern()
def py_mmio_write(user: object, addr: int, size: int, value: int) -> int:
    core = ffi.from_handle(user)
    try:
        core._in_callback = "mmio"
        core.mmio.write(addr, size, value)
        return 0
    except BaseException as exc:
        core._callback_error = exc
        return 1
    finally:
        core._in_callback = None


@ffi.def_extern()
def py_xnpu(user: object, word: int, pc: int) -> int:
    core = ffi.from_handle(user)
    try:
        core._in_callback = "xnpu"
        core._xnpu(core, word, pc)  # (the handler itself, not the property: once per Xnpu instruction)
        return 0
    except BaseException as exc:
        core._callback_error = exc
        return 1
    finally:
        core._in_callback = None
