"""The gdb server driven by a small RSP client, on a real session running the real firmware."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest

from debugger.gdb.server import GdbServer
from isa.memmap import memory_map
from isa.registers import register_table
from tests.debugger.conftest import addr, run
from tests.debugger.gdb.rspclient import RspClient, le32, stop_fields, wait_for

JUMP_TO_SELF = 0x0000006F  # jal x0, 0


def pc_of(reply: str) -> int:
    return le32(stop_fields(reply)["20"])


# ---------------------------------------------------------------- negotiation and queries


def test_qsupported_offers_what_gdb_needs(served):
    reply = served.client.request("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386")
    features = reply.split(";")
    assert {"swbreak+", "hwbreak+", "qXfer:features:read+", "qXfer:memory-map:read+",
            "QStartNoAckMode+"} <= set(features)
    size = next(f for f in features if f.startswith("PacketSize="))
    assert int(size.split("=")[1], 16) >= 4096


def test_one_thread_attached_and_stopped(served):
    c = served.client
    assert c.request("qAttached") == "1"
    assert c.request("qfThreadInfo") == "m1"
    assert c.request("qsThreadInfo") == "l"
    assert c.request("qC") == "QC1"
    assert c.request("Hg0") == "OK"
    assert c.request("T1") == "OK"
    stop = stop_fields(c.request("?"))
    assert stop["signal"] == "05" and stop["thread"] == "1"
    assert le32(stop["20"]) == served.session.target.device.core.pc


def test_unknown_packets_get_the_empty_reply(served):
    c = served.client
    assert c.request("qFooBar") == ""
    assert c.request("vMustReplyEmpty") == ""
    assert c.request("Z9,1000,4") == ""
    assert c.request("qXfer:libraries:read::0,100") == ""


def test_target_xml_is_the_register_table_in_gdbs_order(served):
    text = served.client.xfer("features", "target.xml", chunk=0x100)  # several m pieces, then l
    root = ET.fromstring(text)
    assert root.findtext("architecture") == "riscv:rv32"
    features = {f.get("name"): f.findall("reg") for f in root.findall("feature")}
    cpu = features["org.gnu.gdb.riscv.cpu"]
    table = register_table()
    assert [r.get("name") for r in cpu] == [g.abi for g in table.gprs] + ["pc"]
    assert [int(r.get("regnum")) for r in cpu] == list(range(33))
    assert {r.get("bitsize") for r in cpu} == {"32"}
    csrs = {r.get("name"): int(r.get("regnum")) for r in features["org.gnu.gdb.riscv.csr"]}
    assert csrs == {c.name: 65 + c.number for c in table.csrs}


def test_memory_map_is_the_device_map(served):
    root = ET.fromstring(served.client.xfer("memory-map", ""))
    got = [(int(m.get("start"), 16), int(m.get("length"), 16)) for m in root.findall("memory")]
    assert got == [(r.base, r.size) for r in memory_map("default")]


def test_no_ack_mode(served):
    c = served.client
    assert c.no_ack() == "OK"
    assert c.acks == [b"+"]  # the request itself was still acknowledged
    assert c.request("qC") == "QC1"
    assert c.request("qAttached") == "1"
    assert c.acks == [b"+"] and c.buf == b""  # nothing more: no acks either way


# ---------------------------------------------------------------- registers


def test_g_reads_x0_to_x31_and_pc(served):
    core = served.session.target.device.core
    text = served.client.request("g")
    assert len(text) == 33 * 8
    values = [le32(text[i:i + 8]) for i in range(0, len(text), 8)]
    assert values == [core.regs[n] for n in range(32)] + [core.pc]


def test_p_and_P_by_gdb_number(served):
    c, s = served.client, served.session
    assert le32(c.request("p20")) == s.target.device.core.pc
    mstatus = 65 + register_table().csr_number("mstatus")
    assert le32(c.request(f"p{mstatus:x}")) == s.register_value("mstatus")
    assert c.request("Pa=" + (0x1234ABCD).to_bytes(4, "little").hex()) == "OK"
    assert s.register_value("a0") == 0x1234ABCD
    mscratch = 65 + register_table().csr_number("mscratch")
    assert c.request(f"P{mscratch:x}=" + (0x55).to_bytes(4, "little").hex()) == "OK"
    assert s.register_value("mscratch") == 0x55
    assert c.request("p7ff").startswith("E")  # no such register


def test_G_writes_the_general_registers(served):
    c, s = served.client, served.session
    regs = [le32(c.request("g")[i:i + 8]) for i in range(0, 33 * 8, 8)]
    regs[11] = 0xCAFEF00D
    assert c.request("G" + "".join(v.to_bytes(4, "little").hex() for v in regs)) == "OK"
    assert s.register_value("a1") == 0xCAFEF00D
    assert s.register_value("pc") == regs[32]


# ---------------------------------------------------------------- memory


def test_m_reads_code_and_data(served):
    c, s = served.client, served.session
    start = addr(s, "handle_nop")
    assert bytes.fromhex(c.request(f"m{start:x},20")) == s.read_memory(start, 0x20)


def test_m_on_mmio_peeks_without_side_effects(served):
    c, s = served.client, served.session
    regs = s.target.device.regs
    lost = regs.map.register("errlog.lost")  # clear-on-read
    regs.poke(lost.path, 5)
    for _ in range(2):
        assert le32(c.request(f"m{lost.address:x},4")) == 5
    assert regs.peek(lost.path) == 5


def test_unmapped_memory_is_an_error_and_a_short_read_at_the_end(served):
    c = served.client
    assert c.request("m30000000,4").startswith("E")
    dtcm = next(r for r in memory_map("default") if r.name == "dtcm")
    assert len(bytes.fromhex(c.request(f"m{dtcm.end - 8:x},10"))) == 8


def test_M_and_X_write_memory(served):
    c, s = served.client, served.session
    base = next(r for r in memory_map("default") if r.name == "l1").base
    assert c.request(f"M{base:x},4:deadbeef") == "OK"
    assert s.read_memory(base, 4) == bytes.fromhex("deadbeef")
    data = bytes([0x23, 0x24, 0x7D, 0x2A, 0x00, 0x03, 0xFF])  # every byte that must be escaped, and more
    assert c.request(f"X{base + 8:x},{len(data):x}:".encode() + data, binary=True) == "OK"
    assert s.read_memory(base + 8, len(data)) == data
    assert c.request("M30000000,4:00000000").startswith("E")


@pytest.mark.parametrize("packet", ["mzz,4", "m1000", "M1000,4:abc", "Z0,xyz,4", "Pzz=00000000", "p",
                                    "X1000,4:ab", "qXfer:features:read:target.xml:zz", "vCont;q"])
def test_malformed_packets_get_E01(served, packet):
    assert served.client.request(packet) == "E01"
    assert served.client.request("qC") == "QC1"  # still serving


def test_bad_checksum_is_answered_with_a_nak(served):
    c = served.client
    c.send_raw(b"$qC#00")
    assert c._next_byte() == ord("-")
    assert c.request("qC") == "QC1"


# ---------------------------------------------------------------- running


def test_breakpoint_continue_and_step(served_nop):
    c, s = served_nop.client, served_nop.session
    c.request("qSupported:swbreak+;hwbreak+")
    nop = addr(s, "handle_nop")
    assert c.request(f"Z0,{nop:x},4") == "OK"
    assert any(p.address() == nop for p in s.points.items.values())  # one table with the shell's
    stop = stop_fields(c.request("c"))
    assert stop["signal"] == "05" and "swbreak" in stop
    assert le32(stop["20"]) == nop == s.target.device.core.pc
    assert le32(c.request("g")[32 * 8:]) == nop
    assert c.request(f"z0,{nop:x},4") == "OK"
    assert not s.points.items
    stop = stop_fields(c.request("s"))
    assert le32(stop["20"]) == nop + 4 == s.target.device.core.pc and "swbreak" not in stop


def test_a_caught_illegal_instruction_is_SIGILL(served_nop):
    c, s = served_nop.client, served_nop.session
    text, _ = c.monitor("catch trap illegal_instruction")
    assert text.startswith("Catchpoint 1")
    nop = addr(s, "handle_nop")
    assert c.request(f"Z0,{nop:x},4") == "OK"  # the host program loads the firmware first
    assert pc_of(c.request("c")) == nop
    assert c.request(f"z0,{nop:x},4") == "OK"
    assert c.request(f"M{nop:x},4:00000000") == "OK"  # an all-zero word is not an instruction
    stop = stop_fields(c.request("c"))
    assert stop["signal"] == "04"
    assert s.stops.last.reason == "catchpoint"
    assert s.stops.last.cause == register_table().cause_named("illegal_instruction").code


def test_hardware_breakpoint_reports_hwbreak(served_nop):
    c, s = served_nop.client, served_nop.session
    c.request("qSupported:swbreak+;hwbreak+")
    loop = addr(s, "main_loop")
    assert c.request(f"Z1,{loop:x},4") == "OK"
    reply = c.request("vCont;c:1")
    assert "hwbreak" in stop_fields(reply) and pc_of(reply) == loop


@pytest.mark.parametrize(("ztype", "word"), [(2, "watch"), (3, "rwatch"), (4, "awatch")])
def test_watchpoints(served_nop, ztype, word):
    c, s = served_nop.client, served_nop.session
    counters = addr(s, "fw_counters")  # commands_ok: read, then written, once per command
    assert c.request(f"Z{ztype},{counters:x},4") == "OK"
    stop = stop_fields(c.request("c"))
    assert int(stop[word], 16) == counters
    real = s.target.device.core.pc
    shown = le32(stop["20"])
    assert shown < real  # shown at the accessing instruction, as gdb's RISC-V target expects
    assert le32(c.request("p20")) == shown
    # gdb steps over the access itself (a breakpoint on the next instruction): done at once
    assert c.request(f"z{ztype},{counters:x},4") == "OK"
    assert c.request(f"Z0,{real:x},4") == "OK"
    tick = s.target.device.now
    stop = stop_fields(c.request("c"))
    assert le32(stop["20"]) == real == s.target.device.core.pc and s.target.device.now == tick
    if ztype == 2:
        assert s.read_int(counters, 4) == 1


def spin(c, s) -> int:
    """Stop in handle_nop (the core awake, serving the host's command), then send it to a jump to
    itself with interrupts and the watchdog off: a target that runs until it is interrupted."""
    nop = addr(s, "handle_nop")
    c.request(f"Z0,{nop:x},4")
    c.request("c")
    c.request(f"z0,{nop:x},4")
    text, _ = c.monitor("io set WATCHDOG.EN=0")
    assert "error" not in text, text
    loop = next(r for r in memory_map("default") if r.name == "itcm").end - 0x100
    assert c.request(f"M{loop:x},4:" + JUMP_TO_SELF.to_bytes(4, "little").hex()) == "OK"
    assert c.request("P20=" + loop.to_bytes(4, "little").hex()) == "OK"
    assert c.request("P" + f"{65 + 0x300:x}=" + bytes(4).hex()) == "OK"  # mstatus.MIE off
    return loop


def test_ctrl_c_interrupts_a_running_target(served_nop):
    c, s = served_nop.client, served_nop.session
    loop = spin(c, s)
    c.send("c")
    wait_for(lambda: s.running)
    time.sleep(0.05)
    c.interrupt()
    stop = stop_fields(c.receive())
    assert stop["signal"] == "02"
    assert le32(stop["20"]) == loop == s.target.device.core.pc
    assert not s.running


def test_host_program_exit_is_W00(served_nop):
    c = served_nop.client
    reply = c.request("c")
    assert reply == "W00"
    assert "[Host program exited normally]" in "".join(c.console)


def test_idle_stop_says_why_on_the_console(served):
    c = served.client
    reply = c.request("c")
    assert stop_fields(reply)["signal"] == "05"
    assert "".join(c.console).startswith("Target idle:")


def test_catchpoint_set_with_monitor_stops_gdb_with_its_text(served_nop):
    c, s = served_nop.client, served_nop.session
    text, _ = c.monitor("catch mmio write QUEUE0.SQ_DOORBELL")
    assert text.startswith("Catchpoint 1")
    c.console.clear()
    stop = stop_fields(c.request("c"))
    assert stop["signal"] == "05" and le32(stop["20"]) == s.target.device.core.pc
    assert s.stops.last.reason == "catchpoint"
    shown = "".join(c.console)  # the session's own report: the event, then where the core is
    assert shown.startswith(s.stops.last.text + "\n")
    assert s.frame_line(s.target.device.core.pc) in shown


# ---------------------------------------------------------------- monitor


def test_monitor_runs_an_npudbg_command(served):
    c, s = served.client, served.session
    text, reply = c.monitor("info io DMA")
    assert reply == "OK"
    assert text == run(s, "info io DMA") and "DMA.ERR_CAUSE" in text


def test_monitor_error_is_one_line(served):
    text, reply = served.client.monitor("frobnicate")
    assert reply == "OK"
    assert text.count("\n") == 1 and "frobnicate" in text


# ---------------------------------------------------------------- ending


def test_detach_leaves_the_session_usable_and_the_server_listening(served_nop):
    c, s = served_nop.client, served_nop.session
    nop = addr(s, "handle_nop")
    c.request(f"Z0,{nop:x},4")
    assert c.request("D") == "OK"
    assert c.closed()
    assert not s.points.items  # gdb's points go with it
    assert s.run_command("p $pc")
    c = served_nop.reconnect()
    assert c.request("qAttached") == "1"


def test_dropped_connection_while_running(served_nop):
    c, s = served_nop.client, served_nop.session
    spin(c, s)
    c.request(f"Z0,{addr(s, 'handle_fence'):x},4")
    c.send("c")
    wait_for(lambda: s.running)
    c.close()
    wait_for(lambda: not s.running and not s.points.items)
    assert s.run_command("stepi")
    c = served_nop.reconnect()
    assert c.request("qC") == "QC1"


def test_kill_resets_the_device_and_ends_serving(session):
    server = GdbServer(session).start()
    c = RspClient(server.port)
    c.send("k")
    assert c.closed()
    wait_for(lambda: server.ended is not None)
    assert server.ended == "kill"
    assert session.target.device.core.pc == session.target.entry
    server.close()
    c.close()
