"""Runtime ops against numpy on random small shapes, in both ABI generations; argument errors
raised before anything is submitted."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import driver
from driver.bus import BusAccess
from driver.memory import NotOwner
from driver.ops import BadArgument

# One device per ABI generation for the whole module: ops do not disturb each other.
GENERATIONS = {1: "1.3.0", 2: "2.1.0"}
_open: dict[int, driver.Device] = {}


def device(gen: int) -> driver.Device:
    if gen not in _open:
        _open[gen] = driver.open(GENERATIONS[gen], release=GENERATIONS[gen])
    return _open[gen]


def teardown_module() -> None:
    for dev in _open.values():
        dev.close()


GEN = st.sampled_from([1, 2])
DIM = st.integers(1, 40)
SEED = st.integers(0, 2**32 - 1)


def fp32_route(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a.astype(np.float32) @ b.astype(np.float32)


def assert_fp32_sum_close(got: np.ndarray, a: np.ndarray, b: np.ndarray, ref: np.ndarray) -> None:
    """fp32 accumulation in another order: within 1e-5 of the sum of |products| (plus fp32 rounding)."""
    scale = np.abs(a.astype(np.float32)) @ np.abs(b.astype(np.float32))
    assert np.all(np.abs(got - ref) <= 1e-5 * scale + 1e-6)


@settings(max_examples=12)
@given(gen=GEN, m=DIM, k=DIM, n=DIM, seed=SEED, with_bias=st.booleans(), relu=st.booleans())
def test_matmul_fp16(gen: int, m: int, k: int, n: int, seed: int, with_bias: bool, relu: bool) -> None:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(np.float16)
    b = rng.standard_normal((k, n)).astype(np.float16)
    bias = rng.standard_normal(n).astype(np.float32) if with_bias else None
    got = device(gen).matmul(a, b, bias, relu)
    ref = fp32_route(a, b) + (bias if bias is not None else 0)
    ref = np.maximum(ref, 0) if relu else ref
    assert got.shape == (m, n) and got.dtype == np.float32 and got.flags.writeable
    assert_fp32_sum_close(got, a, b, ref)


@settings(max_examples=12)
@given(gen=GEN, m=DIM, k=DIM, n=DIM, seed=SEED, relu=st.booleans(), requant=st.booleans())
def test_matmul_int8_is_exact(gen: int, m: int, k: int, n: int, seed: int, relu: bool, requant: bool) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, (m, k), dtype=np.int8)
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    bias = rng.integers(-5000, 5000, n, dtype=np.int32)
    acc = a.astype(np.int32) @ b.astype(np.int32) + bias
    acc = np.maximum(acc, 0) if relu else acc
    if requant:
        got = device(gen).matmul(a, b, bias, relu, scale=0.02, zero_point=-3)
        # The product is an fp32 one (the vector unit's), rounded half to even.
        ref = np.clip(np.rint(acc.astype(np.float32) * np.float32(0.02)) - 3, -128, 127).astype(np.int8)
    else:
        got, ref = device(gen).matmul(a, b, bias, relu), acc
    np.testing.assert_array_equal(got, ref)


def conv_reference(x: np.ndarray, w: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """NCHW convolution in fp32, one output pixel at a time (small shapes only)."""
    n, _, h, wd = x.shape
    k, _, kh, kw = w.shape
    xp = np.pad(x.astype(np.float32), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, k, oh, ow), np.float32)
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.einsum("nchw,kchw->nk", patch, w.astype(np.float32))
    return out


@settings(max_examples=10)
@given(gen=GEN, n=st.integers(1, 2), c=st.integers(1, 5), hw=st.tuples(st.integers(1, 9), st.integers(1, 9)),
       k=st.integers(1, 6), kernel=st.integers(1, 3), stride=st.integers(1, 3), pad=st.integers(0, 2),
       nhwc=st.booleans(), fused=st.booleans(), seed=SEED)
def test_conv2d(gen: int, n: int, c: int, hw: tuple[int, int], k: int, kernel: int, stride: int, pad: int,
                nhwc: bool, fused: bool, seed: int) -> None:
    h, wd = hw[0] + kernel - 1, hw[1] + kernel - 1
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, wd)).astype(np.float16)
    w = rng.standard_normal((k, c, kernel, kernel)).astype(np.float16)
    ref = conv_reference(x, w, stride, pad)
    bias = bn = None
    if fused:
        bias = rng.standard_normal(k).astype(np.float32)
        bn = (rng.standard_normal(k).astype(np.float32), rng.standard_normal(k).astype(np.float32))
        per_k = (slice(None), None, None)
        ref = np.maximum((ref + bias[per_k]) * bn[0][per_k] + bn[1][per_k], 0)
    arg = x.transpose(0, 2, 3, 1).copy() if nhwc else x
    got = device(gen).conv2d(arg, w, bias, bn, fused, stride=stride, padding=pad,
                             layout="nhwc" if nhwc else "nchw")
    if nhwc:
        got = got.transpose(0, 3, 1, 2)
    assert got.shape == ref.shape
    scale = np.abs(conv_reference(np.abs(x), np.abs(w), stride, pad))
    if fused:
        scale = scale * np.abs(bn[0])[:, None, None] + 1
    assert np.all(np.abs(got - ref) <= 1e-5 * scale + 1e-5)


ELT = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "maximum": np.maximum, "minimum": np.minimum}


@settings(max_examples=15)
@given(gen=GEN, count=st.integers(1, 3000), seed=SEED, op=st.sampled_from(sorted(ELT)),
       dtype=st.sampled_from([np.float16, np.float32, np.int32]))
def test_eltwise_binary(gen: int, count: int, seed: int, op: str, dtype: type) -> None:
    rng = np.random.default_rng(seed)
    if dtype is np.int32:
        a, b = (rng.integers(-2**31, 2**31, count, dtype=np.int64).astype(np.int32) for _ in range(2))
    else:
        a, b = (rng.standard_normal(count).astype(dtype) for _ in range(2))
    with np.errstate(over="ignore"):
        ref = ELT[op](a, b)
    np.testing.assert_array_equal(getattr(device(gen), op)(a, b), ref)


@settings(max_examples=8)
@given(gen=GEN, shape=st.tuples(DIM, DIM), seed=SEED)
def test_relu_and_scale_bias(gen: int, shape: tuple[int, int], seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    dev = device(gen)
    np.testing.assert_array_equal(dev.relu(x), np.maximum(x, 0))
    np.testing.assert_allclose(dev.scale_bias(x, 1.5, -0.25), x * np.float32(1.5) + np.float32(-0.25),
                               rtol=1e-6, atol=1e-6)


@settings(max_examples=10)
@given(gen=GEN, count=st.integers(1, 2000), seed=SEED, scale=st.floats(0.001, 2.0),
       zp=st.integers(-128, 127), half=st.booleans())
def test_quantize_round_trip_is_exact(gen: int, count: int, seed: int, scale: float, zp: int,
                                      half: bool) -> None:
    x = (np.random.default_rng(seed).standard_normal(count) * 50).astype(np.float16 if half else np.float32)
    dev = device(gen)
    q = dev.quantize(x, scale, zp)
    s32 = np.float32(scale)
    ref = np.clip(np.rint(x.astype(np.float32) / s32) + zp, -128, 127).astype(np.int8)
    np.testing.assert_array_equal(q, ref)
    np.testing.assert_array_equal(dev.dequantize(q, scale, zp), (q.astype(np.float32) - zp) * s32)


@settings(max_examples=8)
@given(gen=GEN, shape=st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 9), st.integers(1, 9)),
       seed=SEED, dtype=st.sampled_from([np.int8, np.float16, np.float32]))
def test_copy_with_layout_transforms(gen: int, shape: tuple[int, ...], seed: int, dtype: type) -> None:
    x = (np.random.default_rng(seed).standard_normal(shape) * 40).astype(dtype)
    dev = device(gen)
    np.testing.assert_array_equal(dev.copy(x), x)
    nhwc = dev.copy(x, "nchw_to_nhwc")
    np.testing.assert_array_equal(nhwc, x.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(dev.copy(nhwc, "nhwc_to_nchw"), x)
    m = x.reshape(shape[0] * shape[1] * shape[2], shape[3])
    nz = dev.copy(m, "nd_to_nz")
    blocks = np.zeros((-(-m.shape[0] // 16) * 16, -(-m.shape[1] // 16) * 16), m.dtype)
    blocks[:m.shape[0], :m.shape[1]] = m
    np.testing.assert_array_equal(nz, blocks.reshape(nz.shape[0], 16, nz.shape[1], 16).transpose(0, 2, 1, 3))
    np.testing.assert_array_equal(dev.copy(nz, "nz_to_nd", shape=m.shape), m)


def test_checksum_matches_zlib() -> None:
    import zlib

    data = bytes(range(256)) * 40 + b"tail"
    for gen in GENERATIONS:
        dev = device(gen)
        assert dev.checksum(data) == zlib.crc32(data)
        assert dev.checksum(b"more", seed=zlib.crc32(data)) == zlib.crc32(data + b"more")


def test_async_submissions_complete_by_id_in_any_wait_order() -> None:
    dev = device(2)
    xs = [np.full(100 + i, i, np.int32) for i in range(6)]
    pending = [dev.copy(x, wait=False) for x in xs]
    for i in (5, 0, 3, 1, 4, 2):
        np.testing.assert_array_equal(pending[i].wait(), xs[i])
    assert not dev.engine.pending


def test_the_high_priority_queue_of_abi_2() -> None:
    dev = device(2)
    done = dev.submit("NOP", queue=1).wait()
    assert (done.status, done.queue) == ("OK", 1)
    with pytest.raises(BadArgument, match="ABI 1 has 1 queue"):
        device(1).submit("NOP", queue=1)


def test_buffers_stay_on_the_device_between_ops_and_belong_to_their_context() -> None:
    dev = device(1)
    a = np.arange(12, dtype=np.float16).reshape(3, 4)
    b = np.ones((4, 2), np.float16)
    with dev.context("app") as app, dev.context("other") as other:
        abuf = app.ctx.upload(a)
        np.testing.assert_array_equal(app.matmul(abuf, b), fp32_route(a, b))
        with pytest.raises(NotOwner, match=f"buffer {abuf.id} belongs to context app, not other"):
            other.matmul(abuf, b)
        with pytest.raises(NotOwner):
            dev.add(abuf, abuf)  # the device's default context is not app either
    assert abuf.freed


BAD = [
    (lambda d: d.matmul(np.zeros((2, 3), np.float16), np.zeros((4, 5), np.float16)),
     "matmul: a is 2×3 but b is 4×5: inner dimensions differ"),
    (lambda d: d.matmul(np.zeros((2, 3), np.float32), np.zeros((3, 5), np.float32)),
     "matmul: unsupported dtypes float32 × float32"),
    (lambda d: d.matmul(np.zeros((2, 3), np.float16), np.zeros((3, 5), np.float16), np.zeros(4)),
     r"matmul: bias has shape \(4,\), expected \(5,\)"),
    (lambda d: d.matmul(np.zeros((2, 3), np.float16), np.zeros((3, 5), np.float16), scale=1.0),
     "requantize .* needs int8 inputs"),
    (lambda d: d.add(np.zeros(3, np.float32), np.zeros(4, np.float32)), "add: operands differ"),
    (lambda d: d.add(np.zeros(3, np.int8), np.zeros(3, np.int8)), "add: unsupported dtype int8"),
    (lambda d: d.quantize(np.zeros(3, np.float32), 0.0), "quantize: scale must be a finite number > 0"),
    (lambda d: d.dequantize(np.zeros(3, np.int8), 1.0, 300), "zero_point must be in -128..127"),
    (lambda d: d.copy(np.zeros((2, 3), np.float16), "nchw_to_nhwc"), "nchw_to_nhwc needs a 4-D array"),
    (lambda d: d.copy(np.zeros(3), "sideways"), "unknown transform 'sideways'"),
    (lambda d: d.conv2d(np.zeros((1, 3, 4, 4), np.float16), np.zeros((2, 2, 3, 3), np.float16)),
     "conv2d: x has 3 channels but w expects 2"),
    (lambda d: d.conv2d(np.zeros((1, 2, 2, 2), np.float16), np.zeros((2, 2, 3, 3), np.float16)),
     "a 3×3 kernel does not fit a 2×2 input"),
    (lambda d: d.matmul([[1]], [[1]]), "matmul: a must be a numpy array or a Buffer, not list"),
]


@pytest.mark.parametrize(("call", "message"), BAD, ids=[m.split(":")[0] + str(i) for i, (_, m) in
                                                        enumerate(BAD)])
def test_argument_errors_are_raised_before_anything_is_submitted(call, message) -> None:
    dev = device(1)
    seen: list[BusAccess] = []
    dev.bus.observe(seen.append)
    try:
        with pytest.raises(BadArgument, match=message):
            call(dev)
    finally:
        dev.bus.unobserve(seen.append)
    assert seen == []


def test_more_commands_than_ring_entries_wrap_around() -> None:
    dev = device(1)
    entries = dev.engine.rings[0].entries
    pending = [dev.nop(wait=False) for _ in range(2 * entries + 5)]
    ids = [p.wait().command_id for p in pending]
    assert ids == sorted(ids) and len(set(ids)) == 2 * entries + 5
    assert not dev.engine.pending


def test_polling_mode_leaves_the_completion_interrupts_masked() -> None:
    with driver.open("2.1.0", irq=False) as dev:
        mask = dev.regs.read("host_irq.mask")
        assert mask & dev.regs.mask("host_irq.status", "cq0", "cq1") == 0
        assert mask & dev.regs.mask("host_irq.status", "fw_fatal", "watchdog") != 0
        x = np.arange(64, dtype=np.float32)
        np.testing.assert_array_equal(dev.add(x, x), x + x)
        assert not dev.engine.irq_mode and dev.engine.lost_irqs == 0


def test_int4_values_are_packed_low_nibble_first() -> None:
    from driver.ops import pack_int4

    x = np.array([[1, -1, 7, -8], [0, 2, -3, 4]], np.int8)
    np.testing.assert_array_equal(pack_int4(x), np.array([[0xF1, 0x87], [0x20, 0x4D]], np.uint8))


def test_int4_argument_errors() -> None:
    dev = device(2)
    with pytest.raises(BadArgument, match="k and n must be even"):
        dev.matmul_int4(np.zeros((2, 3), np.int8), np.zeros((3, 2), np.int8))
    with pytest.raises(BadArgument, match=r"a must hold integers in -8\.\.7"):
        dev.matmul_int4(np.full((2, 2), 8, np.int8), np.zeros((2, 2), np.int8))
    with pytest.raises(BadArgument, match=r"driver 1\.3\.0 has no op matmul_int4"):
        device(1).matmul_int4(np.zeros((2, 2), np.int8), np.zeros((2, 2), np.int8))


def test_fence_completes_after_every_earlier_command() -> None:
    dev = device(2)
    xs = [np.full(500, i, np.float32) for i in range(3)]
    pending = [dev.add(x, x, wait=False) for x in xs]
    done = dev.fence()
    assert done.status == "OK"
    assert all(p.command.done for p in pending)
    for x, p in zip(xs, pending, strict=True):
        np.testing.assert_array_equal(p.wait(), x + x)
