"""`npudbg`: batch mode exit codes and error locations, -x/-ex order, options, compat placeholder."""

from __future__ import annotations

import subprocess
import sys
import time

from debugger.cli import main


def _script(tmp_path, text: str):
    path = tmp_path / "script.gdb"
    path.write_text(text)
    return path


def test_batch_success(tmp_path, capsys):
    path = _script(tmp_path, "# a comment\nbreak handle_nop\np/x 255\ncheck $pc != 0\n")
    assert main(["--batch", "-x", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.endswith("$1 = 0xff\n") and err == ""


def test_batch_stops_at_the_first_error_with_its_location(tmp_path, capsys):
    path = _script(tmp_path, "p 1\np 2\np $nosuch\np 4\n")
    assert main(["--batch", "-x", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == "$1 = 1\n$2 = 2\n"
    assert err == f"{path}:3: error: no register named $nosuch\n"


def test_batch_failed_check(tmp_path, capsys):
    path = _script(tmp_path, "check 1 == 1\ncheck $sp == 0\n")
    assert main(["--batch", "-x", str(path)]) == 1
    assert capsys.readouterr().err == f"{path}:2: error: check failed: $sp == 0\n"


def test_ex_commands_in_order_with_files(tmp_path, capsys):
    path = _script(tmp_path, "p 2\n")
    argv = ["--batch", "-ex", "p 1", "-x", str(path), "-ex", "p 3", "-ex", "frobnicate", "-ex", "p 5"]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == "$1 = 1\n$2 = 2\n$3 = 3\n"
    assert err == "-ex 4: error: undefined command: \"frobnicate\"; try 'help'\n"


def test_quit_status_and_nested_source(tmp_path, capsys):
    inner = tmp_path / "inner.gdb"
    inner.write_text("p 7\nsource missing.gdb\n")
    outer = _script(tmp_path, f"source {inner}\n")
    assert main(["--batch", "-x", str(outer)]) == 1
    assert capsys.readouterr().err == f"{inner}:2: error: missing.gdb: No such file or directory\n"
    assert main(["--batch", "-ex", "quit 3", "-ex", "p 1"]) == 3
    assert capsys.readouterr().out == ""


def test_commands_block_in_a_script(tmp_path, capsys):
    path = _script(tmp_path, "break handle_nop\ncommands\nsilent\np 1\nend\ninfo breakpoints\n")
    assert main(["--batch", "-x", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.endswith("        silent\n        p 1\n")


def test_python_block(tmp_path, capsys):
    path = _script(tmp_path, "python\nout.line(hex(session.eval('1 << 4')))\nend\n"
                             "python out.line('one line')\n")
    assert main(["--batch", "-x", str(path)]) == 0
    assert capsys.readouterr().out == "0x10\none line\n"


def test_bad_firmware_and_compat(capsys):
    assert main(["--firmware", "9.9.9", "--batch"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("npudbg: error: no firmware release 9.9.9") and err.count("\n") == 1
    assert main(["--firmware", "/nonexistent.elf", "--batch"]) == 1
    assert capsys.readouterr().err == \
        "npudbg: error: firmware /nonexistent.elf: no such file (give a path or a release version)\n"


def test_older_firmware_by_version(capsys):
    assert main(["--firmware", "1.0.0", "--batch", "-ex", "p 1"]) == 0
    assert capsys.readouterr().out == "$1 = 1\n"


def test_plain_loop_repeats_stepi_on_empty_line(monkeypatch, capsys):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("reset\nstepi\n\n\np $pc\n"))
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.endswith("$1 = 12\n")


def test_startup_is_fast_and_exit_status_real():
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "debugger.cli", "--batch", "-ex", "quit"],
                          capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - t0
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    assert elapsed < 10  # the benchmark measures the 0.5 s target on a quiet machine
    fail = subprocess.run([sys.executable, "-m", "debugger.cli", "--batch", "-ex", "p $nope"],
                          capture_output=True, text=True, timeout=60)
    assert (fail.returncode, fail.stderr) == (1, "-ex 1: error: no register named $nope\n")
