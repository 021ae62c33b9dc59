"""info version and compat check: the driver's own verdict, for the session's pair or any other."""

from __future__ import annotations

import json

import pytest

from driver.policy import FirmwareDescription, evaluate
from driver.releases import driver_line
from firmware.releases import release_line
from tests.debugger.conftest import run


def test_info_version_before_and_after_the_handshake(session, host) -> None:
    lines = run(session, "info version").splitlines()
    release = driver_line().newest
    assert lines[0].startswith("npudbg ")
    assert lines[1] == (f"Driver release   {release.version}: ABI 2; ops "
                        + ", ".join(op.name for op in release.ops))
    assert lines[2] == "Firmware image   npu-fw-2.1.0.elf: version 2.1.0, ABI 2, drivers 2.0.0..2.1.0"
    assert lines[3].startswith("                 features matmul_fp16, layout_transform, matmul_int8, "
                               "conv_fused, checksum, priority_queue, matmul_int4, conv_tiled, cmd_errlog; "
                               "sha256 ")
    assert lines[4] == \
        "Live registers   fw_version 2.1.0, ABI supported 2, selected 2, driver -, handshake accepted"
    assert lines[5].startswith("                 features matmul_fp16, ")


def test_info_version_on_a_device_that_has_not_booted() -> None:
    from debugger.session import Session

    s = Session(boot=False)
    assert run(s, "info version").splitlines()[-1] == \
        "Live registers   not published yet (the firmware has not booted to READY)"


def test_compat_check_of_the_session_pair_includes_the_live_registers(session) -> None:
    out = run(session, "compat check")
    release = driver_line().newest
    desc = FirmwareDescription.from_release(release_line().release("2.1.0")).with_live(
        fw_version=session.device.regs.peek("version.fw_version"),
        abi_supported=session.device.regs.peek("version.abi_supported"),
        fw_features=session.device.regs.peek("version.fw_features"), handshake="ready")
    assert out == str(evaluate(release, desc)) + "\n"
    assert out.splitlines()[0] == "driver 2.1.0 × firmware 2.1.0: compatible"


def test_live_register_that_contradicts_the_manifest_is_refused(session) -> None:
    session.device.regs.poke("version.fw_version", 0x020000)
    lines = run(session, "compat check").splitlines()
    assert lines[0] == "driver 2.1.0 × firmware 2.1.0: incompatible"
    assert "  incompatible [live] the manifest says version 2.1.0, version.fw_version reads 2.0.0" in lines
    assert run(session, "compat check --manifest-only").splitlines()[0] == \
        "driver 2.1.0 × firmware 2.1.0: compatible"


@pytest.mark.parametrize("args, driver, firmware, status", [
    ("--driver 1.0.0", "1.0.0", "2.1.0", "incompatible"),
    ("--firmware 1.3.0 --driver 2.0.0", "2.0.0", "1.3.0", "degraded"),
    ("--firmware 1.2.0 --driver 1.2.0", "1.2.0", "1.2.0", "compatible"),
    ("--firmware 2.0.0 --driver 1.2.0", "1.2.0", "2.0.0", "compatible_with_warning"),
])
def test_compat_check_json_is_the_policy_verdict(session, args, driver, firmware, status) -> None:
    got = json.loads(run(session, f"compat check --json {args}"))
    fw = FirmwareDescription.from_release(release_line().release(firmware))
    live = firmware == "2.1.0"
    if live:
        fw = fw.with_live(fw_version=session.device.regs.peek("version.fw_version"),
                          abi_supported=session.device.regs.peek("version.abi_supported"),
                          fw_features=session.device.regs.peek("version.fw_features"), handshake="ready")
    expected = evaluate(driver_line().release(driver), fw).to_dict()
    assert got == expected and got["status"] == status


def test_force_and_a_firmware_file(session) -> None:
    path = release_line().release("1.0.0").image_path()
    out = run(session, f"compat check --firmware {path} --force").splitlines()
    assert out[0] == "driver 2.1.0 × firmware 1.0.0: incompatible"
    assert out[-1] == "  info         [force] force=True ignored: a refusal that cannot be forced"


@pytest.mark.parametrize("line, message", [
    ("compat check --driver 9.9.9",
     "no driver release 9.9.9 (releases: 1.0.0, 1.1.0, 1.2.0, 1.3.0, 2.0.0, 2.1.0)"),
    ("compat check --firmware nosuch", "firmware 'nosuch': neither a file nor a firmware release version"),
    ("compat check --driver", "compat check: argument --driver: expected one argument"),
])
def test_bad_versions_are_one_line(session, line, message) -> None:
    assert session.run_command(line) is False
    assert session.out.take() == message + "\n"
    assert session.run_command("compat check") is True
