"""Fixtures the device-model tests share."""

from __future__ import annotations

import pytest

from firmware.hw.regfile import RegisterFile
from firmware.hw.regmap import regmap


@pytest.fixture
def regs() -> RegisterFile:
    """A register file whose clock ticks once per look (observer events carry distinct ticks)."""
    rf = RegisterFile(regmap())
    ticks = iter(range(100, 100_000))
    rf.clock = lambda: next(ticks)
    return rf
