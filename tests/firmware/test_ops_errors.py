"""Malformed operator arguments: each yields its status and detail, and the firmware keeps serving."""

from __future__ import annotations

from typing import Any

import pytest
from fwharness import FwHarness
from opsharness import check_clean, field_offset, run_ok, serving

HBM_SIZE = 1 << 28
BIG = 0x10000  # a u32 dimension whose products overflow 32 bits


def buffers(fw: FwHarness) -> dict[str, int]:
    """Aligned HBM buffers, large enough for every good command below."""
    return {name: fw.alloc(4096) for name in ("a", "b", "c", "d", "e")}


def good(fw: FwHarness, op: str) -> dict[str, Any]:
    """A valid command's arguments (the cases below change one or two of them)."""
    buf = buffers(fw)
    if op == "ELTWISE":
        return dict(a=buf["a"], b=buf["b"], out=buf["c"], count=64, op="add", dtype="fp32")
    if op in ("QUANTIZE", "DEQUANTIZE"):
        return dict(src=buf["a"], dst=buf["b"], count=64, dtype="fp32", scale=0.5, zero_point=1)
    if op == "MATMUL":
        return dict(a=buf["a"], b=buf["b"], c=buf["c"], bias=buf["d"], m=8, n=8, k=8, dtype="fp16")
    if op == "MATMUL_INT4":
        return dict(a=buf["a"], b=buf["b"], c=buf["c"], bias=buf["d"], m=8, n=8, k=8)
    return dict(input=buf["a"], weight=buf["b"], out=buf["c"], bias=buf["d"], bn=buf["e"], n=1, c=2, h=6, w=6,
                k=3, kh=3, kw=3, stride=1, pad=1, layout="nchw", dtype="fp16")


