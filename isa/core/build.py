"""cffi build script (API mode) for the C core; compiled by `pip install -e .` via setup.py.

The C sources live beside this file; `dispatch.h` is generated from the instruction
table by scripts/gen_core_dispatch.py and checked in, so building needs only a C
compiler. The cdef below (types, plus the prototypes read from core.h's marked block) is
the C interface `api.py` uses; cffi checks it against core.h when compiling.
"""

from __future__ import annotations

from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
SOURCES = ["core.c", "mem.c", "system.c"]
# -O3; keep GCC from merging the handlers' computed gotos into one shared indirect jump
# (measured: ~280 -> ~400 MIPS), since one jump site per handler predicts far better.
COMPILE_ARGS = ["-O3", "-std=gnu11", "-fno-strict-aliasing", "-fno-gcse", "-fno-crossjumping",
                "-fno-tree-tail-merge", "--param", "max-goto-duplication-insns=64"]

CDEF = """
typedef struct insn { uint8_t op, rd, rs1, rs2; int32_t imm; } insn_t;
typedef struct trace_entry {
    uint64_t tick; uint32_t pc, addr, value; uint8_t size, kind; uint8_t pad[2];
} trace_entry_t;
typedef struct arch {
    uint32_t x[33];
    uint32_t pc;
    uint32_t mstatus, mie, mip, mtvec, mepc, mcause, mtval, mscratch;
    uint64_t cycles, instret;
    uint32_t pend_trap, pend_cause, pend_tval, pend_pc;
} arch_t;
typedef struct stopinfo {
    uint32_t reason, pc, insn_pc, cause, tval;
    uint32_t watch, addr, size, kind, oldv, newv, old_valid;
} stopinfo_t;
typedef struct callbacks {
    int (*mmio_read)(void *user, uint32_t addr, uint32_t size, uint32_t *value);
    int (*mmio_write)(void *user, uint32_t addr, uint32_t size, uint32_t value);
    int (*xnpu)(void *user, uint32_t word, uint32_t pc);
    void *user;
} callbacks_t;
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
enum stop_reason {
    STOP_NONE, STOP_BREAKPOINT, STOP_WATCHPOINT, STOP_XNPU, STOP_TRAP, STOP_ECALL,
    STOP_EBREAK, STOP_WFI, STOP_BUDGET, STOP_TRACE_FULL, STOP_STOP_REQUESTED,
    STOP_DOUBLE_FAULT, STOP_EXCEPTION, STOP_MMIO
};
enum { PERM_R, PERM_W, PERM_X };
enum { KIND_RAM, KIND_LAZY, KIND_MMIO };
enum { ACC_READ, ACC_WRITE, ACC_EXEC };
#define MIP_MSIP ...
#define MIP_MTIP ...
#define MIP_MEIP ...

extern "Python" int py_mmio_read(void *user, uint32_t addr, uint32_t size, uint32_t *value);
extern "Python" int py_mmio_write(void *user, uint32_t addr, uint32_t size, uint32_t value);
extern "Python" int py_xnpu(void *user, uint32_t word, uint32_t pc);
"""


def interface_prototypes() -> str:
    """The functions Python calls, read from core.h so that they are declared once."""
    header = (HERE / "core.h").read_text()
    begin = header.index("/* BEGIN python interface")
    return header[header.index("\n", begin) + 1:header.index("/* END python interface */")]


ffibuilder = FFI()
ffibuilder.cdef(CDEF + interface_prototypes())
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
