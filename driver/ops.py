"""Runtime ops: numpy in, numpy out, one command per op (tiling is the firmware's job).

Every op checks its arguments (shapes, dtypes, ranges of the descriptor fields) and
the verdict's feature gate (`FeatureMissing`) before anything is allocated or
submitted, uploads array inputs to temporary buffers of the calling context (a
`Buffer` input must be the context's own), submits one command and, unless
`wait=False`, waits and returns the result as a writable numpy array. With
`wait=False` it returns a `Pending` whose `wait()` gives the result.

Tolerances (results against numpy): integer paths (int8 matmul, int32 eltwise,
quantize, dequantize to fp32, copies, checksum) are exact; fp16 matmul and conv
accumulate in fp32 and match `a.astype(f32) @ b.astype(f32)` to the rounding of fp32
sums (rtol 1e-3 of the sum of |products|); fp16 eltwise rounds like numpy's fp16.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from driver.errors import DriverError
from driver.memory import Buffer, Context
from driver.queues import Command, Completion, Engine

if TYPE_CHECKING:
    from driver.device import Device

ArrayLike = np.ndarray | Buffer
TRANSFORMS = ("none", "nchw_to_nhwc", "nhwc_to_nchw", "nd_to_nz", "nz_to_nd")
FRACTAL = 16  # the ND <-> NZ block edge (firmware.hw.units.layout.BLOCK)
_ELT_DTYPES = {np.dtype(np.float16): "fp16", np.dtype(np.float32): "fp32", np.dtype(np.int32): "int32"}


class BadArgument(DriverError):
    """An op's arguments are wrong (shape, dtype, range); nothing was submitted."""


class Pending:
    """An op in flight; `wait()` returns its result."""

    def __init__(self, cmd: Command, finish: Callable[[Completion], Any], temps: list[Buffer]) -> None:
        self.command = cmd
        self._finish = finish
        self._temps = temps
        self._result: Any = None
        self._done = False

    def wait(self, timeout_ticks: int | None = None) -> Any:
        if not self._done:
            try:
                done = self.command.wait(timeout_ticks)
                self._result = self._finish(done)
                self._done = True
            finally:
                if self.command.done:
                    for buf in self._temps:
                        if not buf.freed:
                            buf.free()
        return self._result


def _shape(x: ArrayLike) -> tuple[int, ...]:
    return tuple(x.shape)


def _dtype(x: ArrayLike) -> np.dtype:
    return np.dtype(x.dtype)


def _dims(op: str, **dims: tuple[int, int]) -> None:
    """Each dimension (value, limit) is at least 1 and fits its descriptor field."""
    for name, (value, limit) in dims.items():
        if not 1 <= value <= limit:
            raise BadArgument(f"{op}: {name} = {value} is outside 1..{limit}")


