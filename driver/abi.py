"""The driver's structures for the host↔firmware ABI, derived from `firmware/abi.toml` at import.

Nothing here repeats a layout: numpy structured dtypes (for views onto ring
memory, e.g. a whole completion ring at once) and the opcode and status
enumerations are built from the one table. Byte-level packing of single
descriptors and completions is `firmware.abi`'s codec, re-exported here.
"""

from __future__ import annotations

from enum import IntEnum
from functools import cache

import numpy as np

from firmware.abi import (
    AbiError,
    Struct,
    abi,
    decode_completion,
    decode_descriptor,
    encode_completion,
    encode_descriptor,
)

__all__ = [
    "AbiError", "Opcode", "Status", "completion_dtype", "decode_completion", "decode_descriptor",
    "descriptor_dtype", "encode_completion", "encode_descriptor", "header_dtype", "info_dtype",
    "struct_dtype",
]

_NUMPY = {"u8": "<u1", "u16": "<u2", "u32": "<u4", "u64": "<u8", "i8": "<i1", "i16": "<i2",
          "i32": "<i4", "f32": "<f4", "addr": "<u4"}

Opcode = IntEnum("Opcode", {o.name: o.code for o in abi().opcodes})
Status = IntEnum("Status", {s.name: s.code for s in abi().statuses})


def struct_dtype(s: Struct) -> np.dtype:
    """A numpy dtype with the struct's fields at their offsets and its full size (gaps stay reserved)."""
    return np.dtype({"names": [f.name for f in s.fields], "formats": [_NUMPY[f.type] for f in s.fields],
                     "offsets": [f.offset for f in s.fields], "itemsize": s.size})


@cache
def descriptor_dtype(gen: int, opcode: str | int) -> np.dtype:
    """One descriptor of `opcode` in ABI `gen`: header and arguments."""
    return struct_dtype(abi().descriptor_layout(gen, opcode))


@cache
def header_dtype(gen: int) -> np.dtype:
    """The header alone at the descriptor's stride: view a submission ring to read opcodes and ids."""
    return struct_dtype(abi().generation(gen).header)


@cache
def completion_dtype(gen: int) -> np.dtype:
    return struct_dtype(abi().generation(gen).completion)


@cache
def info_dtype() -> np.dtype:
    """The block GET_INFO writes."""
    return struct_dtype(abi().info)
