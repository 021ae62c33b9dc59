"""Operator test support: firmware images built with test-only defines, and numpy references.

`image(version, **defines)` is the release's image: the checked-in one when it carries the
operators and no define is asked for, else `firmware/src/main.S` assembled exactly as
scripts/build_firmware.py does, with extra `--defsym` values on top (a build flag turned
off, smaller tile sizes so that small shapes cross tile edges). `harness(...)` is a booted,
opened `FwHarness` on it with the device's race checker in strict mode (a race is a device
error, which `check_clean` fails on); `serving(...)` is one such harness per process and
image, shared by the tests like a device that keeps serving commands.
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import Any

import numpy as np
from fwharness import FwHarness

from firmware.releases import release_line
from isa.asm import assemble_elf

ROOT = Path(__file__).resolve().parents[2]
MAIN = "firmware/src/main.S"
# Test builds with small tiles and stream chunks, so that small shapes cross every edge.
SMALL = {"MM_TM": 16, "MM_TN": 32, "MM_TK": 16, "STREAM_CHUNK": 64}
OPS_FILES = ("ops_common.S", "ops_matmul.S", "ops_conv2d.S", "ops_eltwise.S", "ops_quant.S")


def _source() -> str | None:
    """main.S, with the operator files included before dispatch.S if it does not list them yet."""
    text = (ROOT / MAIN).read_text()
    if all(f'"{name}"' in text for name in OPS_FILES):
        return None
    present = [name for name in OPS_FILES if (ROOT / "firmware/src" / name).exists()]
    lines = "".join(f'        .include "{name}"\n' for name in present if f'"{name}"' not in text)
    return text.replace('        .include "dispatch.S"', lines + '        .include "dispatch.S"', 1)


@functools.cache
def _image(version: str, defines: tuple[tuple[str, int], ...]) -> bytes:
    from scripts.build_firmware import defines as release_defines

    release = release_line().release(version)
    syms = release_defines(release) | dict(defines)
    with contextlib.chdir(ROOT):
        source = _source()
        if source is None:
            return assemble_elf(path=MAIN, defines=syms)
        return assemble_elf(source, filename=MAIN, include_dirs=["firmware/src"], defines=syms)


def image(version: str, **defines: int) -> bytes:
    if not defines:
        shipped = release_line().release(version).image_path()
        if shipped.is_file() and b"stream_run" in shipped.read_bytes():
            return shipped.read_bytes()
    return _image(version, tuple(sorted(defines.items())))


def harness(version: str = "1.3.0", gen: int | None = None, **defines: int) -> FwHarness:
    """A device booted on the release's image (with `defines`), handshake done, rings set up."""
    fw = FwHarness(version, image=image(version, **defines), strict_races=True)
    fw.open(gen)
    return fw


@functools.cache
def _serving(version: str, defines: tuple[tuple[str, int], ...]) -> FwHarness:
    return harness(version, **dict(defines))


def serving(version: str, **defines: int) -> FwHarness:
    """The process's shared harness for this image (commands and buffers accumulate on it)."""
    return _serving(version, tuple(sorted(defines.items())))


def releases(feature: str | None = None) -> list[str]:
    """Versions of the releases (with `feature`, those that have it)."""
    return [str(r.version) for r in release_line().releases if feature is None or feature in r.features]


def has_flag(version: str, flag: str) -> bool:
    return bool(dict(release_line().release(version).flags).get(flag))


def check_clean(fw: FwHarness) -> None:
    """No race, no device error, every pipe drained, no flag left set."""
    dev = fw.dev
    assert dev.races == [], [str(r) for r in dev.races]
    assert dev.errors == [], [str(e) for e in dev.errors]
    assert dev.pipes.drained() and not dev.pipes.flags


def run_ok(fw: FwHarness, opcode: str, **args: Any) -> int:
    """Run a command that must succeed; returns its modeled cycles."""
    done = fw.run(opcode, **args)
    assert done.status == "OK", (done.status, hex(done.detail))
    check_clean(fw)
    return int(done["cycles"])


def f32_bits(x: float) -> int:
    return int(np.float32(x).view(np.uint32))


def field_offset(fw: FwHarness, opcode: str, name: str) -> int:
    """Byte offset of a descriptor field in the negotiated generation (the error detail of a bad one)."""
    f = fw.abi.descriptor_layout(fw.gen, opcode).field(name)
    assert f is not None, name
    return f.offset
