"""A convolution as firmware runs it on the units: DMA + im2col, the cube, the vector unit, DMA out."""

from __future__ import annotations

import struct

import numpy as np

from firmware.hw.units import cube, dma, vector
from firmware.hw.units.descriptor import encode
from firmware.hw.units.plan import reset_cfg


def issue_dma(mem, pipe: str, **fields) -> None:
    dtcm = mem.base["dtcm"]
    mem.put(dtcm, np.frombuffer(encode(**fields), np.uint8))
    dma.plan_at(dtcm, pipe, mem.memory).execute()


def test_int8_conv_then_quantize(mem, direct_conv):
    rng = np.random.default_rng(11)
    c, h, w, o, k, stride, pad = 3, 9, 8, 5, 3, 2, 1
    x = rng.integers(-128, 128, (c, h, w), dtype=np.int8)
    wt = rng.integers(-128, 128, (o, c, k, k), dtype=np.int8)
    ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    m_, k_ = ho * wo, c * k * k
    hbm, l1, l0a, l0b, l0c, ub = (mem.base[n] for n in ("hbm", "l1", "l0a", "l0b", "l0c", "ub"))
    mem.put(hbm, x)
    mem.put(hbm + 4096, np.ascontiguousarray(wt.reshape(o, k_).T))  # B = K x O
    issue_dma(mem, "mte2", src=hbm, dst=l1, row_bytes=x.nbytes)
    issue_dma(mem, "mte2", src=l1, dst=l0a, row_bytes=w, rows=h, xform="im2col", esize=1,
              chan=c, kh=k, kw=k, stride=stride, pad=pad)
    issue_dma(mem, "mte2", src=hbm + 4096, dst=l0b, row_bytes=k_ * o)
    cfg = {**reset_cfg(), "mm_m": m_, "mm_k": k_, "mm_n": o, "mm_dtype": 1, "mm_flags": 1}
    cube.plan(l0c, l0a, l0b, cfg, mem.memory).execute()
    issue_dma(mem, "mte3", src=l0c, dst=ub, row_bytes=m_ * o * 4)
    scale = np.float32(37.5)
    cfg = {**reset_cfg(), "v_len": m_ * o, "v_scale": struct.unpack("<I", struct.pack("<f", scale))[0],
           "v_zero": 4}
    vector.plan("npu.vcvt.f32.i32", ub, ub, 0, cfg, mem.memory).execute()
    vector.plan("npu.vquant", ub + 0x10000, ub, 0, cfg, mem.memory).execute()
    issue_dma(mem, "mte3", src=ub + 0x10000, dst=hbm + 0x10000, row_bytes=m_ * o)

    conv = direct_conv(x.astype(np.int64), wt.astype(np.int64), stride, pad)  # O x Ho x Wo
    assert np.array_equal(mem.get(ub, np.float32, (m_, o)), conv.reshape(o, m_).T.astype(np.float32))
    want = np.clip(np.rint(conv.reshape(o, m_).T.astype(np.float32) / scale) + 4, -128, 127).astype(np.int8)
    assert np.array_equal(mem.get(hbm + 0x10000, np.int8, (m_, o)), want)
