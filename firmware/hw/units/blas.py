"""The cube's C tile kernel (`_mmad`, mmad.c) bound to numpy's own OpenBLAS.

threadpoolctl finds the OpenBLAS numpy loaded (its path and symbol prefix/suffix); ctypes
opens that same library and hands the kernel raw pointers to `cblas_sgemm`
and the thread-count functions. Sharing numpy's library (rather than another BLAS) means
one set of kernels, so the C path and the numpy path give the same bits. Without the
compiled module, another BLAS (MKL, BLIS) or a missing symbol, `kernel()` is None and the
cube does the same arithmetic through numpy.
"""

from __future__ import annotations

from functools import cache
from typing import Any

BACKENDS = ("openblas", "numpy")
_state = {"forced": ""}
_keep: list[Any] = []  # the opened BLAS stays referenced as long as its pointers are used


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
    previous = backend()
    _state["forced"] = "" if name == "openblas" else name
    return previous


def use_helper_thread(want: bool) -> bool:
    """Let a helper thread take a tile's second row part (off by default: see mmad.c); returns the old one."""
    k = _bind()
    return bool(k.lib.mmad_helper(int(want))) if k is not None else False


def helper_stats() -> dict[str, int]:
    """Row parts run by the kernel, how many the helper thread ran, and how often it backed off."""
    k = _bind()
    if k is None:
        return {"parts": 0, "helper_parts": 0, "backoffs": 0}
    out = k.ffi.new("long[3]")
    k.lib.mmad_stats(out)
    return {"parts": out[0], "helper_parts": out[1], "backoffs": out[2]}
