/* The control core's state and the C interface the Python API (isa/core/api.py) calls.
 *
 * One `core_t` holds the architectural state (`arch_t`, copied whole by snapshots),
 * the memory regions (host buffers owned by Python), the predecoded instructions of
 * executable regions, breakpoints, watchpoints, the trace ring and the callbacks
 * into Python (MMIO and Xnpu).
 */
#ifndef NPU_CORE_H
#define NPU_CORE_H

#include <stdint.h>

#define MAX_REGIONS 16
#define MAX_WATCH 64
#define XZERO_SINK 32  /* writes to x0 land in x[32], which nothing reads */

/* A predecoded instruction: handler index and operand slots (see dispatch.h). */
typedef struct insn {
    uint8_t op, rd, rs1, rs2;
    int32_t imm;
} insn_t;

enum { PERM_R = 1, PERM_W = 2, PERM_X = 4 };
enum { KIND_RAM = 0, KIND_LAZY = 1, KIND_MMIO = 2 };
enum { ACC_READ = 1, ACC_WRITE = 2, ACC_EXEC = 4 };

enum stop_reason {
    STOP_NONE = 0, STOP_BREAKPOINT, STOP_WATCHPOINT, STOP_XNPU, STOP_TRAP, STOP_ECALL,
    STOP_EBREAK, STOP_WFI, STOP_BUDGET, STOP_TRACE_FULL, STOP_STOP_REQUESTED,
    STOP_DOUBLE_FAULT, STOP_EXCEPTION, STOP_MMIO
};

enum trap_cause {
    CAUSE_FETCH_MISALIGNED = 0, CAUSE_FETCH_FAULT = 1, CAUSE_ILLEGAL = 2, CAUSE_BREAKPOINT = 3,
    CAUSE_LOAD_MISALIGNED = 4, CAUSE_LOAD_FAULT = 5, CAUSE_STORE_MISALIGNED = 6,
    CAUSE_STORE_FAULT = 7, CAUSE_ECALL_M = 11
};

/* Interrupt lines as mip/mie bits (machine software, timer, external). */
#define MIP_MSIP (1u << 3)
#define MIP_MTIP (1u << 7)
#define MIP_MEIP (1u << 11)
#define MSTATUS_MIE (1u << 3)
#define MSTATUS_MPIE (1u << 7)
#define MSTATUS_MPP (3u << 11)

typedef struct region {
    uint32_t base, size;          /* size in bytes, a multiple of 4 */
    uint8_t *host;                /* NULL for MMIO */
    uint32_t perms, kind;
    insn_t *pre;                  /* executable regions: size/4 entries + an OP_END sentinel */
    uint64_t *bp_bits;            /* executable regions: one bit per word with a breakpoint */
    uint8_t *wbits[2];            /* one byte per 64-byte granule, nonzero when watched: reads [0], writes [1] */
    const int *fence;             /* nonzero while another thread may still write the region: wait first */
} region_t;

/* The last RAM region a load (or store) hit; `lim` is 0 when every access must take the slow path,
 * and so is an access while `*fence` is nonzero (the region's fence, or a 0 that never changes). */
typedef struct memcache {
    uint32_t base, lim;
    uint8_t *host;
    uint8_t *wbits;
    const int *fence;
} memcache_t;

/* One trace record, stamped with the tick of the instruction that made it (see tick_base). */
typedef struct trace_entry {
    uint64_t tick;
    uint32_t pc, addr, value;
    uint8_t size, kind;
    uint8_t pad[2];
} trace_entry_t;

typedef struct watch {
    uint32_t lo, hi;              /* [lo, hi) */
    uint32_t kinds;               /* ACC_READ | ACC_WRITE */
    uint32_t used;
} watch_t;

/* Everything a snapshot saves besides memory. */
typedef struct arch {
    uint32_t x[33];
    uint32_t pc;
    uint32_t mstatus, mie, mip, mtvec, mepc, mcause, mtval, mscratch;
    uint64_t cycles, instret;
    uint32_t pend_trap, pend_cause, pend_tval, pend_pc;  /* a caught trap, delivered on resume */
} arch_t;

typedef struct stopinfo {
    uint32_t reason, pc, insn_pc;
    uint32_t cause, tval;
    uint32_t watch, addr, size, kind, oldv, newv, old_valid;
} stopinfo_t;

/* The boundary to Python: called only for MMIO accesses and Xnpu instructions. */
typedef struct callbacks {
    int (*mmio_read)(void *user, uint32_t addr, uint32_t size, uint32_t *value);
    int (*mmio_write)(void *user, uint32_t addr, uint32_t size, uint32_t value);
    int (*xnpu)(void *user, uint32_t word, uint32_t pc);
    void *user;
} callbacks_t;

typedef struct core {
    arch_t a;
    region_t regions[MAX_REGIONS];
    uint32_t nregions;
    memcache_t ld, st;
    watch_t watches[MAX_WATCH];
    uint32_t nwatch;
    trace_entry_t *ring;
    uint32_t ring_cap, ring_head, ring_count, ring_keep_newest;
    uint64_t ring_dropped;
    uint32_t trace_mem, trace_pcs;
    /* Trace time: a record made at core cycle n is stamped tick_base + (n - cycle_base) *
     * ticks_per_cycle. A device sets the base for each slice of its virtual time (1 tick = 1 ns);
     * a bare core keeps 0, 0, 1 (ticks are cycles). */
    uint64_t tick_base, cycle_base;
    uint32_t ticks_per_cycle;
    volatile int stop_req;
    uint32_t pending_stop, need_check;
    uint32_t cb_trap, cb_cause, cb_tval, cb_stop;  /* requests made by a callback */
    uint32_t fault_tval;
    uint32_t catch_mask, catch_irq_mask;
    uint32_t stop_on_ecall, stop_on_ebreak;
    uint64_t budget, until_cycle;
    int64_t mark;                 /* the loop's count-down value at the last counter sync */
    uint32_t skip_bp;             /* the run starts on a breakpoint: step over it once */
    insn_t *rearm;                /* that breakpoint's entry, re-armed at the next boundary */
    stopinfo_t stop;
    callbacks_t cb;
} core_t;

/* BEGIN python interface: isa/core/build.py hands these prototypes to cffi's cdef. */
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
void core_set_time_base(core_t *c, uint64_t tick, uint64_t cycle, uint32_t ticks_per_cycle);
int core_csr_read(core_t *c, uint32_t num, uint32_t *value);
int core_csr_write(core_t *c, uint32_t num, uint32_t value);
void core_deliver_trap(core_t *c, uint32_t cause, uint32_t tval);
int core_set_fence(core_t *c, uint32_t addr, const void *flag);
int core_resident_pages(uint8_t *host, uint64_t len, uint8_t *vec);
/* END python interface */

/* Shared between the loop and the memory/system helpers (not part of the Python interface). */
region_t *core_find_region(core_t *c, uint32_t addr);
void fence_wait(const region_t *r);
int mem_load(core_t *c, uint32_t addr, uint32_t size, uint32_t *out);
int mem_store(core_t *c, uint32_t addr, uint32_t size, uint32_t value);
void trace_record(core_t *c, uint32_t kind, uint32_t pc, uint32_t addr, uint32_t size, uint32_t value);
uint32_t core_take_trap(core_t *c, uint32_t cause, uint32_t tval);
int core_boundary(core_t *c, uint32_t *chunk);
void decode_entry(core_t *c, const region_t *r, uint32_t word, uint32_t off, insn_t *e);

#endif
