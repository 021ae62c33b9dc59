"""The ABI table loads, the codec packs exactly what the layouts say, and every validation rule fires."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.abi import (
    AbiError,
    abi,
    decode_completion,
    decode_descriptor,
    encode_completion,
    encode_descriptor,
    load,
)
from isa.errors import SpecError

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_table_has_both_generations_and_every_command() -> None:
    table = abi()
    assert [(g.number, g.descriptor_size, g.args_offset, g.completion_size, g.queues)
            for g in table.generations.values()] == [(1, 48, 8, 16, 1), (2, 64, 16, 32, 2)]
    assert [(o.name, o.code) for o in table.opcodes] == [
        ("NOP", 0), ("FENCE", 1), ("COPY", 2), ("MATMUL", 3), ("ELTWISE", 4), ("CONV2D", 5),
        ("QUANTIZE", 6), ("DEQUANTIZE", 7), ("GET_INFO", 8), ("CHECKSUM", 9), ("MATMUL_INT4", 10)]
    assert table.opcode("matmul_int4").abi == (2,)
    names = [s.name for s in table.statuses]
    assert names[:8] == ["OK", "BAD_OPCODE", "BAD_SIZE", "BAD_ADDRESS", "MISALIGNED", "OVERLAP",
                         "SIZE_OVERFLOW", "UNSUPPORTED"]
    assert {"DEVICE_ERROR", "TIMEOUT"} <= set(names)
    assert all(s.desc for s in table.statuses)


def test_descriptor_layout_puts_arguments_after_each_generations_header() -> None:
    table = abi()
    m1, m2 = table.descriptor_layout(1, "MATMUL"), table.descriptor_layout(2, "MATMUL")
    assert (m1.field("m").offset, m2.field("m").offset) == (24, 32)
    assert (m1.field("opcode").offset, m2.field("opcode").offset) == (0, 4)
    assert (m1.field("command_id").offset, m2.field("command_id").offset) == (4, 0)
    assert m2.field("flags").offset == 8 and m1.field("flags") is None


def test_matmul_abi1_bytes_are_exactly_the_documented_layout() -> None:
    data = encode_descriptor(1, "MATMUL", command_id=7, a=0x8000_0000, b=0x8000_1000, c=0x8000_2000,
                             bias=0x8000_3000, m=16, n=32, k=64, dtype="int8", opts="bias|requant",
                             scale=0.5, zero_point=-3)
    expected = bytearray(48)
    expected[0] = 3
    struct.pack_into("<I", expected, 4, 7)
    struct.pack_into("<IIIIIII", expected, 8, 0x8000_0000, 0x8000_1000, 0x8000_2000, 0x8000_3000, 16, 32, 64)
    expected[36], expected[37] = 1, 0b101
    struct.pack_into("<fi", expected, 40, 0.5, -3)
    assert data == bytes(expected)


def test_abi2_header_carries_queue_and_flags() -> None:
    data = encode_descriptor(2, "NOP", command_id=0x01020304, queue="high", flags=("irq", "fence"))
    assert data[:12] == bytes([4, 3, 2, 1, 0, 0, 1, 0, 3, 0, 0, 0]) and len(data) == 64
    assert data[12:] == bytes(52)


def test_decode_is_opcode_aware_and_names_values() -> None:
    data = encode_descriptor(2, "CONV2D", command_id=9, input=0x8000_0000, weight=0x8000_0100,
                             out=0x8000_0200, n=1, c=3, h=8, w=8, k=4, kh=3, kw=3, stride=1, pad=1,
                             layout="nhwc", opts=["bn", "relu"])
    fields = decode_descriptor(2, data)
    assert fields["opcode"] == "CONV2D" and fields["layout"] == "nhwc" and fields["opts"] == ("bn", "relu")
    assert (fields["c"], fields["kh"], fields["pad"], fields["queue"]) == (3, 3, 1, "normal")
    raw = decode_descriptor(2, data, raw=True)
    assert (raw["opcode"], raw["layout"], raw["opts"]) == (5, 1, 6)


def test_garbage_decodes_without_raising() -> None:
    data = bytes([0x4D]) + bytes(3) + (5).to_bytes(4, "little") + bytes(range(40))
    fields = decode_descriptor(1, data)
    assert fields == {"opcode": 0x4D, "command_id": 5, "args": bytes(range(40))}
    # MATMUL_INT4 is not an ABI 1 opcode, so it reads as a number there.
    assert decode_descriptor(1, bytes([10]) + bytes(47))["opcode"] == 10
    flags = decode_descriptor(2, bytes(8) + (0x81).to_bytes(4, "little") + bytes(52))["flags"]
    assert flags == ("irq", "bit7")
    assert encode_descriptor(2, "NOP", flags=flags)[8:12] == (0x81).to_bytes(4, "little")


@pytest.mark.parametrize(("call", "message"), [
    (lambda: encode_descriptor(1, "MATMUL_INT4"), "opcode MATMUL_INT4 is not defined in ABI 1"),
    (lambda: encode_descriptor(1, "WARP"), "unknown opcode 'WARP'"),
    (lambda: encode_descriptor(3, "NOP"), r"unknown ABI generation 3 \(known: 1, 2\)"),
    (lambda: encode_descriptor(1, "COPY", depth=3), r"COPY/abi1: no field 'depth' \(fields: opcode,"),
    (lambda: encode_descriptor(1, "COPY", n=70000), r"COPY/abi1.n: value 70000 does not fit u16 \(0..65535"),
    (lambda: encode_descriptor(1, "MATMUL", zero_point=2**31), "does not fit i32"),
    (lambda: encode_descriptor(1, "MATMUL", dtype="bf16"), "'bf16' is not a dtype value"),
    (lambda: encode_descriptor(1, "MATMUL", opts="gelu"), "'gelu' is not a matmul_opts flag"),
    (lambda: encode_descriptor(1, "MATMUL", m=1.5), r"MATMUL/abi1.m: expected an integer, got 1.5"),
    (lambda: encode_descriptor(1, "MATMUL", scale="x"), "MATMUL/abi1.scale: expected a number"),
    (lambda: encode_descriptor(1, "MATMUL", scale=1e39), r"MATMUL/abi1.scale: 1e\+39 does not fit f32"),
    (lambda: encode_descriptor(2, "NOP", flags="irq|bitx"), "'bitx' is not a desc_flags flag"),
    (lambda: decode_descriptor(1, bytes(64)), "ABI 1 descriptor is 48 bytes, got 64"),
    (lambda: decode_completion(2, bytes(16)), "ABI 2 completion is 32 bytes, got 16"),
    (lambda: encode_completion(1, status="FINE"), "'FINE' is not a status value"),
])
def test_codec_errors_say_what_and_where(call, message: str) -> None:
    with pytest.raises(AbiError, match=message):
        call()


def test_completions_round_trip_in_both_generations() -> None:
    one = encode_completion(1, command_id=42, status="BAD_ADDRESS", opcode="COPY", cycles=1234,
                            value=0x9000_0000)
    assert one == struct.pack("<IHBxII", 42, 3, 2, 1234, 0x9000_0000)
    assert decode_completion(1, one) == {"command_id": 42, "status": "BAD_ADDRESS", "opcode": "COPY",
                                         "cycles": 1234, "value": 0x9000_0000}
    two = encode_completion(2, command_id=1, status=0, opcode=9, cycles=1 << 40, value=0xCBF43926, queue=1)
    assert decode_completion(2, two) == {"command_id": 1, "status": "OK", "opcode": "CHECKSUM",
                                         "cycles": 1 << 40, "value": 0xCBF43926, "detail": 0, "queue": "high"}
    assert decode_completion(1, struct.pack("<IHBxII", 1, 99, 0, 0, 0))["status"] == 99


def _values(fields):
    """A strategy for one value per field (the opcode aside), each within its type."""
    def one(f):
        if f.type == "f32":
            return st.floats(width=32, allow_nan=False)
        lo, hi = f.value_range()
        return st.integers(lo, hi)
    return st.fixed_dictionaries({f.name: one(f) for f in fields if f.name != "opcode"})


_CASES = [(g, o.name) for o in abi().opcodes for g in o.abi]
_DRAWS = st.one_of([st.tuples(st.just(case), _values(abi().descriptor_layout(*case).fields))
                    for case in _CASES])


@pytest.mark.parametrize(("gen", "op"), _CASES, ids=[f"abi{g}-{o}" for g, o in _CASES])
def test_every_opcode_round_trips_its_extreme_values(gen: int, op: str) -> None:
    layout = abi().descriptor_layout(gen, op)
    for pick in (0, 1):
        values = {f.name: (float(pick) if f.type == "f32" else f.value_range()[pick])
                  for f in layout.fields if f.name != "opcode"}
        encoded = encode_descriptor(gen, op, **values)
        assert len(encoded) == abi().generation(gen).descriptor_size
        assert decode_descriptor(gen, encoded, raw=True) == {"opcode": abi().opcode(op).code, **values}


@settings(max_examples=100)
@given(_DRAWS)
def test_random_descriptors_round_trip_raw(draw) -> None:
    (gen, op), values = draw
    encoded = encode_descriptor(gen, op, **values)
    assert decode_descriptor(gen, encoded, raw=True) == {"opcode": abi().opcode(op).code, **values}


def test_feature_bits_name_both_ways() -> None:
    table = abi()
    assert table.feature_mask(["matmul_fp16", "checksum"]) == 0b10001
    assert table.feature_names(0b1000_0000_0100_0001) == ("matmul_fp16", "matmul_int4", "bit15")
    with pytest.raises(AbiError, match="unknown feature 'warp'"):
        table.feature_mask(["warp"])


@pytest.mark.skipif(shutil.which("riscv64-unknown-elf-as") is None, reason="GNU as for RISC-V not installed")
def test_gnu_as_reads_the_generated_constants_with_the_tables_values(tmp_path: Path) -> None:
    obj = tmp_path / "abi.o"
    subprocess.run(["riscv64-unknown-elf-as", "-march=rv32im", "-o", str(obj),
                    str(ROOT / "firmware/src/abi_gen.inc")], check=True)
    nm = subprocess.run(["riscv64-unknown-elf-nm", str(obj)], check=True, capture_output=True, text=True)
    symbols = {name: int(value, 16) for value, _, name in (line.split() for line in nm.stdout.splitlines())}
    table = abi()
    assert symbols["OP_MATMUL"] == table.opcode("MATMUL").code
    assert symbols["D1_MATMUL_M"] == table.descriptor_layout(1, "MATMUL").field("m").offset == 24
    assert symbols["D2_CONV2D_OPTS"] == table.descriptor_layout(2, "CONV2D").field("opts").offset == 52
    assert symbols["DESC2_SIZE"] == 64 and symbols["CQE2_CYCLES"] == 8 and symbols["ST_UNSUPPORTED"] == 7
    assert symbols["FEAT_MATMUL_INT4"] == 1 << symbols["FEAT_MATMUL_INT4_BIT"] == 64
    assert symbols["MATMUL_OPTS_REQUANT"] == 4 and symbols["INFO_SIZE"] == 64


# -- validation: one bad table per rule ------------------------------------------------------------------

MINIMAL = """
[constants]
ALIGN = { value = 32, desc = "alignment" }

