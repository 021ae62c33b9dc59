"""The server's framing, checked against the test client's own implementation, and its XML chunks."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from debugger.gdb import rsp, stopreply, tdesc
from debugger.stops import StopEvent
from isa.registers import register_table
from tests.debugger.gdb import rspclient


@given(st.binary(max_size=300))
def test_escaping_round_trips_and_matches_the_client(data):
    escaped = rsp.escape(data)
    assert escaped == rspclient.escape(data)
    assert not set(escaped) & set(b"#$*")
    assert rsp.unescape(escaped) == data


@given(st.binary(max_size=200), st.integers(min_value=1, max_value=7))
def test_reader_finds_packets_across_any_split(data, step):
    body = rspclient.escape(data)
    wire = b"+" + b"$" + body + b"#" + rspclient.cksum(body) + b"\x03" + b"$qC#b4" + b"-"
    reader = rsp.PacketReader()
    events = []
    for i in range(0, len(wire), step):
        events += reader.feed(wire[i:i + step])
    assert [e.kind for e in events] == ["ack", "packet", "interrupt", "packet", "nak"]
    assert events[1].good and rsp.unescape(events[1].payload) == data
    assert events[3] == rsp.Event("packet", b"qC", True)


def test_reader_flags_a_bad_checksum():
    (ev,) = rsp.PacketReader().feed(b"$qC#00")
    assert ev.kind == "packet" and not ev.good


def test_frame_uses_the_modulo_256_sum():
    assert rsp.frame(b"OK") == b"$OK#9a"
    assert rsp.frame(b"") == b"$#00"


def test_xfer_chunks_reassemble_the_document():
    doc = tdesc.target_xml()
    got, offset = b"", 0
    while True:
        piece = tdesc.xfer_chunk(doc, offset, 0x80)
        data = rspclient.unescape(piece[1:])
        got += data
        offset += len(data)
        if piece[:1] == b"l":
            break
        assert piece[:1] == b"m"
    assert got.decode() == doc


def test_exit_replies():
    assert stopreply.exit_reply(0) == "W00"
    assert stopreply.exit_reply(3) == "W03"
    assert stopreply.exit_reply(None) == "X09"  # killed
    ev = StopEvent("exited", 0, 5, "[Host program raised ValueError: x at prog.py:3]", exit_code=1)
    assert stopreply.stop_reply(ev, 0) == "W01"


def test_a_trap_is_reported_with_the_signal_of_its_cause():
    table = register_table()

    def signal_of(name: str) -> int:
        cause = table.cause_named(name)
        assert cause is not None
        reply = stopreply.stop_reply(StopEvent("trap", 0x40, 1, cause=cause.code), 0x40)
        return int(reply[1:3], 16)

    assert signal_of("illegal_instruction") == stopreply.SIGILL == 4
    assert signal_of("load_fault") == signal_of("store_fault") == stopreply.SIGSEGV
    assert signal_of("fetch_fault") == stopreply.SIGSEGV
    assert signal_of("store_misaligned") == signal_of("load_misaligned") == stopreply.SIGBUS
    assert signal_of("breakpoint") == signal_of("ecall") == stopreply.SIGTRAP
    assert stopreply.trap_signal(None) == stopreply.trap_signal(0x1234) == stopreply.SIGTRAP


def test_stop_reply_fields():
    ev = StopEvent("watchpoint", 0x948, 10, addr=0x100146, number=3)
    # an access starting below the watched range names an address inside it
    assert stopreply.why_field(ev, 2, 0x100148, 4) == "watch:100148"
    assert stopreply.stop_reply(ev, 0x944, "watch:100148") == "T05watch:100148;20:44090000;thread:1;"
    assert stopreply.stop_reply(StopEvent("interrupt", 4, 0), 4).startswith("T02")
