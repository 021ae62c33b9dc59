"""The driver's numpy structures, derived from the ABI table, read the same bytes as the codec."""

from __future__ import annotations

import numpy as np
import pytest

from driver.abi import (
    Opcode,
    Status,
    completion_dtype,
    descriptor_dtype,
    encode_completion,
    encode_descriptor,
    header_dtype,
    info_dtype,
)
from firmware.abi import abi

_CASES = [(g, o.name) for o in abi().opcodes for g in o.abi]


@pytest.mark.parametrize(("gen", "op"), _CASES, ids=[f"abi{g}-{o}" for g, o in _CASES])
def test_descriptor_dtype_reads_what_the_codec_writes(gen: int, op: str) -> None:
    layout = abi().descriptor_layout(gen, op)
    values = {f.name: (0.75 if f.type == "f32" else min(i + 1, f.value_range()[1]))
              for i, f in enumerate(layout.fields) if f.name != "opcode"}
    record = np.frombuffer(encode_descriptor(gen, op, **values), descriptor_dtype(gen, op))[0]
    assert descriptor_dtype(gen, op).itemsize == abi().generation(gen).descriptor_size
    assert int(record["opcode"]) == Opcode[op]
    for name, value in values.items():
        assert record[name] == value, name


def test_a_completion_ring_is_one_array_view() -> None:
    ring = b"".join(encode_completion(2, command_id=i, status="OK" if i % 2 else "BAD_SIZE", opcode="NOP",
                                      cycles=100 * i, queue=i % 2) for i in range(8))
    entries = np.frombuffer(ring, completion_dtype(2))
    assert entries["command_id"].tolist() == list(range(8))
    assert entries["status"].tolist() == [Status.BAD_SIZE, Status.OK] * 4
    assert entries["cycles"].tolist() == [100 * i for i in range(8)]
    assert entries["queue"].tolist() == [0, 1] * 4


def test_header_dtype_walks_a_submission_ring_at_the_descriptor_stride() -> None:
    ops = ["NOP", "FENCE", "COPY"]
    ring = b"".join(encode_descriptor(1, op, command_id=10 + i) for i, op in enumerate(ops))
    headers = np.frombuffer(ring, header_dtype(1))
    assert headers["opcode"].tolist() == [Opcode.NOP, Opcode.FENCE, Opcode.COPY]
    assert headers["command_id"].tolist() == [10, 11, 12]


def test_info_block_and_enums_come_from_the_table() -> None:
    assert info_dtype().itemsize == abi().info.size == 64
    assert info_dtype().fields["busy_cycles"][1] == 48
    assert [o.name for o in Opcode] == [o.name for o in abi().opcodes]
    assert abi().status("UNSUPPORTED").code == Status.UNSUPPORTED == 7
