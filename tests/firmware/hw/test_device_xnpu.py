"""Xnpu dispatch follows the table; npu.cfg semantics and faults."""

from __future__ import annotations

import pytest
from test_device_programs import load, symbol

from firmware.hw.device import Device
from firmware.hw.xnpu import XnpuError, XnpuHandler, check_handlers
from isa.spec import instruction_set


def test_every_table_xnpu_row_has_a_handler_named_after_its_key() -> None:
    check_handlers(XnpuHandler)
    assert {r.key for r in instruction_set().xnpu()} <= set(dir(XnpuHandler))


def test_a_row_without_handler_or_a_handler_without_row_fails() -> None:
    class Missing(XnpuHandler):
        npu_mmad = None  # type: ignore[assignment]

    with pytest.raises(XnpuError, match=r"no handler for table row.*npu_mmad"):
        check_handlers(Missing)

    class Extra(XnpuHandler):
        def npu_teleport(self) -> None: ...

    with pytest.raises(XnpuError, match="npu_teleport have no table row"):
        check_handlers(Extra)


def test_cfg_reads_writes_and_faults() -> None:
    dev = Device()
    image = load(dev, "cfg")
    dev.run_until(lambda: dev.asleep, 100_000)
    regs = dev.core.regs
    cfg = instruction_set().cfg_by_name
    assert regs["a0"] == cfg["mm_m"].reset and regs["a1"] == 40
    assert regs["a2"] == 0  # the faulting npu.cfg wrote nothing
    assert regs["a3"] == dev.cause_value("cfg_read_only")
    assert regs["a5"] == symbol(image, "bad_ix")
    assert [(e.cause, e.pc) for e in dev.errors] == [("cfg_read_only", symbol(image, "bad_ro")),
                                                      ("cfg_bad_index", symbol(image, "bad_ix"))]
    assert dev.cfgregs.get("status") == dev.cause_value("cfg_bad_index")
    assert dev.regs.peek("errlog.count") == 2


def test_hooks_see_issue_and_completion() -> None:
    dev = Device()
    issued, completed = [], []
    dev.on_issue.append(lambda entry: issued.append(entry.key))
    dev.on_complete.append(lambda entry, start, end: completed.append((entry.key, end - start)))
    load(dev, "deadlock")
    dev.advance(100_000)
    assert issued == ["npu_waitflag", "npu_mmad"] and completed == []
    errors = []
    dev2 = Device()
    dev2.on_error.append(lambda error: errors.append(error.cause))
    load(dev2, "deadlock")
    dev2.advance(100_000)
    assert errors == ["deadlock"]
