"""Starting the server from the command line: `npudbg --gdb PORT` and the shell's `gdbserver PORT`."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

from tests.debugger.gdb.rspclient import RspClient

ROOT_CMD = [sys.executable, "-m", "debugger.cli"]


def _listening(proc: subprocess.Popen) -> int:
    """The port the server announced (it was asked for any free one)."""
    for line in proc.stdout:
        m = re.match(r"Listening on port (\d+)$", line.strip())
        if m:
            return int(m[1])
    raise AssertionError("the server never said where it listens: " + proc.stderr.read())


def test_npudbg_gdb_serves_until_kill():
    proc = subprocess.Popen([*ROOT_CMD, "-ex", "break handle_nop", "--gdb", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        c = RspClient(_listening(proc))
        assert c.request("qAttached") == "1"
        text, _ = c.monitor("info breakpoints")
        assert "handle_nop" in text  # the -ex commands ran first, on the same session
        c.send("k")
        assert proc.wait(timeout=60) == 0
        assert "gdb killed the target." in proc.stdout.read()
    finally:
        proc.kill()
        proc.wait()


def test_gdbserver_command_once_returns_to_the_script():
    proc = subprocess.Popen([*ROOT_CMD, "--batch", "-ex", "gdbserver 0 --once", "-ex", "echo back\\n"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        c = RspClient(_listening(proc))
        assert c.request("D") == "OK"
        assert proc.wait(timeout=60) == 0
        out = proc.stdout.read()
        assert "gdb detached; the target stays stopped." in out and out.endswith("back\n")
    finally:
        proc.kill()
        proc.wait()


def test_ctrl_c_in_npudbg_stops_serving():
    proc = subprocess.Popen([*ROOT_CMD, "--gdb", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        c = RspClient(_listening(proc))
        assert c.request("qC") == "QC1"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert c.closed()
        assert "The gdb server is closing." in proc.stdout.read()
        assert proc.stderr.read() == ""
    finally:
        proc.kill()
        proc.wait()


def test_port_in_use_is_one_line():
    import socket

    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        done = subprocess.run([*ROOT_CMD, "--gdb", str(port)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    expected = rf"npudbg: error: gdb server: cannot listen on 127\.0\.0\.1:{port}: .+\n"
    assert re.fullmatch(expected, done.stderr)