def pack_int4(x: np.ndarray) -> np.ndarray:
    """Row-major int4 values two per byte, low nibble first (the MATMUL_INT4 layout)."""
    nib = (np.ascontiguousarray(x).reshape(-1).astype(np.int8) & 0x0F).astype(np.uint8)
    return (nib[0::2] | (nib[1::2] << 4)).reshape(x.shape[0], x.shape[1] // 2)


class Ops:
    """The runtime ops; mixed into `Device` and its per-context views."""

    _ops_ctx: Context
    _ops_engine: Engine
    _ops_device: Device

    # ------------------------------------------------------------ plumbing

    def _gate(self, op: str) -> None:
        dev = self._ops_device
        dev._check_open()
        if op not in {o.name for o in dev.release.ops}:
            raise BadArgument(f"driver {dev.release.version} has no op {op}")
        dev.verdict.require(op)

    def _arg(self, x: Any, op: str, name: str) -> ArrayLike:
        if isinstance(x, Buffer):
            return self._ops_ctx.check(x)
        if isinstance(x, np.ndarray):
            return x
        raise BadArgument(f"{op}: {name} must be a numpy array or a Buffer, not {type(x).__name__}")

    def _put(self, x: ArrayLike, temps: list[Buffer], dtype: Any = None) -> Buffer:
        if isinstance(x, Buffer):
            return x
        arr = np.ascontiguousarray(x if dtype is None else x.astype(dtype, copy=False))
        buf = self._ops_ctx.upload(arr)
        temps.append(buf)
        return buf

    def _out(self, shape: tuple[int, ...], dtype: Any, temps: list[Buffer]) -> Buffer:
        buf = self._ops_ctx.empty(shape, dtype)
        temps.append(buf)
        return buf

    def _launch(self, opcode: str, fields: dict[str, Any], finish: Callable[[Completion], Any],
                temps: list[Buffer], wait: bool) -> Any:
        try:
            cmd = self._ops_engine.submit(opcode, **fields)
        except BaseException:
            for buf in temps:
                buf.free()
            raise
        pending = Pending(cmd, finish, temps)
        return pending.wait() if wait else pending

    @staticmethod
    def _result(buf: Buffer) -> Callable[[Completion], np.ndarray]:
        return lambda _c: np.array(buf.read())

    # ------------------------------------------------------------ queue-level ops

    def nop(self, wait: bool = True) -> Any:
        self._gate("nop")
        return self._launch("NOP", {}, lambda c: c, [], wait)

    def fence(self, wait: bool = True) -> Any:
        self._gate("fence")
        return self._launch("FENCE", {}, lambda c: c, [], wait)

    def get_info(self) -> dict[str, int]:
        """Unit counts, buffer sizes and counters as the firmware reports them."""
        from driver.abi import info_dtype

        self._gate("get_info")
        dt = info_dtype()
        temps: list[Buffer] = []
        out = self._out((dt.itemsize,), np.uint8, temps)

        def finish(_c: Completion) -> dict[str, int]:
            row = np.frombuffer(out.read_bytes(), dt)[0]
            return {name: int(row[name]) for name in dt.names or ()}

        return self._launch("GET_INFO", {"dst": out.addr, "size": dt.itemsize}, finish, temps, True)

    # ------------------------------------------------------------ matmul

    def matmul(self, a: ArrayLike, b: ArrayLike, bias: ArrayLike | None = None, relu: bool = False, *,
               scale: float | None = None, zero_point: int = 0, wait: bool = True) -> Any:
        """C = A @ B (+ bias, ReLU): fp16 → fp32, int8 → int32, or int8 requantized when `scale` is given."""
        a, b = self._arg(a, "matmul", "a"), self._arg(b, "matmul", "b")
        if len(_shape(a)) != 2 or len(_shape(b)) != 2:
            raise BadArgument(f"matmul: a and b must be 2-D, got shapes {_shape(a)} and {_shape(b)}")
        (m, k), (k2, n) = _shape(a), _shape(b)
        if k != k2:
            raise BadArgument(f"matmul: a is {m}×{k} but b is {k2}×{n}: inner dimensions differ")
        _dims("matmul", m=(m, 0xFFFFFFFF), n=(n, 0xFFFFFFFF), k=(k, 0xFFFFFFFF))
        kinds = {_dtype(a), _dtype(b)}
        if kinds == {np.dtype(np.float16)}:
            op, dtype, acc = "matmul", "fp16", np.dtype(np.float32)
            if scale is not None:
                raise BadArgument("matmul: requantize (scale=) needs int8 inputs")
        elif kinds == {np.dtype(np.int8)}:
            op, dtype, acc = "matmul_int8", "int8", np.dtype(np.int32)
        else:
            raise BadArgument(f"matmul: unsupported dtypes {_dtype(a)} × {_dtype(b)} "
                              "(fp16 × fp16 or int8 × int8)")
        if bias is not None:
            bias = self._arg(bias, "matmul", "bias")
            if _shape(bias) != (n,):
                raise BadArgument(f"matmul: bias has shape {_shape(bias)}, expected ({n},)")
            if isinstance(bias, Buffer) and _dtype(bias) != acc:
                raise BadArgument(f"matmul: a bias buffer must be {acc}, not {_dtype(bias)}")
            if isinstance(bias, np.ndarray) and acc.kind == "i":
                if _dtype(bias).kind not in "iu":
                    raise BadArgument(f"matmul: an int8 matmul takes an integer bias, not {_dtype(bias)}")
                if bias.size and (bias.min() < -2**31 or bias.max() >= 2**31):
                    raise BadArgument("matmul: the bias does not fit int32")
        if scale is not None and not (scale > 0 and -128 <= zero_point <= 127):
            raise BadArgument(f"matmul: requantize needs scale > 0 and zero_point in -128..127, "
                              f"got {scale} and {zero_point}")
        self._gate(op)
        temps: list[Buffer] = []
        ab, bb = self._put(a, temps), self._put(b, temps)
        biasb = self._put(bias, temps, acc) if bias is not None else None
        out_dtype = np.int8 if scale is not None else acc
        cb = self._out((m, n), out_dtype, temps)
        flags = (("bias", bias is not None), ("relu", relu), ("requant", scale is not None))
        opts = [name for name, on in flags if on]
        fields = {"a": ab.addr, "b": bb.addr, "c": cb.addr, "bias": biasb.addr if biasb else 0,
                  "m": m, "n": n, "k": k, "dtype": dtype, "opts": "|".join(opts),
                  "scale": float(scale or 0.0), "zero_point": int(zero_point)}
        return self._launch("MATMUL", fields, self._result(cb), temps, wait)

    def matmul_int4(self, a: np.ndarray, b: np.ndarray, bias: np.ndarray | None = None, relu: bool = False,
                    *, wait: bool = True) -> Any:
        """C(int32) = A @ B for int4 values (-8..7, given as int8 arrays), packed two per byte on the way."""
        if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
            raise BadArgument("matmul_int4: a and b must be numpy arrays of int4 values")
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
            raise BadArgument(f"matmul_int4: shapes {a.shape} and {b.shape} do not multiply")
        (m, k), n = a.shape, b.shape[1]
        if k % 2 or n % 2:
            raise BadArgument(f"matmul_int4: k and n must be even (two values per byte), got k={k}, n={n}")
        for name, x in (("a", a), ("b", b)):
            if x.dtype.kind not in "iu" or (x.size and (x.min() < -8 or x.max() > 7)):
                raise BadArgument(f"matmul_int4: {name} must hold integers in -8..7")
        if bias is not None and (np.shape(bias) != (n,) or np.asarray(bias).dtype.kind not in "iu"):
            raise BadArgument(f"matmul_int4: bias must be {n} integers")
        _dims("matmul_int4", m=(m, 0xFFFFFFFF), n=(n, 0xFFFFFFFF), k=(k, 0xFFFFFFFF))
        self._gate("matmul_int4")
        temps: list[Buffer] = []
        ab, bb = self._put(pack_int4(a), temps), self._put(pack_int4(b), temps)
        biasb = self._put(np.asarray(bias), temps, np.int32) if bias is not None else None
        cb = self._out((m, n), np.int32, temps)
        opts = "|".join(name for name, on in (("bias", bias is not None), ("relu", relu)) if on)
        fields = {"a": ab.addr, "b": bb.addr, "c": cb.addr, "bias": biasb.addr if biasb else 0,
                  "m": m, "n": n, "k": k, "opts": opts}
        return self._launch("MATMUL_INT4", fields, self._result(cb), temps, wait)

    # ------------------------------------------------------------ conv2d

    def conv2d(self, x: ArrayLike, w: ArrayLike, bias: ArrayLike | None = None,
               bn: tuple[np.ndarray, np.ndarray] | None = None, relu: bool = False, *, stride: int = 1,
               padding: int = 0, layout: str = "nchw", wait: bool = True) -> Any:
        """fp16 convolution, fp32 out; `bn` = (scale, shift) per output channel (folded batch-norm)."""
        x, w = self._arg(x, "conv2d", "x"), self._arg(w, "conv2d", "w")
        if layout not in ("nchw", "nhwc"):
            raise BadArgument(f"conv2d: layout must be nchw or nhwc, not {layout!r}")
        if len(_shape(x)) != 4 or len(_shape(w)) != 4:
            raise BadArgument(f"conv2d: x and w must be 4-D, got shapes {_shape(x)} and {_shape(w)}")
        if _dtype(x) != np.float16 or _dtype(w) != np.float16:
            raise BadArgument(f"conv2d: unsupported dtypes {_dtype(x)}, {_dtype(w)} (fp16 only)")
        n, c, h, wd = _shape(x) if layout == "nchw" else (lambda s: (s[0], s[3], s[1], s[2]))(_shape(x))
        k, c2, kh, kw = _shape(w)
        if c != c2:
            raise BadArgument(f"conv2d: x has {c} channels but w expects {c2}")
        _dims("conv2d", n=(n, 0xFFFF), c=(c, 0xFFFF), h=(h, 0xFFFF), w=(wd, 0xFFFF), k=(k, 0xFFFF),
              kh=(kh, 0xFF), kw=(kw, 0xFF), stride=(stride, 0xFF))
        if not 0 <= padding <= 0xFF:
            raise BadArgument(f"conv2d: padding = {padding} is outside 0..255")
        oh, ow = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
        if oh < 1 or ow < 1:
            raise BadArgument(f"conv2d: a {kh}×{kw} kernel does not fit a {h}×{wd} input "
                              f"with padding {padding}")
        if bias is not None:
            bias = self._arg(bias, "conv2d", "bias")
            if _shape(bias) != (k,):
                raise BadArgument(f"conv2d: bias has shape {_shape(bias)}, expected ({k},)")
            if isinstance(bias, Buffer) and _dtype(bias) != np.float32:
                raise BadArgument(f"conv2d: a bias buffer must be float32, not {_dtype(bias)}")
        bn_arr = None
        if bn is not None:
            scale_, shift = (np.asarray(v, np.float32) for v in bn)
            if scale_.shape != (k,) or shift.shape != (k,):
                raise BadArgument(f"conv2d: bn is (scale, shift) of shape ({k},) each")
            bn_arr = np.concatenate([scale_, shift])
        fused = bias is not None or bn is not None or relu
        self._gate("conv2d_fused" if fused else "conv2d")
        temps: list[Buffer] = []
        xb, wb = self._put(x, temps), self._put(w, temps)
        biasb = self._put(bias, temps, np.float32) if bias is not None else None
        bnb = self._put(bn_arr, temps) if bn_arr is not None else None
        shape = (n, k, oh, ow) if layout == "nchw" else (n, oh, ow, k)
        ob = self._out(shape, np.float32, temps)
        flags = (("bias", bias is not None), ("bn", bn is not None), ("relu", relu))
        opts = [name for name, on in flags if on]
        fields = {"input": xb.addr, "weight": wb.addr, "out": ob.addr, "bias": biasb.addr if biasb else 0,
                  "bn": bnb.addr if bnb else 0, "n": n, "c": c, "h": h, "w": wd, "k": k, "kh": kh, "kw": kw,
                  "stride": stride, "pad": padding, "layout": layout, "dtype": "fp16", "opts": "|".join(opts)}
        return self._launch("CONV2D", fields, self._result(ob), temps, wait)

    # ------------------------------------------------------------ elementwise

    def _eltwise(self, op: str, a: ArrayLike, b: ArrayLike | None, wait: bool, scale: float = 0.0,
                 bias: float = 0.0) -> Any:
        a = self._arg(a, op, "a")
        if _dtype(a) not in _ELT_DTYPES:
            raise BadArgument(f"{op}: unsupported dtype {_dtype(a)} (float16, float32 or int32)")
        if b is not None:
            b = self._arg(b, op, "b")
            if _shape(a) != _shape(b) or _dtype(a) != _dtype(b):
                raise BadArgument(f"{op}: operands differ: {_shape(a)} {_dtype(a)} and "
                                  f"{_shape(b)} {_dtype(b)} (no broadcasting)")
        count = int(np.prod(_shape(a)))
        _dims(op, count=(count, 0xFFFFFFFF))
        self._gate("eltwise")
        temps: list[Buffer] = []
        ab = self._put(a, temps)
        bb = self._put(b, temps) if b is not None else ab
        ob = self._out(_shape(a), _dtype(a), temps)
        fields = {"a": ab.addr, "b": bb.addr, "out": ob.addr, "count": count, "op": op,
                  "dtype": _ELT_DTYPES[_dtype(a)], "scale": float(scale), "bias": float(bias)}
        return self._launch("ELTWISE", fields, self._result(ob), temps, wait)

    def add(self, a: ArrayLike, b: ArrayLike, wait: bool = True) -> Any:
        return self._eltwise("add", a, b, wait)

    def sub(self, a: ArrayLike, b: ArrayLike, wait: bool = True) -> Any:
        return self._eltwise("sub", a, b, wait)

    def mul(self, a: ArrayLike, b: ArrayLike, wait: bool = True) -> Any:
        return self._eltwise("mul", a, b, wait)

    def maximum(self, a: ArrayLike, b: ArrayLike, wait: bool = True) -> Any:
        return self._eltwise("max", a, b, wait)

    def minimum(self, a: ArrayLike, b: ArrayLike, wait: bool = True) -> Any:
        return self._eltwise("min", a, b, wait)

    def relu(self, a: ArrayLike, wait: bool = True) -> Any:
        return self._eltwise("relu", a, None, wait)

    def scale_bias(self, a: ArrayLike, scale: float, bias: float, wait: bool = True) -> Any:
        """a * scale + bias (a folded batch-norm)."""
        return self._eltwise("scale_bias", a, None, wait, scale, bias)

    # ------------------------------------------------------------ quantization

    @staticmethod
    def _qparams(op: str, scale: float, zero_point: int) -> None:
        if not (np.isfinite(scale) and scale > 0):
            raise BadArgument(f"{op}: scale must be a finite number > 0, not {scale}")
        if not -128 <= zero_point <= 127:
            raise BadArgument(f"{op}: zero_point must be in -128..127, not {zero_point}")

    def quantize(self, x: ArrayLike, scale: float, zero_point: int = 0, wait: bool = True) -> Any:
        """int8 = saturate(round_half_even(x / scale) + zero_point)."""
        x = self._arg(x, "quantize", "x")
        if _dtype(x) not in (np.float32, np.float16):
            raise BadArgument(f"quantize: unsupported dtype {_dtype(x)} (float32 or float16)")
        self._qparams("quantize", scale, zero_point)
        count = int(np.prod(_shape(x)))
        _dims("quantize", count=(count, 0xFFFFFFFF))
        self._gate("quantize")
        temps: list[Buffer] = []
        xb = self._put(x, temps)
        ob = self._out(_shape(x), np.int8, temps)
        fields = {"src": xb.addr, "dst": ob.addr, "count": count, "scale": float(scale),
                  "dtype": "fp32" if _dtype(x) == np.float32 else "fp16", "zero_point": int(zero_point)}
        return self._launch("QUANTIZE", fields, self._result(ob), temps, wait)

    def dequantize(self, q: ArrayLike, scale: float, zero_point: int = 0, dtype: Any = np.float32,
                   wait: bool = True) -> Any:
        """(q - zero_point) * scale as float32 or float16."""
        q = self._arg(q, "dequantize", "q")
        if _dtype(q) != np.int8:
            raise BadArgument(f"dequantize: unsupported dtype {_dtype(q)} (int8)")
        out = np.dtype(dtype)
        if out not in (np.float32, np.float16):
            raise BadArgument(f"dequantize: result dtype must be float32 or float16, not {out}")
        self._qparams("dequantize", scale, zero_point)
        count = int(np.prod(_shape(q)))
        _dims("dequantize", count=(count, 0xFFFFFFFF))
        self._gate("dequantize")
        temps: list[Buffer] = []
        qb = self._put(q, temps)
        ob = self._out(_shape(q), out, temps)
        fields = {"src": qb.addr, "dst": ob.addr, "count": count, "scale": float(scale),
                  "dtype": "fp32" if out == np.float32 else "fp16", "zero_point": int(zero_point)}
        return self._launch("DEQUANTIZE", fields, self._result(ob), temps, wait)

    # ------------------------------------------------------------ copy and checksum

    def copy(self, x: ArrayLike, transform: str = "none", *, shape: tuple[int, int] | None = None,
             wait: bool = True) -> Any:
        """A device copy, optionally with a layout transform (NCHW↔NHWC, ND↔NZ 16×16 fractal).

        nd_to_nz takes an (h, w) matrix and returns (ceil(h/16), ceil(w/16), 16, 16) blocks;
        nz_to_nd takes such blocks and needs `shape=(h, w)` of the matrix to return.
        """
        x = self._arg(x, "copy", "x")
        if transform not in TRANSFORMS:
            raise BadArgument(f"copy: unknown transform {transform!r} (one of {', '.join(TRANSFORMS)})")
        size = _dtype(x).itemsize
        if transform != "none" and size not in (1, 2, 4):
            raise BadArgument(f"copy: a transform needs 1, 2 or 4-byte elements, not {_dtype(x)}")
        s = _shape(x)
        dims = {"n": 1, "c": 1, "h": 1, "w": 1}
        if transform in ("nchw_to_nhwc", "nhwc_to_nchw"):
            if len(s) != 4:
                raise BadArgument(f"copy: {transform} needs a 4-D array, got shape {s}")
            if transform == "nchw_to_nhwc":
                dims = dict(zip("nchw", s, strict=True))
                out_shape = (s[0], s[2], s[3], s[1])
            else:
                dims = {"n": s[0], "h": s[1], "w": s[2], "c": s[3]}
                out_shape = (s[0], s[3], s[1], s[2])
        elif transform == "nd_to_nz":
            if len(s) != 2:
                raise BadArgument(f"copy: nd_to_nz needs a 2-D array, got shape {s}")
            dims |= {"h": s[0], "w": s[1]}
            out_shape = (-(-s[0] // FRACTAL), -(-s[1] // FRACTAL), FRACTAL, FRACTAL)
        elif transform == "nz_to_nd":
            if shape is None or len(s) != 4 or s[2:] != (FRACTAL, FRACTAL) or \
                    s[:2] != (-(-shape[0] // FRACTAL), -(-shape[1] // FRACTAL)):
                raise BadArgument(f"copy: nz_to_nd needs (ceil(h/16), ceil(w/16), 16, 16) blocks and "
                                  f"shape=(h, w); got blocks {s} and shape={shape}")
            dims |= {"h": shape[0], "w": shape[1]}
            out_shape = tuple(shape)
        else:
            out_shape = s
        nbytes = int(np.prod(s)) * size
        _dims("copy", size=(nbytes, 0xFFFFFFFF), **{d: (v, 0xFFFF) for d, v in dims.items()})
        self._gate("copy" if transform == "none" else "copy_transform")
        temps: list[Buffer] = []
        xb = self._put(x, temps)
        ob = self._out(out_shape, _dtype(x), temps)
        logical = int(np.prod(list(dims.values()))) * size if transform != "none" else nbytes
        fields = {"src": xb.addr, "dst": ob.addr, "size": logical, "transform": transform,
                  "elem_size": size if transform != "none" else 0, **dims}
        if transform == "none":
            fields |= {"n": 0, "c": 0, "h": 0, "w": 0}
        return self._launch("COPY", fields, self._result(ob), temps, wait)

    def checksum(self, x: ArrayLike | bytes, seed: int = 0) -> int:
        """CRC-32 of the data as the firmware computes it (equal to zlib.crc32(data, seed))."""
        if isinstance(x, bytes | bytearray):
            x = np.frombuffer(bytes(x), np.uint8)
        x = self._arg(x, "checksum", "x")
        nbytes = x.nbytes if isinstance(x, Buffer) else int(np.asarray(x).nbytes)
        _dims("checksum", size=(nbytes, 0xFFFFFFFF))
        if not 0 <= seed <= 0xFFFFFFFF:
            raise BadArgument(f"checksum: seed {seed} is not a 32-bit value")
        self._gate("checksum")
        temps: list[Buffer] = []
        xb = self._put(x, temps)
        fields = {"src": xb.addr, "size": nbytes, "seed": seed}
        return self._launch("CHECKSUM", fields, lambda c: c.value, temps, True)

    # ------------------------------------------------------------ raw commands

    def submit(self, opcode: str, queue: int = 0, **fields: Any) -> Command:
        """Submit one raw ABI command (fields named as `firmware/abi.toml` does); returns its future."""
        self._ops_device._check_open()
        if not 0 <= queue < self._ops_engine.queues:
            raise BadArgument(f"submit: ABI {self._ops_engine.gen} has {self._ops_engine.queues} queue(s), "
                              f"no queue {queue}")
        if queue == 1:
            self._gate("priority_submit")
        return self._ops_engine.submit(opcode, queue, **fields)
