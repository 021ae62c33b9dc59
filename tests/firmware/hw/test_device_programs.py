"""The device tests' firmware programs (`programs/*.S`): the helpers that build and load them.

(The helpers live in this test module, not in a `programs` package, so that they cannot
clash with another test directory's `programs` module.)

Programs are assembled with the project's assembler. Every number a program needs
that the tables define (pipe ids, MMIO register addresses, region bases) is passed
in as a define derived from those tables, never typed into the source:
`PIPE_MTE2`, `REG_WDOG_PET` (the MMIO address of `wdog.pet`), `REGION_L0A`,
`ERR_FW_TRAP` (a device error cause), ...
"""

from __future__ import annotations

import re
from pathlib import Path

from firmware.hw.regmap import regmap
from isa.asm import assemble
from isa.image import ObjectImage
from isa.memmap import memory_map
from isa.spec import instruction_set

HERE = Path(__file__).parent / "programs"


def table_defines() -> dict[str, int]:
    defs = {f"PIPE_{p.name.upper()}": p.id for p in instruction_set().pipes.values()}
    for reg in regmap().registers:
        defs["REG_" + re.sub(r"\W+", "_", reg.path).strip("_").upper()] = reg.address
    for r in memory_map("default"):
        defs[f"REGION_{r.name.upper()}"] = r.base
    for value in regmap().field("dma.err_cause.cause").enum.values:
        defs[f"ERR_{value.name.upper()}"] = value.value
    return defs


def build(name: str, **defines: int) -> ObjectImage:
    return assemble(path=str(HERE / f"{name}.S"), defines={**table_defines(), **defines})


def load(dev, name: str, boot: bool = True, **defines: int) -> ObjectImage:
    """Assemble programs/<name>.S, copy it into the device's memory and (by default) start the core."""
    image = build(name, **defines)
    write_image(dev, image)
    if boot:
        dev.boot(image.entry)
    return image


def write_image(dev, image: ObjectImage) -> None:
    """Copy an assembled image's sections into the device's memory."""
    for sec in image.sections:
        if not sec.nobits and sec.data:
            dev.core.write_mem(sec.addr, bytes(sec.data))


def symbol(image: ObjectImage, name: str) -> int:
    for sym in image.symbols:
        if sym.name == name:
            return sym.value
    raise KeyError(name)


# Defines each program needs beyond the tables' (shape, timing and mode switches).
PROGRAM_DEFINES: dict[str, dict[str, int]] = {
    "matmul": {"M": 16, "K": 16, "N": 16, "FLAG": 1},
    "watchdog": {"TIMEOUT": 1000, "PETS": 1, "SLEEP": 1},
    "irq": {"DELAY": 1000},
    "cube_loop": {"SIZE": 16},
    "hello": {"MAGIC": 1},
    "sleep_deadlock": {"TIMER": 0, "DELAY": 1000},
    "l0c_peek": {"M": 256, "K": 128, "N": 256},
}


def test_every_program_assembles_with_the_table_defines() -> None:
    names = sorted(p.stem for p in HERE.glob("*.S"))
    assert {"matmul", "deadlock", "watchdog", "irq", "cube_loop", "trap", "completion"} <= set(names)
    for name in names:
        image = build(name, **PROGRAM_DEFINES.get(name, {}))
        assert symbol(image, "_start") == image.entry == 0
