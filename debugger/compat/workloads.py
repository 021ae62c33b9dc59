"""The workload suite one matrix cell runs on an opened device, each compared with numpy.

A workload names the driver ops it uses (`driver/releases.toml` op names), so a
cell can tell, before running it, whether the driver release has those ops and
whether the verdict declares them unavailable (degraded: the op must then raise
`FeatureMissing` before submitting, which is the declared behaviour). Inputs come
from a generator seeded per workload, so every run sees the same data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FP16_RTOL = 1e-2  # fp16 inputs, fp32 accumulation: relative to the largest reference value
ERROR_STATUSES = ("BAD_SIZE", "BAD_ADDRESS")  # what the malformed descriptors must complete with


@dataclass
class Mismatch:
    """A result that differs from numpy: where, and a few expected/actual values."""

    what: str
    detail: str
    expected: list[Any] = field(default_factory=list)
    actual: list[Any] = field(default_factory=list)


def _compare(what: str, actual: np.ndarray, expected: np.ndarray, exact: bool) -> Mismatch | None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        return Mismatch(what, f"shape {actual.shape}, expected {expected.shape}")
    if exact:
        bad = actual != expected
    else:
        scale = max(float(np.abs(expected).max(initial=0.0)), 1.0)
        bad = np.abs(actual.astype(np.float64) - expected.astype(np.float64)) > FP16_RTOL * scale
    if not bad.any():
        return None
    flat = np.flatnonzero(bad.reshape(-1))
    first = [int(i) for i in flat[:4]]
    return Mismatch(what, f"{len(flat)} of {bad.size} elements differ, first at flat index {first[0]}",
                    [expected.reshape(-1)[i].item() for i in first],
                    [actual.reshape(-1)[i].item() for i in first])


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(sum(map(ord, name)))


def matmul_fp16(dev: Any) -> list[Mismatch]:
    rng = _rng("matmul_fp16")
    a = rng.standard_normal((40, 56)).astype(np.float16)
    b = rng.standard_normal((56, 24)).astype(np.float16)
    ref = a.astype(np.float32) @ b.astype(np.float32)
    return [m for m in [_compare("matmul fp16 40×56×24", dev.matmul(a, b), ref, exact=False)] if m]


def matmul_int8(dev: Any) -> list[Mismatch]:
    rng = _rng("matmul_int8")
    a = rng.integers(-128, 128, (33, 40), dtype=np.int8)
    b = rng.integers(-128, 128, (40, 17), dtype=np.int8)
    bias = rng.integers(-1000, 1000, 17, dtype=np.int32)
    ref = a.astype(np.int32) @ b.astype(np.int32) + bias
    found = _compare("matmul int8 33×40×17 + bias", dev.matmul(a, b, bias), ref, exact=True)
    return [found] if found else []


def conv2d_fused(dev: Any) -> list[Mismatch]:
    rng = _rng("conv2d_fused")
    x = rng.standard_normal((1, 3, 10, 9)).astype(np.float16)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float16)
    bias = rng.standard_normal(4).astype(np.float32)
    out = dev.conv2d(x, w, bias, relu=True, stride=1, padding=1)
    xp = np.pad(x.astype(np.float32), ((0, 0), (0, 0), (1, 1), (1, 1)))
    oh, ow = xp.shape[2] - 2, xp.shape[3] - 2
    ref = np.zeros((1, 4, oh, ow), np.float32)
    for i in range(3):
        for j in range(3):
            patch = xp[:, :, i:i + oh, j:j + ow]
            ref += np.einsum("nchw,kc->nkhw", patch, w[:, :, i, j].astype(np.float32))
    ref = np.maximum(ref + bias[None, :, None, None], 0)
    return [m for m in [_compare("conv2d 3→4 3×3 pad 1 + bias + relu", out, ref, exact=False)] if m]


def eltwise(dev: Any) -> list[Mismatch]:
    """add and max over 37 elements: not a multiple of 16, the case known defects are about."""
    a = (np.arange(37, dtype=np.float32) + 0.5)
    b = a[::-1].copy()
    found = [_compare("eltwise add fp32 ×37", dev.add(a, b), a + b, exact=True),
             _compare("eltwise max fp32 ×37", dev.maximum(a, b), np.maximum(a, b), exact=True)]
    return [m for m in found if m]


def quantize_roundtrip(dev: Any) -> list[Mismatch]:
    rng = _rng("quantize")
    x = (rng.standard_normal(100) * 4).astype(np.float32)
    scale, zp = 0.05, 3
    ref_q = np.clip(np.rint(x / np.float32(scale)) + zp, -128, 127).astype(np.int8)
    q = dev.quantize(x, scale, zp)
    found = [_compare("quantize fp32 → int8 ×100", q, ref_q, exact=True)]
    back = dev.dequantize(ref_q, scale, zp)
    ref_back = (ref_q.astype(np.float32) - zp) * np.float32(scale)
    found.append(_compare("dequantize int8 → fp32 ×100", back, ref_back, exact=False))
    return [m for m in found if m]


def error_handling(dev: Any) -> list[Mismatch]:
    """Malformed descriptors complete with an error status; the device serves the next command."""
    from driver.errors import CommandFailed

    found = []
    probes = (("BAD_SIZE", "MATMUL", {"a": 0, "b": 0, "c": 0, "m": 0, "n": 0, "k": 0, "dtype": "fp16"}),
              ("BAD_ADDRESS", "ELTWISE", {"a": 0, "b": 0, "out": 0, "count": 16, "op": "add",
                                          "dtype": "fp32"}))
    for want, opcode, fields in probes:
        try:
            got = dev.submit(opcode, **fields).wait().status
        except CommandFailed as exc:
            got = exc.status
        if got != want:
            found.append(Mismatch(f"malformed {opcode} descriptor", "wrong completion status", [want], [got]))
    status = dev.nop().status
    if status != "OK":
        found.append(Mismatch("NOP after the malformed descriptors", "device did not recover", ["OK"],
                              [status]))
    return found


@dataclass(frozen=True)
class Workload:
    name: str
    ops: tuple[str, ...]  # driver ops it uses (driver/releases.toml)
    run: Callable[[Any], list[Mismatch]]
    desc: str


WORKLOADS: tuple[Workload, ...] = (
    Workload("matmul_fp16", ("matmul",), matmul_fp16, "fp16 matmul, fp32 result"),
    Workload("matmul_int8", ("matmul_int8",), matmul_int8, "int8 matmul with bias, int32 result"),
    Workload("conv2d_fused", ("conv2d_fused",), conv2d_fused, "conv2d with fused bias and ReLU"),
    Workload("eltwise", ("eltwise",), eltwise, "elementwise add and max, 37 elements"),
    Workload("quantize_roundtrip", ("quantize", "dequantize"), quantize_roundtrip, "quantize, dequantize"),
    Workload("error_handling", ("nop",), error_handling, "malformed descriptors rejected cleanly"),
)
NAMES = tuple(w.name for w in WORKLOADS)
SMOKE = "matmul_fp16"  # the live check's smoke workload


def select(names: list[str] | None) -> tuple[Workload, ...]:
    """The workloads named (all by default), in suite order; raises NpuError for an unknown name."""
    from isa.errors import NpuError

    if not names:
        return WORKLOADS
    unknown = sorted(set(names) - set(NAMES))
    if unknown:
        raise NpuError(f"unknown workload {', '.join(unknown)} (workloads: {', '.join(NAMES)})")
    return tuple(w for w in WORKLOADS if w.name in names)
