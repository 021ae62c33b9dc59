"""cffi build script (API mode) for the C core; compiled by `pip install -e .` via setup.py.

The C sources live beside this file; `dispatch.h` is generated from the instruction
table by scripts/gen_core_dispatch.py and checked in, so building needs only a C
compiler. The cdef below is the C interface `api.py` uses; cffi checks it against
core.h when compiling.
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
    uint64_t cycle; uint32_t pc, addr, value; uint8_t size, kind; uint8_t pad[2];
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

core_t *core_new(void);
void core_free(core_t *c);
int core_add_region(core_t *c, uint32_t base, uint32_t size, uint8_t *host, uint32_t perms, uint32_t kind);
int core_run(core_t *c, uint64_t max_insns, uint64_t until_cycle);
void core_request_stop(core_t *c);
int core_set_breakpoint(core_t *c, uint32_t addr, int on);
int core_add_watch(core_t *c, uint32_t lo, uint32_t hi, uint32_t kinds);
void core_remove_watch(core_t *c, int slot);
void core_set_trace(core_t *c, trace_entry_t *ring, uint32_t cap, uint32_t mem, uint32_t pcs,
                    uint32_t keep_newest);
void core_invalidate(core_t *c, uint32_t addr, uint32_t len);
void core_reset_caches(core_t *c);
int core_csr_read(core_t *c, uint32_t num, uint32_t *value);
int core_csr_write(core_t *c, uint32_t num, uint32_t value);
void core_deliver_trap(core_t *c, uint32_t cause, uint32_t tval);
int core_resident_pages(uint8_t *host, uint64_t len, uint8_t *vec);

extern "Python" int py_mmio_read(void *user, uint32_t addr, uint32_t size, uint32_t *value);
extern "Python" int py_mmio_write(void *user, uint32_t addr, uint32_t size, uint32_t value);
extern "Python" int py_xnpu(void *user, uint32_t word, uint32_t pc);
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
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
