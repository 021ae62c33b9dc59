"""The command rings: malformed descriptors get their error code and the firmware goes on;
ordering, wrap-around, a full completion ring, priorities and interrupts."""

from __future__ import annotations

import struct

import pytest
from fwharness import FwHarness

from firmware.abi import abi

TABLE = abi()
HBM = 0x8000_0000
HBM_SIZE = 256 << 20


def opened(version: str, gen: int | None = None, entries: int = 16) -> FwHarness:
    return FwHarness(version).open(gen, entries)


def arg_offset(h: FwHarness, opcode: str, arg: str) -> int:
    return TABLE.descriptor_layout(h.gen, opcode).field(arg).offset


def patched(h: FwHarness, data: bytes, offset: int, fmt: str, value: int) -> bytes:
    buf = bytearray(data)
    struct.pack_into(fmt, buf, offset, value)
    return bytes(buf)


def expect(h: FwHarness, data: bytes, status: str, detail: int) -> None:
    """Submit `data`: it fails with `status`/`detail`; a NOP right after it succeeds."""
    h.submit_raw(data)
    (bad,) = h.wait()
    assert (bad.status, bad.detail) == (status, detail)
    header = TABLE.generation(h.gen).header
    cid = struct.unpack_from("<I", data, header.field("command_id").offset)[0]
    assert bad["command_id"] == cid
    if status != "OK":
        op = header.field("opcode")
        logged = h.cmd_errors()[-1]
        assert logged == {"command_id": cid, "status": bad.code, "detail": detail, "queue": 0, "gen": h.gen,
                          "opcode": int.from_bytes(data[op.offset:op.offset + op.size], "little")}
    assert h.run("NOP").status == "OK"


GENS = [("1.3.0", 1), ("2.0.0", 1), ("2.0.0", 2), ("2.1.0", 2)]


@pytest.mark.parametrize(("version", "gen"), GENS)
def test_unknown_opcodes_are_bad_opcode(version: str, gen: int) -> None:
    h = opened(version, gen)
    op = TABLE.generation(gen).header.field("opcode")
    fmt = "<B" if op.size == 1 else "<H"
    for code in (TABLE.opcode("MATMUL_INT4").code + 1, 0xFF):
        expect(h, patched(h, h.descriptor("NOP"), op.offset, fmt, code), "BAD_OPCODE", op.offset)


def test_an_opcode_of_another_generation_is_bad_opcode() -> None:
    h = opened("2.0.0", 1)  # speaks ABI 2 too, but MATMUL_INT4 does not exist in ABI 1
    expect(h, patched(h, h.descriptor("NOP"), 0, "<B", TABLE.opcode("MATMUL_INT4").code), "BAD_OPCODE", 0)


@pytest.mark.parametrize(("version", "gen", "opcode", "args"), [
    ("1.2.0", 1, "CHECKSUM", {"src": HBM, "size": 64}),
    ("2.0.0", 2, "MATMUL_INT4", {"m": 16, "n": 16, "k": 16}),
])
def test_an_opcode_this_release_lacks_is_unsupported(version: str, gen: int, opcode: str, args: dict) -> None:
    h = opened(version, gen)
    opcode_at = TABLE.generation(gen).header.field("opcode").offset
    expect(h, h.descriptor(opcode, **args), "UNSUPPORTED", opcode_at)


def test_reserved_header_bytes_must_be_zero_in_abi1() -> None:
    h = opened("1.3.0")
    expect(h, patched(h, h.descriptor("NOP"), 2, "<B", 1), "BAD_PARAM", 2)
    expect(h, patched(h, h.descriptor("NOP"), 1, "<B", 1), "BAD_PARAM", 1)


def test_abi2_header_checks() -> None:
    h = opened("2.1.0")
    g = TABLE.generation(2)
    queue, flags = g.header.field("queue").offset, g.header.field("flags").offset
    expect(h, patched(h, h.descriptor("NOP"), queue, "<B", 1), "BAD_PARAM", queue)  # not this ring
    expect(h, patched(h, h.descriptor("NOP"), flags, "<I", 1 << 7), "BAD_PARAM", flags)
    expect(h, patched(h, h.descriptor("NOP"), queue + 1, "<B", 1), "BAD_PARAM", queue + 1)
    expect(h, patched(h, h.descriptor("NOP"), 12, "<I", 5), "BAD_PARAM", 12)


