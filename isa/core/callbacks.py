"""The C core's calls into Python (cffi extern "Python"): MMIO accesses and Xnpu instructions.

Each returns 0, or 1 after storing the exception it caught on the Core: a Python
exception never unwinds through C; the loop stops and `run()` re-raises it.
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
        core.xnpu(core, word, pc)
        return 0
    except BaseException as exc:
        core._callback_error = exc
        return 1
    finally:
        core._in_callback = None
