"""Element conversions the units do in bulk: fp16 <-> fp32, int8/int4 -> fp32.

The C module `_fp16` (fp16.c, built by fp16_build.py) gives numpy's exact results at a
fraction of numpy's cost (F16C on x86 when the CPU has it, chosen at run time, else a
portable loop); without the compiled module numpy's own `astype` is used. NaN policy:
the sign and the top payload bits are kept and a signaling NaN stays signaling, exactly
as numpy converts; a payload that would vanish in fp16 becomes 1, so a NaN stays a NaN.
"""

from __future__ import annotations

import numpy as np

try:
    from firmware.hw.units import _fp16
except ImportError:  # not built (no compiler): numpy does the work
    _fp16 = None

BACKENDS = ("f16c", "portable", "numpy")
_state = {"backend": "numpy" if _fp16 is None else ("f16c" if _fp16.lib.fp16_backend() else "portable")}


def backend() -> str:
    """The conversion path in use: "f16c", "portable" (C without F16C) or "numpy"."""
    return _state["backend"]


def available_backends() -> list[str]:
    if _fp16 is None:
        return ["numpy"]
    has_f16c = _fp16.lib.fp16_select(1) == 1
    chosen = _state["backend"]
    _fp16.lib.fp16_select(1 if chosen == "f16c" else 0)
    return (["f16c"] if has_f16c else []) + ["portable", "numpy"]


def select_backend(name: str) -> str:
    """Force a conversion path (tests compare them); returns the previous one."""
    if name not in available_backends():
        raise ValueError(f"conversion backend '{name}' is not available here")
    previous = _state["backend"]
    if _fp16 is not None:
        _fp16.lib.fp16_select(1 if name == "f16c" else 0)
    _state["backend"] = name
    return previous


def _out(src: np.ndarray, out: np.ndarray | None, dtype: type, count: int) -> np.ndarray:
    if out is None:
        return np.empty(count, dtype)
    if out.dtype != dtype or out.size != count or not out.flags.c_contiguous:
        raise ValueError(f"out must be a contiguous {np.dtype(dtype).name} array of {count} elements")
    return out


def _call(fn_name: str, src: np.ndarray, dst: np.ndarray, n: int) -> None:
    ffi = _fp16.ffi
    getattr(_fp16.lib, fn_name)(ffi.from_buffer(src), ffi.from_buffer(dst, require_writable=True), n)


def f16_to_f32(src: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """fp16 (float16 or uint16 bit patterns) -> float32, shaped like `src`."""
    src = np.ascontiguousarray(src)
    dst = _out(src, None if out is None else out.reshape(-1), np.float32, src.size)
    if _state["backend"] == "numpy":
        np.copyto(dst, src.reshape(-1).view(np.float16), casting="unsafe")
    else:
        _call("fp16_to_f32", src, dst, src.size)
    return dst.reshape(src.shape) if out is None else out


def f32_to_f16(src: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """float32 -> float16, round to nearest even, shaped like `src`."""
    src = np.ascontiguousarray(src, dtype=np.float32)
    dst = _out(src, None if out is None else out.reshape(-1).view(np.float16), np.float16, src.size)
    if _state["backend"] == "numpy":
        with np.errstate(over="ignore", invalid="ignore"):
            np.copyto(dst, src.reshape(-1), casting="unsafe")
    else:
        _call("f32_to_fp16", src, dst, src.size)
    return dst.reshape(src.shape) if out is None else out


def i8_to_f32(src: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """int8 -> float32 (exact), shaped like `src`."""
    src = np.ascontiguousarray(src)
    dst = _out(src, None if out is None else out.reshape(-1), np.float32, src.size)
    if _fp16 is None:
        np.copyto(dst, src.reshape(-1).view(np.int8), casting="unsafe")
    else:
        _call("i8_to_f32", src, dst, src.size)
    return dst.reshape(src.shape) if out is None else out


def i4_to_f32(packed: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Packed int4 (two per byte, low nibble first, two's complement) -> float32, 2 values per byte."""
    packed = np.ascontiguousarray(packed).view(np.uint8)
    count = 2 * packed.size
    dst = _out(packed, None if out is None else out.reshape(-1), np.float32, count)
    if _fp16 is None:
        signed = packed.reshape(-1).view(np.int8)
        dst[0::2] = (signed << 4) >> 4
        dst[1::2] = signed >> 4
    else:
        _call("i4_to_f32", packed, dst, packed.size)
    shape = (*packed.shape[:-1], packed.shape[-1] * 2) if packed.ndim else (2,)
    return dst.reshape(shape) if out is None else out


def unpack_i4(packed: np.ndarray) -> np.ndarray:
    """Packed int4 -> int8 values (the reference the cube's int4 path is tested against)."""
    signed = np.ascontiguousarray(packed).view(np.int8)
    lo = (signed << 4) >> 4
    hi = signed >> 4
    return np.stack([lo, hi], axis=-1).reshape(*signed.shape[:-1], signed.shape[-1] * 2)