@pytest.mark.parametrize(("version", "gen"), [("1.3.0", 1), ("2.1.0", 2)])
def test_buffer_checks(version: str, gen: int) -> None:
    h = opened(version, gen)
    size_at = arg_offset(h, "CHECKSUM", "size")
    buf = h.alloc(256)
    cases = [
        (dict(src=0x0010_0000, size=64), "BAD_ADDRESS", 0x0010_0000),  # DTCM: not HBM
        (dict(src=HBM - 64, size=64), "BAD_ADDRESS", HBM - 64),
        (dict(src=HBM + HBM_SIZE - 64, size=96), "BAD_ADDRESS", HBM + HBM_SIZE - 64),  # runs off the end
        (dict(src=buf, size=0xFFFF_FFE0), "BAD_ADDRESS", buf),  # huge: would wrap
        (dict(src=buf + 4, size=64), "MISALIGNED", buf + 4),
        (dict(src=buf, size=0), "BAD_SIZE", size_at),
    ]
    for args, status, detail in cases:
        expect(h, h.descriptor("CHECKSUM", **args), status, detail)
    info = h.alloc(64)
    expect(h, h.descriptor("GET_INFO", dst=info, size=63), "BAD_SIZE", arg_offset(h, "GET_INFO", "size"))


def test_copy_checks() -> None:
    h = opened("1.3.0")
    a, b = h.alloc(4096), h.alloc(4096)
    off = {name: arg_offset(h, "COPY", name) for name in ("size", "transform", "elem_size", "n", "w")}
    t = dict(transform="nchw_to_nhwc", elem_size=2, n=1, c=2, h=4, w=8)
    cases = [
        (dict(src=a, dst=a + 64, size=128), "OVERLAP", a + 64),
        (dict(src=a + 64, dst=a, size=128), "OVERLAP", a),
        (dict(src=a, dst=b, size=0), "BAD_SIZE", off["size"]),
        (dict(src=a, dst=b, size=128, **t), "OK", 0),
        (dict(src=a, dst=b, size=127, **t), "BAD_SIZE", off["size"]),
        (dict(src=a, dst=b, size=128, **(t | {"n": 0})), "BAD_SIZE", off["n"]),
        (dict(src=a, dst=b, size=128, **(t | {"elem_size": 3})), "BAD_PARAM", off["elem_size"]),
        (dict(src=a, dst=b, size=0, **(t | {"n": 0xFFFF, "c": 0xFFFF, "h": 2, "w": 2})),
         "SIZE_OVERFLOW", off["size"]),  # n*c images of h*w*elem_size
        (dict(src=a, dst=b, size=0, **(t | {"n": 1, "c": 1, "h": 0xFFFF, "w": 0xFFFF, "elem_size": 4})),
         "SIZE_OVERFLOW", off["elem_size"]),
        (dict(src=a, dst=b, size=2 << 20, **(t | {"n": 1, "c": 16, "h": 256, "w": 256})),
         "BAD_SIZE", off["size"]),  # one image larger than L1
    ]
    for args, status, detail in cases:
        expect(h, h.descriptor("COPY", **args), status, detail)
    bad_transform = patched(h, h.descriptor("COPY", src=a, dst=b, size=64), h.abi.descriptor_layout(
        1, "COPY").field("transform").offset, "<B", 9)
    expect(h, bad_transform, "BAD_PARAM", off["transform"])


def test_many_commands_wrap_around_the_rings_in_order() -> None:
    h = opened("1.3.0", entries=4)
    ids = []
    for _ in range(5):  # 15 commands through 4-entry rings, three at a time
        batch = [h.new_id() for _ in range(3)]
        for cid in batch:
            h.submit_raw(h.descriptor("NOP", cid), ring=False)
        h.doorbell()
        ids += [c["command_id"] for c in h.wait(3)]
    assert ids == list(range(1, 16))


def test_a_full_completion_ring_holds_the_firmware_until_the_host_takes_entries() -> None:
    h = opened("2.1.0", entries=4)
    for _ in range(3):
        h.submit("NOP")
    h.dev.advance(1_000_000)
    assert h.pending() == 3  # the completion ring is full
    for _ in range(3):
        h.submit("NOP")
    h.dev.advance(1_000_000)
    assert h.pending() == 3
    assert h.dev.regs.peek("queue0.sq_head") == 0  # one taken and waiting: 4 % 4
    first = [c["command_id"] for c in h.wait(3)]
    rest = [c["command_id"] for c in h.wait(3)]
    assert first + rest == [1, 2, 3, 4, 5, 6]


