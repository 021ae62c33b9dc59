"""The cube's C tile kernel (`_mmad`, mmad.c) bound to numpy's own OpenBLAS, and its worker.

threadpoolctl finds the OpenBLAS numpy loaded (its path and symbol prefix/suffix); ctypes
opens that same library and hands the kernel raw pointers to `cblas_sgemm`
and the thread-count functions. Sharing numpy's library (rather than another BLAS) means
one set of kernels, so the C path and the numpy path give the same bits. Without the
compiled module, another BLAS (MKL, BLIS) or a missing symbol, `kernel()` is None and the
cube does the same arithmetic through numpy.

The worker: `submit` queues an mmad for the kernel's worker thread (inputs copied at the
call) and returns, so the device model goes on while the host's second core multiplies.
Until `settle()` has run, the queued mmads' C tiles may still be changing: the device
settles before anything else reads or writes them (see `Device`, `PipeFront.retire` and the
core's fence on L0C). The arrays the queued work writes into are kept referenced here until
then, so their memory cannot be freed under the worker.
"""

from __future__ import annotations

from functools import cache
from typing import Any

BACKENDS = ("openblas", "numpy")
_state = {"forced": "", "worker": True}
_keep: list[Any] = []  # the opened BLAS stays referenced as long as its pointers are used
# What queued work writes into, until `settle` (truthy exactly while work may be in flight).
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
    """Queue mmads on the worker thread (on by default) or run them on the caller's; returns the old
    setting. The bits are the same either way: each job is the same single-threaded BLAS calls."""
    settle()
    previous = _state["worker"]
    _state["worker"] = bool(want)
    return previous


def submit(kern: Any, code: int, ptrs: list[Any], m: int, k: int, n: int, overwrite: bool, kchunk: int,
           split: int, target: Any) -> bool:
    """Queue one mmad on the worker (`target` is the array it writes); False when it was not
    queued (worker off or unavailable) and the caller must run it now."""
    if not _state["worker"]:
        return False
    if kern.lib.mmad_submit(code, *ptrs, m, k, n, int(overwrite), kchunk, split) != 0:
        return False
    in_flight.append(target)
    return True


def settle() -> None:
    """Wait until every queued mmad has written its C tile (cheap when nothing is queued)."""
    if in_flight:
        queued = len(in_flight)  # (another thread's device may queue more meanwhile: those stay)
        _mmad_lib().mmad_drain()
        del in_flight[:queued]


def _mmad_lib() -> Any:
    from firmware.hw.units import _mmad

    return _mmad.lib


def busy_flag_address() -> int | None:
    """The address of the kernel's C flag that is nonzero while queued work is in flight (the core's
    fence waits on it), or None without the C kernel."""
    k = _bind()
    if k is None:
        return None
    return int(k.ffi.cast("intptr_t", k.ffi.addressof(k.lib, "mmad_busy")))


def stats() -> dict[str, float]:
    """So far: mmads the kernel ran on the caller's thread (`run`) and queued for the worker
    (`queued`), seconds the worker spent on them (`worker_s`) and seconds callers waited for it
    (`wait_s`: settling, or a full queue)."""
    k = _bind()
    if k is None:
        return {"run": 0, "queued": 0, "worker_s": 0.0, "wait_s": 0.0}
    out = k.ffi.new("long[4]")
    k.lib.mmad_stats(out)
    return {"run": out[0], "queued": out[1], "worker_s": out[2] / 1e9, "wait_s": out[3] / 1e9}
