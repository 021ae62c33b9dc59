"""fp16 conversion: every backend against numpy, bit for bit (subnormals, infinities, NaN payloads)."""

from __future__ import annotations

import numpy as np
import pytest

from firmware.hw.units import convert


@pytest.fixture(params=convert.available_backends())
def backend(request):
    previous = convert.select_backend(request.param)
    yield request.param
    convert.select_backend(previous)


def test_compiled_module_is_built():
    assert convert.backend() in ("f16c", "portable")
    assert "portable" in convert.available_backends()


def test_every_fp16_widens_like_numpy(backend):
    bits = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    want = bits.view(np.float16).astype(np.float32).view(np.uint32)
    got = convert.f16_to_f32(bits).view(np.uint32)
    assert np.array_equal(got, want)


def _f32_cases() -> np.ndarray:
    rng = np.random.default_rng(7)
    specials = np.array([0, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001,
                         0x7FA00000, 0x7F801FFF, 0xFF802000, 0x00000001, 0x007FFFFF, 0x33000000,
                         0x33000001, 0x337FFFFF, 0x33800000, 0x387FC000, 0x38800000, 0x477FE000,
                         0x477FEFFF, 0x477FF000, 0x47800000, 0xC77FF000], np.uint32)
    # every fp16 value and the exact halfway points between neighbours (ties to even)
    halves = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)
    up = halves.view(np.uint32)
    ties = np.concatenate([up + 0x1000, up - 0x1000, up + 0xFFF, up + 0x1001]).astype(np.uint32)
    subnormal_ties = np.arange(0x33000000, 0x38800000, 0x800, dtype=np.uint32)
    return np.concatenate([specials, up, ties, subnormal_ties,
                           rng.integers(0, 1 << 32, 200_000, dtype=np.uint64).astype(np.uint32)])


def test_fp32_narrows_like_numpy(backend):
    bits = _f32_cases()
    with np.errstate(over="ignore", invalid="ignore"):
        want = bits.view(np.float32).astype(np.float16).view(np.uint16)
    got = convert.f32_to_f16(bits.view(np.float32)).view(np.uint16)
    bad = np.nonzero(got != want)[0]
    assert bad.size == 0, [(hex(bits[i]), hex(got[i]), hex(want[i])) for i in bad[:5]]


def test_nan_policy_keeps_payload_and_sign(backend):
    # a signaling fp16 NaN stays signaling; a payload lost in narrowing becomes 1
    assert convert.f16_to_f32(np.array([0xFC01], np.uint16)).view(np.uint32)[0] == 0xFF802000
    narrowed = convert.f32_to_f16(np.array([0x7F800001, 0xFFC00000], np.uint32).view(np.float32))
    assert narrowed.view(np.uint16).tolist() == [0x7C01, 0xFE00]


def test_out_parameter_and_shape(backend):
    src = np.arange(24, dtype=np.float16).reshape(4, 6)
    out = np.empty((4, 6), np.float32)
    assert convert.f16_to_f32(src, out=out) is out
    assert np.array_equal(out, src.astype(np.float32))
    assert convert.f32_to_f16(out).shape == (4, 6)
    with pytest.raises(ValueError, match="contiguous float32"):
        convert.f16_to_f32(src, out=np.empty(5, np.float32))


def test_int8_and_int4_widen_exactly():
    values = np.arange(-128, 128, dtype=np.int8)
    assert np.array_equal(convert.i8_to_f32(values), values.astype(np.float32))
    packed = np.arange(256, dtype=np.uint16).astype(np.uint8).reshape(16, 16)
    unpacked = convert.unpack_i4(packed)
    assert unpacked.shape == (16, 32)
    assert unpacked[0x8F // 16, 2 * (0x8F % 16)] == -1 and unpacked[0x8F // 16, 2 * (0x8F % 16) + 1] == -8
    assert unpacked.min() == -8 and unpacked.max() == 7
    assert np.array_equal(convert.i4_to_f32(packed), unpacked.astype(np.float32))