# (opcode, changes, status, detail): detail names the offending field, or is an address
# expression over the good arguments (a callable).
CASES: list[tuple[str, dict[str, Any], str, Any]] = [
    ("ELTWISE", {"op": 7}, "BAD_PARAM", "op"),
    ("ELTWISE", {"dtype": "int8"}, "BAD_PARAM", "dtype"),
    ("ELTWISE", {"op": "scale_bias", "dtype": "int32"}, "BAD_PARAM", "dtype"),
    ("ELTWISE", {"count": 0}, "BAD_SIZE", "count"),
    ("ELTWISE", {"count": 1 << 30}, "SIZE_OVERFLOW", "count"),
    ("ELTWISE", {"count": HBM_SIZE // 4 - 8}, "BAD_ADDRESS", lambda g: g["a"]),
    ("ELTWISE", {"b": "a+4"}, "MISALIGNED", lambda g: g["a"] + 4),
    ("ELTWISE", {"out": 0x1000}, "BAD_ADDRESS", lambda g: 0x1000),
    ("ELTWISE", {"out": "a+32"}, "OVERLAP", lambda g: g["a"] + 32),
    ("ELTWISE", {"out": "b+64"}, "OVERLAP", lambda g: g["b"] + 64),
    ("QUANTIZE", {"dtype": "int8"}, "BAD_PARAM", "dtype"),
    ("QUANTIZE", {"scale": 0.0}, "BAD_PARAM", "scale"),
    ("QUANTIZE", {"scale": -1.0}, "BAD_PARAM", "scale"),
    ("QUANTIZE", {"scale": float("inf")}, "BAD_PARAM", "scale"),
    ("QUANTIZE", {"zero_point": 128}, "BAD_PARAM", "zero_point"),
    ("QUANTIZE", {"count": 0}, "BAD_SIZE", "count"),
    ("QUANTIZE", {"dst": "src+32"}, "OVERLAP", lambda g: g["src"] + 32),
    ("DEQUANTIZE", {"dtype": "int32"}, "BAD_PARAM", "dtype"),
    ("DEQUANTIZE", {"zero_point": -129}, "BAD_PARAM", "zero_point"),
    ("DEQUANTIZE", {"scale": float("nan")}, "BAD_PARAM", "scale"),
    ("DEQUANTIZE", {"dst": 0xFFFFFFE0}, "BAD_ADDRESS", lambda g: 0xFFFFFFE0),
    ("MATMUL", {"dtype": "fp32"}, "BAD_PARAM", "dtype"),
    ("MATMUL", {"opts": "bit3"}, "BAD_PARAM", "opts"),
    ("MATMUL", {"opts": "requant"}, "BAD_PARAM", "opts"),
    ("MATMUL", {"dtype": "int8", "opts": "requant", "zero_point": 300}, "BAD_PARAM", "zero_point"),
    ("MATMUL", {"dtype": "int8", "opts": "requant", "scale": float("inf")}, "BAD_PARAM", "scale"),
    ("MATMUL", {"m": 0}, "BAD_SIZE", "m"),
    ("MATMUL", {"n": 0}, "BAD_SIZE", "n"),
    ("MATMUL", {"k": 0}, "BAD_SIZE", "k"),
    ("MATMUL", {"m": BIG, "k": BIG}, "SIZE_OVERFLOW", "k"),
    ("MATMUL", {"c": "c+8"}, "MISALIGNED", lambda g: g["c"] + 8),
    ("MATMUL", {"c": "a+32"}, "OVERLAP", lambda g: g["a"] + 32),
    ("MATMUL", {"opts": "bias", "bias": 0x7FFFFFE0}, "BAD_ADDRESS", lambda g: 0x7FFFFFE0),
    ("MATMUL", {"opts": "bias", "bias": "c"}, "OVERLAP", lambda g: g["c"]),
    ("MATMUL_INT4", {"opts": "requant"}, "BAD_PARAM", "opts"),
    ("MATMUL_INT4", {"k": 7}, "BAD_SIZE", "k"),
    ("MATMUL_INT4", {"n": 9}, "BAD_SIZE", "n"),
    ("MATMUL_INT4", {"m": 0}, "BAD_SIZE", "m"),
    ("MATMUL_INT4", {"m": 16, "c": "a+32"}, "OVERLAP", lambda g: g["a"] + 32),  # A: 16 x 8 x 4 bits
    ("CONV2D", {"dtype": "int8"}, "BAD_PARAM", "dtype"),
    ("CONV2D", {"layout": 2}, "BAD_PARAM", "layout"),
    ("CONV2D", {"opts": "bit3"}, "BAD_PARAM", "opts"),
    ("CONV2D", {"stride": 0}, "BAD_SIZE", "stride"),
    ("CONV2D", {"c": 0}, "BAD_SIZE", "c"),
    ("CONV2D", {"kh": 9}, "BAD_SIZE", "kh"),
    ("CONV2D", {"weight": "weight+2"}, "MISALIGNED", lambda g: g["weight"] + 2),
    ("CONV2D", {"out": "input"}, "OVERLAP", lambda g: g["input"]),
    ("CONV2D", {"opts": "bn", "bn": "out+32"}, "OVERLAP", lambda g: g["out"]),
]


ENUMS = ("op", "dtype", "opts", "layout")


def resolve(args: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Apply the changes; a string 'name+N' means the good argument `name` plus N."""
    out = dict(args)
    for key, value in changes.items():
        if isinstance(value, str) and value.split("+")[0] in args and key not in ENUMS:
            name, _, delta = value.partition("+")
            value = args[name] + int(delta or 0)
        out[key] = value
    return out


@pytest.mark.parametrize("version", ["1.3.0", "2.1.0"])
@pytest.mark.parametrize(("op", "changes", "status", "detail"), CASES,
                         ids=[f"{c[0]}-{'-'.join(c[1])}-{c[2]}" for c in CASES])
def test_bad_arguments_yield_their_status(version: str, op: str, changes: dict[str, Any], status: str,
                                          detail: Any) -> None:
    if op == "MATMUL_INT4" and version == "1.3.0":
        version = "2.1.0"  # an ABI 2 opcode
    fw = serving(version)
    args = good(fw, op)
    done = fw.run(op, **resolve(args, changes))
    want = field_offset(fw, op, detail) if isinstance(detail, str) else detail(args)
    assert (done.status, done.detail) == (status, want)
    check_clean(fw)  # nothing was issued to the units
    run_ok(fw, op, **good(fw, op))  # and the next good command is served