def test_the_high_priority_queue_is_served_first() -> None:
    h = opened("2.0.0", 2)
    info = h.alloc(64)
    for _ in range(3):
        h.submit_raw(h.descriptor("NOP"), queue=0, ring=False)
    h.submit_raw(h.descriptor("GET_INFO", queue=1, dst=info, size=64), queue=1, ring=False)
    h.doorbell(0)
    (done,) = h.wait(1, queue=1)
    assert done.status == "OK" and done["queue"] == "high"
    assert h.get(info + 40, "<u4", 1)[0] == 0  # commands_ok: nothing of queue0 ran before it
    assert [c["queue"] for c in h.wait(3, queue=0)] == ["normal"] * 3


def test_abi1_has_one_queue() -> None:
    h = opened("2.0.0", 1)
    h.wr("queue1.sq_base", HBM + 0x2000)
    h.wr("queue1.sq_size", 16)
    h.wr("queue1.enable", 1)
    h.dev.bar2_write(0x2000, h.descriptor("NOP"))
    h.wr("queue1.sq_tail", 1)
    h.doorbell(1)
    h.dev.advance(1_000_000)
    assert h.dev.regs.peek("queue1.sq_head") == 0


def test_completion_interrupts() -> None:
    h = opened("2.1.0")
    h.submit_raw(h.descriptor("NOP", flags=0))
    h.wait()
    assert h.field("host_irq.status.cq0") == 0  # ABI 2: only when the descriptor asks
    h.run("NOP")
    assert h.field("host_irq.status.cq0") == 1 and h.dev.host_irq_pending()
    g1 = opened("1.3.0")
    g1.run("NOP")
    assert g1.field("host_irq.status.cq0") == 1  # ABI 1: always


def test_a_disabled_queue_or_a_ring_outside_hbm_is_not_served() -> None:
    h = opened("1.3.0")
    h.wr("queue0.enable", 0)
    h.submit("NOP")
    h.dev.advance(1_000_000)
    assert h.dev.regs.peek("queue0.sq_head") == 0
    h.wr("queue0.cq_base", 0x0010_0000)  # completions into DTCM: refused
    h.wr("queue0.enable", 1)
    h.doorbell()
    h.dev.advance(1_000_000)
    assert h.dev.regs.peek("queue0.sq_head") == 0
    h.wr("queue0.cq_base", HBM + 0x1000)
    h.doorbell()
    assert h.wait()[0].status == "OK"


def test_a_unit_error_during_a_command_is_a_device_error_and_the_next_command_runs() -> None:
    h = opened("1.3.0")
    src, dst = h.alloc(256), h.alloc(256)
    h.dev.inject("dma_error", on="dma")
    bad = h.run("COPY", src=src, dst=dst, size=256)
    assert bad.status == "DEVICE_ERROR"
    assert h.errlog()[-1]["cause"] == "injected"
    assert h.run("COPY", src=src, dst=dst, size=256).status == "OK"


def test_cycles_are_the_modeled_time_of_the_command() -> None:
    h = opened("2.1.0")
    nop = h.run("NOP")
    fence = h.run("FENCE")
    a = h.alloc(1 << 16)
    crc = h.run("CHECKSUM", src=a, size=1 << 16)
    assert 0 < nop["cycles"] < 200 and 0 < fence["cycles"] < 200
    assert 6 * (1 << 16) < crc["cycles"] < 10 * (1 << 16)  # the core's loop, ~7 instructions a byte
    again = opened("2.1.0")
    assert again.run("NOP")["cycles"] == nop["cycles"]  # virtual time is deterministic


def test_the_command_error_log_keeps_the_newest_failures() -> None:
    h = opened("2.1.0", entries=32)
    for _ in range(18):
        h.submit_raw(patched(h, h.descriptor("NOP"), 4, "<H", 0x7F), ring=False)
    h.doorbell()
    assert all(c.status == "BAD_OPCODE" for c in h.wait(18))
    log = h.cmd_errors()
    assert h.tcm_words(h.symbol("cmd_errlog_count"), 1) == [18]
    assert [e["command_id"] for e in log] == list(range(3, 19))  # the oldest two overwritten
    assert {e["opcode"] for e in log} == {0x7F}