[[generation]]
number = 1
desc = "g"
descriptor_size = 16
args_offset = 8
completion_size = 8
queues = 1
header = [
  { name = "opcode",     offset = 0, type = "u8",  enum = "opcode", desc = "op" },
  { name = "command_id", offset = 4, type = "u32", desc = "id" },
]
completion = [
  { name = "command_id", offset = 0, type = "u32", desc = "id" },
  { name = "status",     offset = 4, type = "u16", enum = "status", desc = "status" },
]

[[opcode]]
name = "NOP"
code = 0
abi = [1]
desc = "nothing"
args = []

[[opcode]]
name = "ADD"
code = 1
abi = [1]
desc = "add"
args = [
  { name = "src",  offset = 0, type = "addr", desc = "s" },
  { name = "mode", offset = 4, type = "u8", enum = "mode", desc = "m" },
  { name = "opts", offset = 5, type = "u8", flags = "opts", desc = "o" },
]

[[status]]
name = "OK"
code = 0
desc = "fine"

[[feature]]
name = "fast"
bit = 0
desc = "f"

[enums]
mode = [ { name = "plain", value = 0, desc = "p" } ]

[flags]
opts = [ { name = "relu", bit = 0, desc = "r" } ]

[info]
size = 8
fields = [ { name = "version", offset = 0, type = "u32", desc = "v" } ]
"""


def test_minimal_table_loads() -> None:
    table = load(MINIMAL)
    assert table.encode_descriptor(1, "ADD", src=4, opts="relu") == bytes([1, 0, 0, 0, 0, 0, 0, 0,
                                                                           4, 0, 0, 0, 0, 1, 0, 0])


@pytest.mark.parametrize(("old", "new", "message"), [
    ('{ name = "mode", offset = 4', '{ name = "mode", offset = 3',
     r"opcode ADD: field 'mode' \(bytes 3..3\) overlaps 'src' \(bytes 0..3\)"),
    ('{ name = "src",  offset = 0', '{ name = "src",  offset = 8',
     r"opcode ADD \(ABI 1 argument area\): field 'src' \(bytes 8..11\) lies outside bytes 0..7"),
    ('{ name = "src",  offset = 0', '{ name = "src",  offset = 2',
     r"opcode ADD.src: offset 2 is not a multiple of its size 4"),
    ('{ name = "command_id", offset = 4, type = "u32", desc = "id" },\n]\ncompletion',
     '{ name = "command_id", offset = 8, type = "u32", desc = "id" },\n]\ncompletion',
     r"generation 1 header: field 'command_id' \(bytes 8..11\) lies outside bytes 0..7"),
    ('{ name = "status",     offset = 4', '{ name = "status",     offset = 8',
     r"generation 1 completion: field 'status' \(bytes 8..9\) lies outside bytes 0..7"),
    ('name = "ADD"\ncode = 1', 'name = "ADD"\ncode = 0', r"opcode code 0 declared twice \(ADD\)"),
    ('name = "ADD"\ncode = 1', 'name = "NOP"\ncode = 1', "opcode name 'NOP' declared twice"),
    ('name = "ADD"\ncode = 1', 'name = "ADD"\ncode = 300', r"opcode value 'ADD' \(300\) does not fit u8"),
    ('name = "ADD"\ncode = 1\n', 'name = "ADD"\n', "opcode ADD: missing 'code'"),
    ('abi = [1]\ndesc = "add"', 'abi = [3]\ndesc = "add"', "opcode ADD: unknown ABI generation 3"),
    ('desc = "add"\n', 'desc = "add"\nfeature = "warp"\n', "opcode ADD: unknown feature 'warp'"),
    ('type = "u8", enum = "mode"', 'type = "u24", enum = "mode"',
     r"opcode ADD.mode: unknown type 'u24' \(one of u8, u16"),
    ('enum = "mode"', 'enum = "nope"', "opcode ADD.mode: unknown enum table 'nope'"),
    ('{ name = "relu", bit = 0', '{ name = "relu", bit = 8',
     r"opcode ADD.opts: opts value 'relu' \(8\) does not fit u8"),
    ('{ name = "opts", offset = 5', '{ name = "mode", offset = 5', "opcode ADD: field 'mode' declared twice"),
    ('[[status]]\nname = "OK"', '[[status]]\nname = "DUP"\ncode = 0\ndesc = "d"\n[[status]]\nname = "OK"',
     r"status code 0 declared twice \(OK\)"),
    ('[[feature]]\nname = "fast"\nbit = 0', '[[feature]]\nname = "slow"\nbit = 0\ndesc = "s"\n'
     '[[feature]]\nname = "fast"\nbit = 0', r"feature bit 0 declared twice \(fast\)"),
    ('name = "fast"\nbit = 0', 'name = "fast"\nbit = 40', r"feature fast: bit 40 outside 0..31"),
    ('[ { name = "plain", value = 0, desc = "p" } ]', '[ { name = "plain", value = 0, desc = "p" }, '
     '{ name = "plain", value = 1, desc = "q" } ]', "enum mode: name 'plain' declared twice"),
    ('fields = [ { name = "version", offset = 0', 'fields = [ { name = "version", offset = 8',
     r"info: field 'version' \(bytes 8..11\) lies outside bytes 0..7"),
    ('[info]\nsize = 8', '[info]\nsize = "8"', "info: 'size' has the wrong type"),
    ('args_offset = 8', 'args_offset = 24', "generation 1: args_offset 24 outside the 16-byte descriptor"),
    ('[enums]\nmode', '[enums]\nstatus = []\nmode', "table name 'status' is reserved"),
    ('name = "NOP"\ncode = 0', 'name = "NOP"\ncode = = 0', r"Invalid value \(at line \d+, column \d+\)"),
])
def test_each_validation_rule_rejects_its_bad_table(old: str, new: str, message: str) -> None:
    assert MINIMAL.count(old) == 1, old
    with pytest.raises(SpecError) as info:
        load(MINIMAL.replace(old, new))
    lines = str(info.value).splitlines()
    assert all(line.startswith("abi.toml: error: ") for line in lines)
    assert any(re.search(message, line) for line in lines), lines


def test_describe_prints_fields_by_name_for_a_person() -> None:
    table = abi()
    data = encode_descriptor(1, "MATMUL", command_id=7, a=0x8000_0000, m=4, dtype="int8", opts="bias|relu",
                             scale=0.5)
    assert table.describe(1, data) == ("MATMUL command_id=7 a=0x80000000 b=0x0 c=0x0 bias=0x0 m=4 n=0 k=0 "
                                       "dtype=int8 opts=bias|relu scale=0.5 zero_point=0")
    nop = encode_descriptor(2, "NOP", command_id=1)
    assert table.describe(2, nop) == "NOP command_id=1 queue=normal flags=-"
    assert table.describe(1, bytes([77]) + bytes(47)) == "77(not in ABI 1) command_id=0 args=" + "00" * 40
    done = encode_completion(1, command_id=3, status="MISALIGNED", opcode="COPY", cycles=12,
                             value=0x8000_0004)
    assert table.describe(1, done, completion=True) == (
        "completion command_id=3 status=MISALIGNED opcode=COPY cycles=12 value=2147483652")


def test_constants_and_statuses_by_name() -> None:
    table = abi()
    assert table.constant("ADDR_ALIGN") == 32
    assert table.status("OVERLAP").code == 5 and table.status(6).name == "SIZE_OVERFLOW"
    with pytest.raises(AbiError, match="unknown ABI constant 'PAGE'"):
        table.constant("PAGE")
    with pytest.raises(AbiError, match="unknown status code 'FINE'"):
        table.status("FINE")
