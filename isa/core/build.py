"""cffi build script (API mode) for the C core; compiled by `pip install -e .` via setup.py.

The C sources live beside this file; `dispatch.h` is generated from the instruction
table by scripts/gen_core_dispatch.py and checked in, so building needs only a C
compiler. The cdef is the C interface `api.py` uses: the shared types, the enums and the
prototypes of core.h's marked block, read from core.h, with the partial core struct and
the constants below; cffi checks it against core.h when compiling.
"""

from __future__ import annotations

import re
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
SOURCES = ["core.c", "mem.c", "system.c"]
# -O3; keep GCC from merging the handlers' computed gotos into one shared indirect jump
# (measured: ~280 -> ~400 MIPS), since one jump site per handler predicts far better.
COMPILE_ARGS = ["-O3", "-std=gnu11", "-fno-strict-aliasing", "-fno-gcse", "-fno-crossjumping",
                "-fno-tree-tail-merge", "--param", "max-goto-duplication-insns=64"]

CDEF = """
typedef struct core {
    arch_t a;
    uint32_t ring_cap, ring_head, ring_count, ring_keep_newest;
    uint64_t ring_dropped;
    uint32_t cb_trap, cb_cause, cb_tval, cb_stop;
    uint32_t catch_mask, catch_irq_mask;
    uint32_t stop_on_ecall, stop_on_ebreak;
    uint32_t pending_stop, need_check;
    uint64_t budget, until_cycle;
    stopinfo_t stop;
    callbacks_t cb;
    ...;
} core_t;

#define MAX_WATCH ...
#define MIP_MSIP ...
#define MIP_MTIP ...
#define MIP_MEIP ...

extern "Python" int py_mmio_read(void *user, uint32_t addr, uint32_t size, uint32_t *value);
extern "Python" int py_mmio_write(void *user, uint32_t addr, uint32_t size, uint32_t value);
extern "Python" int py_xnpu(void *user, uint32_t word, uint32_t pc);
"""


# The types Python reads whole: taken from core.h as written there, with every enum.
SHARED_TYPES = ("insn", "trace_entry", "arch", "stopinfo", "callbacks")


def header_types() -> str:
    """The shared types and the enums, read from core.h so that each is declared once (the
    core struct stays partial in CDEF: Python uses a few of its fields)."""
    header = (HERE / "core.h").read_text()
    found = [re.search(rf"^typedef struct {name} \{{.*?^\}} {name}_t;", header, re.M | re.S)
             for name in SHARED_TYPES]
    types = [m[0] for m in found if m is not None]
    if len(types) != len(SHARED_TYPES):
        raise RuntimeError(f"core.h lacks one of the typedefs {SHARED_TYPES}")
    return "\n".join([*types, *re.findall(r"^enum [^;]*?\};", header, re.M | re.S)])


def interface_prototypes() -> str:
    """The functions Python calls, read from core.h's marked block so that they are declared once."""
    header = (HERE / "core.h").read_text()
    begin = header.index("/* BEGIN python interface")
    return header[header.index("\n", begin) + 1:header.index("/* END python interface */")]


ffibuilder = FFI()
ffibuilder.cdef(header_types() + CDEF + interface_prototypes())
ffibuilder.set_source(
    "isa.core._core",
    '#include "core.h"\n',
    sources=[str((HERE / name).relative_to(Path.cwd())) if HERE.is_relative_to(Path.cwd())
             else str(HERE / name) for name in SOURCES],
    include_dirs=[str(HERE)],
    extra_compile_args=COMPILE_ARGS,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
