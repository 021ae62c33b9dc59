"""NOP, FENCE, GET_INFO, CHECKSUM and COPY on the emulated device, for each release that has them."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from fwharness import FwHarness
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.abi import abi
from firmware.hw.config import device_config
from firmware.releases import abi_mask, release_line

TABLE = abi()
RELEASES = release_line().releases
PAIRS = [(str(r.version), g) for r in RELEASES for g in r.abi]
CHECKSUM_PAIRS = [(v, g) for v, g in PAIRS if "checksum" in release_line().release(v).features]
_OPEN: dict[tuple[str, int], FwHarness] = {}


def shared(version: str, gen: int) -> FwHarness:
    """One opened harness per release and generation for the property tests (they only add buffers)."""
    if (version, gen) not in _OPEN:
        _OPEN[(version, gen)] = FwHarness(version).open(gen, entries=64)
    return _OPEN[(version, gen)]


@pytest.mark.parametrize(("version", "gen"), PAIRS)
def test_nop_and_fence(version: str, gen: int) -> None:
    h = FwHarness(version).open(gen)
    for opcode in ("NOP", "FENCE"):
        done = h.run(opcode)
        assert (done.status, done["opcode"], done["value"]) == ("OK", opcode, 0)
        assert done["cycles"] > 0


@pytest.mark.parametrize(("version", "gen"), PAIRS)
def test_get_info_reports_the_release_the_device_and_the_counters(version: str, gen: int) -> None:
    h = FwHarness(version).open(gen)
    cycles = sum(h.run("NOP")["cycles"] for _ in range(3))
    cycles += h.run("GET_INFO", dst=h.dev.config.hbm.base + 32, size=16)["cycles"]  # BAD_SIZE
    dst = h.alloc(64)
    h.write(dst, b"\xee" * 64)
    assert h.run("GET_INFO", dst=dst, size=100).status == "OK"
    info = TABLE.info.unpack(h.read(dst, TABLE.info.size))
    cfg = device_config("default")
    r = h.release
    assert info == {
        "fw_version": r.version.packed, "abi_mask": abi_mask(r.abi), "features": r.feature_mask,
        "cube_units": 1, "vector_units": 1, "dma_engines": 3, "queues": TABLE.generation(gen).queues,
        "l1_size": cfg.region("l1").size, "l0a_size": cfg.region("l0a").size,
        "l0b_size": cfg.region("l0b").size, "l0c_size": cfg.region("l0c").size,
        "ub_size": cfg.region("ub").size, "hbm_size": cfg.hbm.size,
        "commands_ok": 3, "commands_err": 1, "busy_cycles": cycles,
    }
    assert h.read(dst + 56, 8) == bytes(8)  # the reserved tail


@pytest.mark.parametrize(("version", "gen"), CHECKSUM_PAIRS)
@settings(max_examples=15)
@given(data=st.binary(min_size=1, max_size=3000), seed=st.integers(0, 0xFFFF_FFFF))
def test_checksum_is_zlib_crc32(version: str, gen: int, data: bytes, seed: int) -> None:
    h = shared(version, gen)
    src = h.put(np.frombuffer(data, np.uint8))
    done = h.run("CHECKSUM", src=src, size=len(data), seed=seed)
    assert (done.status, done["value"]) == ("OK", zlib.crc32(data, seed))


def test_checksum_chains_and_spans_watchdog_chunks() -> None:
    h = FwHarness("2.1.0").open()
    data = np.random.default_rng(7).integers(0, 256, (1 << 17) + 5, dtype=np.uint8)
    src = h.put(data)
    h.wr("wdog.timeout", 2_000_000)
    h.wr("wdog.enable", 1)
    whole = h.run("CHECKSUM", src=src, size=data.size)
    first = h.run("CHECKSUM", src=src, size=1 << 16)
    second = h.run("CHECKSUM", src=src + (1 << 16), size=data.size - (1 << 16), seed=first["value"])
    assert whole["value"] == second["value"] == zlib.crc32(data.tobytes())
    assert h.dev.errors == []  # the loop pets the watchdog


def test_checksum_needs_the_feature() -> None:
    h = FwHarness("1.2.0").open()
    assert h.run("CHECKSUM", src=h.alloc(64), size=64).status == "UNSUPPORTED"


# ------------------------------------------------------------ COPY

def fractal(m: np.ndarray) -> np.ndarray:
    """Row-major (h, w) -> 16x16 blocks, block-row-major, each block row-major, zero padded."""
    h, w = m.shape
    hp, wp = -(-h // 16) * 16, -(-w // 16) * 16
    padded = np.zeros((hp, wp), m.dtype)
    padded[:h, :w] = m
    return padded.reshape(hp // 16, 16, wp // 16, 16).transpose(0, 2, 1, 3).copy()


ELEM = {1: np.uint8, 2: np.uint16, 4: np.uint32}


def reference(transform: str, x: np.ndarray) -> np.ndarray:
    """What COPY writes for tensor x of shape (n, c, h, w) in the source layout."""
    n, c, h, w = x.shape
    if transform == "nchw_to_nhwc":
        return x.transpose(0, 2, 3, 1)
    if transform == "nhwc_to_nchw":  # x holds n, h, w, c laid out as (n, c, h, w) numbers
        return x.reshape(n, h, w, c).transpose(0, 3, 1, 2)
    if transform == "nd_to_nz":
        return np.stack([fractal(m) for m in x.reshape(n * c, h, w)])
    return x


@pytest.mark.parametrize("version", ["1.0.0", "2.1.0"])
@settings(max_examples=12)
@given(size=st.integers(1, 5000), seed=st.integers(0, 2**32 - 1))
def test_plain_copy(version: str, size: int, seed: int) -> None:
    h = shared(version, max(release_line().release(version).abi))
    data = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8)
    src, dst = h.put(data), h.alloc(size + 64)
    h.write(dst + size, b"\xa5" * 64)
    assert h.run("COPY", src=src, dst=dst, size=size).status == "OK"
    assert h.read(dst, size) == data.tobytes()
    assert h.read(dst + size, 64) == b"\xa5" * 64  # nothing beyond size


@pytest.mark.parametrize("transform", ["nchw_to_nhwc", "nhwc_to_nchw", "nd_to_nz"])
@pytest.mark.parametrize("version", ["1.0.0", "2.0.0"])
@settings(max_examples=8)
@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 20), st.integers(1, 20)),
       elem=st.sampled_from([1, 2, 4]), seed=st.integers(0, 2**32 - 1))
def test_copy_with_a_layout_transform(version: str, transform: str, shape: tuple[int, ...], elem: int,
                                      seed: int) -> None:
    h = shared(version, 1)
    x = np.random.default_rng(seed).integers(0, 2 ** (8 * elem), shape, dtype=ELEM[elem])
    want = reference(transform, x)
    n, c, hh, w = shape
    src, dst = h.put(x), h.alloc(want.nbytes + 64)
    h.write(dst + want.nbytes, b"\x5a" * 64)
    done = h.run("COPY", src=src, dst=dst, size=x.nbytes, transform=transform, elem_size=elem,
                 n=n, c=c, h=hh, w=w)
    assert done.status == "OK"
    assert np.array_equal(h.get(dst, x.dtype, want.shape), want)
    assert h.read(dst + want.nbytes, 64) == b"\x5a" * 64


@pytest.mark.parametrize("elem", [1, 2, 4])
def test_nz_to_nd_inverts_nd_to_nz(elem: int) -> None:
    h = FwHarness("1.3.0").open()
    n, c, hh, w = 2, 1, 19, 33
    x = np.random.default_rng(elem).integers(0, 2 ** (8 * elem), (n, c, hh, w), dtype=ELEM[elem])
    blocks = reference("nd_to_nz", x)
    src, dst = h.put(blocks), h.alloc(x.nbytes)
    done = h.run("COPY", src=src, dst=dst, size=x.nbytes, transform="nz_to_nd", elem_size=elem,
                 n=n, c=c, h=hh, w=w)
    assert done.status == "OK"
    assert np.array_equal(h.get(dst, x.dtype, x.shape), x)


def test_a_plain_copy_larger_than_l1_goes_in_pieces() -> None:
    h = FwHarness("2.1.0").open()
    size = (1 << 20) * 2 + 100
    data = np.random.default_rng(3).integers(0, 256, size, dtype=np.uint8)
    src, dst = h.put(data), h.alloc(size)
    assert h.run("COPY", src=src, dst=dst, size=size).status == "OK"
    assert h.read(dst, size) == data.tobytes()


def test_many_images_per_dma_batch() -> None:
    h = FwHarness("2.1.0").open()
    x = np.arange(300 * 3 * 4 * 4, dtype=np.uint32).reshape(300, 3, 4, 4)
    src, dst = h.put(x), h.alloc(x.nbytes)
    done = h.run("COPY", src=src, dst=dst, size=x.nbytes, transform="nchw_to_nhwc", elem_size=4,
                 n=300, c=3, h=4, w=4)
    assert done.status == "OK"
    assert np.array_equal(h.get(dst, np.uint32, (300, 4, 4, 3)), x.transpose(0, 2, 3, 1))
