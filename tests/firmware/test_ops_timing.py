"""Modeled time: double buffering overlaps DMA and cube; the Conv+BN+ReLU fusion saves commands."""

from __future__ import annotations

import numpy as np
from opsharness import SMALL, run_ok, serving
from test_ops_conv2d import case, run_conv
from test_ops_matmul import fp16_case, run_matmul


def test_double_buffered_matmul_is_faster_than_the_serial_build() -> None:
    a, b, bias = fp16_case(64, 96, 64, 11)  # 4 x 2 C tiles of 6 K slices
    overlapped, t_db = run_matmul("1.3.0", a, b, bias, ["bias", "relu"], **SMALL)
    serial, t_serial = run_matmul("1.3.0", a, b, bias, ["bias", "relu"], DOUBLE_BUFFER=0, **SMALL)
    np.testing.assert_array_equal(overlapped, serial)  # same tiles, same order: same bits
    assert t_db < 0.8 * t_serial, (t_db, t_serial)


def test_fused_conv_is_faster_than_conv_and_separate_commands() -> None:
    x, w, bias, bn = case(2, 4, 16, 16, 8, 3, 3, 2)
    fused, t_fused = run_conv("1.3.0", x, w, bias, bn, 1, 1, "nchw", ["bias", "bn", "relu"])
    conv, t_conv = run_conv("1.3.0", x, w, bias, bn, 1, 1, "nchw", [])
    fw = serving("1.3.0")
    shape = conv.shape
    k = shape[1]

    def per_channel(v: np.ndarray) -> int:
        return fw.put(np.broadcast_to(v[None, :, None, None], shape).astype(np.float32))

    y = fw.put(conv)
    count = conv.size
    t_sep = t_conv
    for op, operand in (("add", bias), ("mul", bn[:k]), ("add", bn[k:])):
        t_sep += run_ok(fw, "ELTWISE", a=y, b=per_channel(operand), out=y, count=count, op=op, dtype="fp32")
    t_sep += run_ok(fw, "ELTWISE", a=y, b=y, out=y, count=count, op="relu", dtype="fp32")
    np.testing.assert_allclose(fw.get(y, np.float32, shape), fused, rtol=1e-6, atol=1e-6)
    assert t_fused < t_sep, (t_fused, t_sep)


def test_double_buffered_stream_is_faster_than_the_serial_build() -> None:
    """ELTWISE through UB in 64-element chunks: the next chunk's DMA overlaps this chunk's work."""
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal(4000).astype(np.float32), rng.standard_normal(4000).astype(np.float32)
    cycles = []
    for defines in (SMALL, {**SMALL, "DOUBLE_BUFFER": 0}):
        fw = serving("1.3.0", **defines)
        out = fw.alloc(a.nbytes)
        cycles.append(run_ok(fw, "ELTWISE", a=fw.put(a), b=fw.put(b), out=out, count=a.size, op="mul",
                             dtype="fp32"))
        np.testing.assert_array_equal(fw.get(out, np.float32, a.size), a * b)
    assert cycles[0] < 0.8 * cycles[1], cycles
