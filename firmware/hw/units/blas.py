"""The cube's C tile kernel (`_mmad`, mmad.c) bound to numpy's own OpenBLAS, and the units' worker.

threadpoolctl finds the OpenBLAS numpy loaded (its path and symbol prefix/suffix); ctypes
opens that same library and hands the kernel raw pointers to `cblas_sgemm`
and the thread-count functions. Sharing numpy's library (rather than another BLAS) means
one set of kernels, so the C path and the numpy path give the same bits. Without the
compiled module, another BLAS (MKL, BLIS) or a missing symbol, `kernel()` is None and the
cube does the same arithmetic through numpy.

The worker: `submit` (an mmad) and `submit_copy` (a DMA's plain copy) queue unit work for
the kernel's worker thread, which runs it strictly in the order queued, and return at once:
the device model goes on while the host's second core moves and multiplies. Until
`settle()` has run, memory the queued work reads or writes may still be in use: the device
settles before anything else touches device memory (see `Device`, `PipeFront.retire` and the
core's fences). The buffers the queued work uses are kept referenced here until then, so
their memory cannot be freed under the worker.
"""

from __future__ import annotations

from functools import cache
from typing import Any

BACKENDS = ("openblas", "numpy")
_state = {"forced": "", "worker": True}
_keep: list[Any] = []  # the opened BLAS stays referenced as long as its pointers are used
# The buffers queued work uses, kept until `settle` (truthy exactly while work may be in flight).
in_flight: list[Any] = []


@cache
def _bind() -> Any:
    """The bound `_mmad` library, or None when the C path cannot be used here."""
    try:
        import ctypes  # opens the library without a C parser (cffi's ABI mode costs ~0.15 s at boot)

        import numpy  # noqa: F401  (loads the BLAS threadpoolctl looks for)
        from threadpoolctl import ThreadpoolController

        from firmware.hw.units import _mmad
    except ImportError:
        return None
    found = [lc for lc in ThreadpoolController().lib_controllers if lc.internal_api == "openblas"]
    found.sort(key=lambda lc: "numpy" not in lc.filepath)  # numpy's own first, should scipy's be loaded too
    if not found:
        return None
    lc = found[0]
    pre, suf = getattr(lc, "_symbol_prefix", ""), getattr(lc, "_symbol_suffix", "")
    names = {what: f"{pre}{what}{suf}" for what in ("cblas_sgemm", "openblas_set_num_threads",
                                                    "openblas_get_num_threads", "openblas_get_config")}
    try:
        lib = ctypes.CDLL(lc.filepath)
        get_config = getattr(lib, names["openblas_get_config"])
        get_config.restype = ctypes.c_char_p
        config = (get_config() or b"").decode()
        pointers = [ctypes.cast(getattr(lib, names[what]), ctypes.c_void_p).value
                    for what in ("cblas_sgemm", "openblas_set_num_threads", "openblas_get_num_threads")]
    except (OSError, AttributeError):
        return None
    _keep.append(lib)
    cast = _mmad.ffi.cast
    ok = _mmad.lib.mmad_bind(cast("void *", pointers[0]), int("USE64BITINT" in config),
                             cast("void *", pointers[1]), cast("void *", pointers[2]))
    return _mmad if ok else None


def kernel() -> Any:
    """The `_mmad` module to run mmads with, or None for numpy (unavailable or forced)."""
    return None if _state["forced"] == "numpy" else _bind()


def backend() -> str:
    """The cube's GEMM path in use: "openblas" (the C kernel) or "numpy"."""
    return "openblas" if kernel() is not None else "numpy"


def available_backends() -> list[str]:
    return (["openblas"] if _bind() is not None else []) + ["numpy"]


def select_backend(name: str) -> str:
    """Force a GEMM path (tests compare them); returns the previous one."""
    if name not in available_backends():
        raise ValueError(f"cube backend '{name}' is not available here")
    settle()
    previous = backend()
    _state["forced"] = "" if name == "openblas" else name
    return previous


def use_worker(want: bool) -> bool:
    """Queue device unit work on the worker thread (on by default) or run it on the caller's;
    returns the old setting. The bits are the same either way: the same copies and the same
    single-threaded BLAS calls, in the same order."""
    settle()
    previous = _state["worker"]
    _state["worker"] = bool(want)
    return previous


def submit(kern: Any, code: int, ptrs: list[Any], m: int, k: int, n: int, overwrite: bool, kchunk: int,
           split: int) -> bool:
    """Queue one mmad on the worker (`ptrs`: A, B and C as cffi buffers, kept until settled);
    False when it was not queued (worker off or unavailable) and the caller must run it now."""
    if not _state["worker"] or kern.lib.mmad_submit(code, *ptrs, m, k, n, int(overwrite), kchunk, split):
        return False
    in_flight.append(ptrs)
    return True


def pointer(data: Any, offset: int) -> tuple[Any, Any] | None:
    """A C pointer `offset` bytes into the buffer `data`, with the cffi object that keeps the
    buffer alive while the pointer is in use; None without the C kernel."""
    kern = kernel()
    if kern is None:
        return None
    base = kern.ffi.from_buffer(data, require_writable=True)
    return base, kern.ffi.cast("uint8_t *", base) + offset


def submit_copy(dst: tuple[Any, Any], src: tuple[Any, Any], rows: int, row_bytes: int, src_pitch: int,
                dst_pitch: int) -> bool:
    """Queue a plain 2-D copy on the worker (`dst`, `src` from `pointer`); False when it was
    not queued and the caller must copy now."""
    kern = kernel()
    if kern is None or not _state["worker"] or kern.lib.copy_submit(dst[1], src[1], rows, row_bytes,
                                                                   src_pitch, dst_pitch):
        return False
    in_flight.append((dst, src))
    return True


def settle() -> None:
    """Wait until every queued task has run (cheap when nothing is queued)."""
    if in_flight:
        queued = len(in_flight)  # (another thread's device may queue more meanwhile: those stay)
        _mmad_lib().worker_drain()
        del in_flight[:queued]


def _mmad_lib() -> Any:
    from firmware.hw.units import _mmad

    return _mmad.lib


def busy_flag_address() -> int | None:
    """The address of the worker's C flag that is nonzero while queued work is in flight (the
    core's fences wait on it), or None without the C kernel."""
    k = _bind()
    if k is None:
        return None
    return int(k.ffi.cast("intptr_t", k.ffi.addressof(k.lib, "worker_busy")))


def stats() -> dict[str, float]:
    """So far: mmads the kernel ran on the caller's thread (`run`), mmads and copies queued for
    the worker (`queued`, `copies`), seconds the worker spent on its tasks (`worker_s`) and
    seconds callers waited for it (`wait_s`: settling, or a full queue)."""
    k = _bind()
    if k is None:
        return {"run": 0, "queued": 0, "copies": 0, "worker_s": 0.0, "wait_s": 0.0}
    out = k.ffi.new("long[5]")
    k.lib.mmad_stats(out)
    return {"run": out[0], "queued": out[1], "copies": out[2], "worker_s": out[3] / 1e9,
            "wait_s": out[4] / 1e9}
