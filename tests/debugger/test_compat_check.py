"""compat check: the verdict is the driver's own, images are validated, the live check reports what it saw."""

from __future__ import annotations

import io
import json

from debugger.compat import main
from debugger.compat.check import live_check, static_check
from driver.loader import verify
from driver.policy import evaluate
from driver.releases import driver_line
from tests.compat.images import shipped, tampered


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out, err), out.getvalue(), err.getvalue()


def test_static_verdict_is_the_policy_verdict() -> None:
    for driver, firmware in (("1.0.0", "2.1.0"), ("1.2.0", "1.0.0"), ("1.0.0", "1.3.0")):
        report = static_check(driver, firmware)
        want = evaluate(driver_line().release(driver), verify(shipped(firmware)).description)
        assert report.verdict == want
        assert report.image_ok and report.problems == []


def test_abi_mismatch_reasons_name_their_rules() -> None:
    v = static_check("1.0.0", "2.1.0").verdict
    assert v.status == "incompatible" and not v.forceable
    assert [r.rule for r in v.blocking()] == ["abi", "driver_range", "distance"]
    assert v.blocking()[0].message == ("driver 1.0.0 speaks ABI 1, firmware 2.1.0 speaks ABI 2: "
                                       "no generation in common")


def test_tampered_image_is_invalid_but_still_has_a_verdict(tmp_path) -> None:
    path = tampered("1.3.0", tmp_path / "bad.elf")
    report = static_check("1.3.0", path)
    assert not report.image_ok
    assert len(report.problems) == 1 and "bad.elf" in report.problems[0]
    assert "modified after it was built" in report.problems[0]
    assert report.firmware == "1.3.0" and report.verdict.status == "compatible"


def test_cli_check_json_and_exit_status(tmp_path) -> None:
    rc, out, err = run("check", "--driver", "1.2.0", "--firmware", "1.3.0", "--json")
    data = json.loads(out)
    assert (rc, err, data["ok"], data["live"]) == (0, "", True, None)
    assert data["static"]["verdict"]["status"] == "compatible" and data["static"]["image_ok"]
    rc, out, _ = run("check", "--driver", "2.1.0", "--firmware", "1.0.0")
    assert rc == 1
    assert out.splitlines()[1] == "driver 2.1.0 × firmware 1.0.0: incompatible"
    rc, out, _ = run("check", "--driver", "1.3.0", "--firmware", str(tampered("1.3.0", tmp_path / "t.elf")))
    assert rc == 1 and "INVALID" in out.splitlines()[0]


def test_cli_check_bad_input_is_one_line() -> None:
    rc, out, err = run("check", "--driver", "9.9.9", "--firmware", "1.0.0")
    assert (rc, out) == (2, "")
    assert err == ("npudbg compat check: error: no driver release 9.9.9 "
                   "(releases: 1.0.0, 1.1.0, 1.2.0, 1.3.0, 2.0.0, 2.1.0)\n")


def test_live_check_accepted_pair() -> None:
    r = live_check("1.2.0", "1.2.0")
    assert (r.booted, r.accepted, r.handshake, r.abi, r.error) == (True, True, "accepted", 1, None)
    assert r.registers == {"fw_version": "1.2.0", "abi_supported": "1", "selftest": "passed"}
    assert r.features == ["matmul_fp16", "layout_transform", "matmul_int8", "conv_fused"]
    assert [(w["name"], w["status"]) for w in r.workloads] == [("matmul_fp16", "pass")]
    assert r.verdict["status"] == "compatible" and r.errlog == []


def test_live_check_refused_pair_reports_what_it_saw() -> None:
    r = live_check("1.0.0", "2.1.0")
    assert (r.booted, r.accepted, r.error_type, r.workloads) == (True, False, "Incompatible", [])
    assert r.registers["fw_version"] == "2.1.0" and r.registers["abi_supported"] == "2"
    assert r.error.startswith("driver 1.0.0 cannot use firmware 2.1.0: driver 1.0.0 speaks ABI 1")


def test_npudbg_compat_entry_point() -> None:
    from debugger.cli import main as npudbg

    assert npudbg(["compat", "check", "--driver", "2.0.0", "--firmware", "2.1.0", "--json"]) == 0
