"""The vector unit: `npu.v*` elementwise instructions on UB, one numpy pass per instruction.

`op` is the instruction's mnemonic (`npu.vadd`) or table key (`npu_vadd`). Element
counts and types come from the cfg registers sampled at issue (v_len, v_dtype, v_chan,
v_scale, v_zero). Rules the numpy reference is checked against:
- add/sub/mul/max/min/relu: fp32, fp16 (computed in fp32 and rounded to nearest even,
  which is exactly what fp16 arithmetic gives), or int32 (wrap-around). max/min/relu
  propagate NaN (numpy's maximum/minimum). A NaN result's sign and payload are not
  specified (IEEE 754 leaves them open; numpy's fp16 loops differ from its fp32 ones).
- scalebias (fp32): x[c, i] * scale[c] + bias[c], two roundings (no fused multiply-add).
- casts: fp16 <-> fp32 (see convert.py), int32 -> fp32 round to nearest even.
- quant: int8 = saturate(round_half_even(x / v_scale) + v_zero) with x / v_scale in
  fp32; +inf saturates to 127, -inf to -128, NaN becomes v_zero (as if x were 0).
- dequant: fp32 = (q - v_zero) * v_scale, one rounding.
v_scale must be a positive finite fp32 and v_zero fit in int8 (else vec_bad_operand).
Operands overlapping the result are read before the result is written.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping

import numpy as np

from firmware.hw.units import convert, costs
from firmware.hw.units.faults import DeviceFault
from firmware.hw.units.memory import DeviceMemory
from firmware.hw.units.plan import Plan, signed32

V_DTYPES: dict[int, type] = {0: np.float32, 1: np.float16, 2: np.int32}
BINARY: dict[str, np.ufunc] = {
    "npu_vadd": np.add, "npu_vsub": np.subtract, "npu_vmul": np.multiply,
    "npu_vmax": np.maximum, "npu_vmin": np.minimum,
}
# op -> (input dtype, output dtype) for the instructions whose types are fixed
FIXED: dict[str, tuple[type, type]] = {
    "npu_vscalebias": (np.float32, np.float32),
    "npu_vcvt_f32_f16": (np.float16, np.float32),
    "npu_vcvt_f16_f32": (np.float32, np.float16),
    "npu_vcvt_f32_i32": (np.int32, np.float32),
    "npu_vquant": (np.float32, np.int8),
    "npu_vdequant": (np.int8, np.float32),
}
OPS = (*BINARY, "npu_vrelu", *FIXED)


def plan(op: str, rd: int, rs1: int, rs2: int, cfg: Mapping[str, int], memory: DeviceMemory) -> Plan:
    """Validate a vector instruction against the sampled cfg registers and return its plan."""
    key = op.replace(".", "_")
    if key not in OPS:
        raise ValueError(f"not a vector instruction: {op}")
    n = cfg["v_len"]
    if n <= 0:
        raise DeviceFault("vec_bad_length", None, f"v_len = {n}: must be at least 1")
    if key in FIXED:
        in_t, out_t = FIXED[key]
    else:
        code = cfg["v_dtype"]
        if code not in V_DTYPES:
            raise DeviceFault("vec_bad_dtype", None, f"v_dtype {code} is not one of {sorted(V_DTYPES)}")
        in_t = out_t = V_DTYPES[code]
    widest = max(np.dtype(in_t).itemsize, np.dtype(out_t).itemsize)
    ub = memory.by_name.get("ub")
    if ub is not None and n * widest > ub.size:
        raise DeviceFault("vec_bad_length", None,
                          f"v_len = {n}: {n * widest} bytes do not fit in ub ({ub.size})")

    def operand(addr: int, dtype: type, count: int, what: str) -> np.ndarray:
        return memory.as_array(addr, dtype, (count,), "vec_bad_operand", "ub", what)

    x = operand(rs1, in_t, n, "rs1")
    out = operand(rd, out_t, n, "rd")
    reads = [(rs1, x.nbytes)]
    if key in BINARY:
        y = operand(rs2, in_t, n, "rs2")
        reads.append((rs2, y.nbytes))
        run = _binary(BINARY[key], x, y, out)
    elif key == "npu_vrelu":
        run = _binary(np.maximum, x, np.zeros(1, in_t), out)
    elif key == "npu_vscalebias":
        chan = cfg["v_chan"]
        if chan <= 0 or n % chan:
            raise DeviceFault("vec_bad_length", None,
                              f"v_len {n} is not a whole number of v_chan {chan} channels")
        params = operand(rs2, np.float32, 2 * chan, "rs2")
        reads.append((rs2, params.nbytes))
        run = _scalebias(x.reshape(chan, n // chan), params, out.reshape(chan, n // chan))
    elif key in ("npu_vquant", "npu_vdequant"):
        scale, zero = _quant_params(cfg)
        run = (_quant if key == "npu_vquant" else _dequant)(x, out, scale, zero)
    else:
        run = _cast(key, x, out)
    return Plan(reads, [(rd, out.nbytes)], costs.vector_cycles(n, widest), run,
                what=f"{key.replace('_', '.')} {n} x {np.dtype(in_t).name}")


def _quant_params(cfg: Mapping[str, int]) -> tuple[np.float32, int]:
    bits = cfg["v_scale"] & 0xFFFFFFFF
    scale = np.float32(struct.unpack("<f", struct.pack("<I", bits))[0])
    if not (np.isfinite(scale) and scale > 0):
        raise DeviceFault("vec_bad_operand", None,
                          f"v_scale {bits:#010x} ({scale}) is not a positive finite fp32")
    zero = signed32(cfg["v_zero"])
    if not -128 <= zero <= 127:
        raise DeviceFault("vec_bad_operand", None, f"v_zero {zero} does not fit in int8")
    return scale, zero


def _binary(fn: np.ufunc, x: np.ndarray, y: np.ndarray, out: np.ndarray) -> Callable[[], None]:
    if x.dtype != np.float16 or fn in (np.maximum, np.minimum):  # max/min: numpy's own signed-zero rule
        def run() -> None:
            fn(x, y, out=out)
        return run

    def run16() -> None:  # numpy's own fp16 loops compute in fp32 and round; do it in bulk
        xf = convert.f16_to_f32(x)
        yf = convert.f16_to_f32(y) if y.size == x.size else y.astype(np.float32)
        fn(xf, yf, out=xf)
        convert.f32_to_f16(xf, out=out)
    return run16


def _scalebias(x: np.ndarray, params: np.ndarray, out: np.ndarray) -> Callable[[], None]:
    chan = x.shape[0]

    def run() -> None:
        p = params.copy()  # the result may overwrite the parameters
        scale, bias = p[:chan, None], p[chan:, None]
        np.multiply(x, scale, out=out)  # numpy buffers x when it overlaps out
        np.add(out, bias, out=out)
    return run


def _quant(x: np.ndarray, out: np.ndarray, scale: np.float32, zero: int) -> Callable[[], None]:
    def run() -> None:
        t = np.divide(x, scale, dtype=np.float32)
        np.rint(t, out=t)
        np.copyto(t, 0, where=np.isnan(t))
        t += np.float32(zero)
        np.clip(t, -128, 127, out=t)
        np.copyto(out, t, casting="unsafe")
    return run


def _dequant(x: np.ndarray, out: np.ndarray, scale: np.float32, zero: int) -> Callable[[], None]:
    def run() -> None:
        t = np.subtract(x, np.float32(zero), dtype=np.float32)  # exact: |q - zero| <= 255
        np.multiply(t, scale, out=out)
    return run


def _cast(key: str, x: np.ndarray, out: np.ndarray) -> Callable[[], None]:
    def run() -> None:
        if key == "npu_vcvt_f32_i32":
            result = x.astype(np.float32)
        elif key == "npu_vcvt_f32_f16":
            result = convert.f16_to_f32(x)
        else:
            result = convert.f32_to_f16(x)
        np.copyto(out, result)
    return run
