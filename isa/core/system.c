/* Machine mode: CSRs, exceptions, interrupts, and the boundary check between
 * instruction chunks (budget, stop requests, pending stops, interrupts, pc trace). */
#include <string.h>

#include "core.h"
#include "dispatch.h"
#include "ring.h"

#define CHUNK 4096u  /* longest run between boundary checks: bounds request_stop() latency */
#define MISA_RV32IM ((1u << 30) | (1u << ('I' - 'A')) | (1u << ('M' - 'A')))


int core_csr_read(core_t *c, uint32_t num, uint32_t *value)
{
    arch_t *a = &c->a;
    switch (num) {
    case CSR_mstatus: *value = a->mstatus | MSTATUS_MPP; return 0;  /* M-mode only: MPP reads 3 */
    case CSR_misa: *value = MISA_RV32IM; return 0;
    case CSR_mie: *value = a->mie; return 0;
    case CSR_mtvec: *value = a->mtvec; return 0;
    case CSR_mscratch: *value = a->mscratch; return 0;
    case CSR_mepc: *value = a->mepc; return 0;
    case CSR_mcause: *value = a->mcause; return 0;
    case CSR_mtval: *value = a->mtval; return 0;
    case CSR_mip: *value = a->mip; return 0;
    case CSR_mcycle: case CSR_cycle: *value = (uint32_t)a->cycles; return 0;
    case CSR_mcycleh: case CSR_cycleh: *value = (uint32_t)(a->cycles >> 32); return 0;
    case CSR_minstret: case CSR_instret: *value = (uint32_t)a->instret; return 0;
    case CSR_minstreth: case CSR_instreth: *value = (uint32_t)(a->instret >> 32); return 0;
    case CSR_mvendorid: case CSR_marchid: case CSR_mimpid: case CSR_mhartid: *value = 0; return 0;
    default: return -1;
    }
}

static uint64_t set_lo(uint64_t v, uint32_t lo) { return (v & ~0xffffffffull) | lo; }
static uint64_t set_hi(uint64_t v, uint32_t hi) { return (v & 0xffffffffull) | ((uint64_t)hi << 32); }

/* WARL fields: only the implemented bits change. */
int core_csr_write(core_t *c, uint32_t num, uint32_t v)
{
    arch_t *a = &c->a;
    switch (num) {
    case CSR_mstatus: a->mstatus = v & (MSTATUS_MIE | MSTATUS_MPIE); return 0;
    case CSR_mie: a->mie = v & (MIP_MSIP | MIP_MTIP | MIP_MEIP); return 0;
    case CSR_mtvec: a->mtvec = v & ~2u; return 0;  /* modes 0 (direct) and 1 (vectored) */
    case CSR_mscratch: a->mscratch = v; return 0;
    case CSR_mepc: a->mepc = v & ~3u; return 0;  /* IALIGN=32: mepc[1:0] are zero */
    case CSR_mcause: a->mcause = v; return 0;
    case CSR_mtval: a->mtval = v; return 0;
    case CSR_mip: a->mip = (a->mip & ~MIP_MSIP) | (v & MIP_MSIP); return 0;  /* MTIP, MEIP: device-driven */
    case CSR_mcycle: a->cycles = set_lo(a->cycles, v); return 0;
    case CSR_mcycleh: a->cycles = set_hi(a->cycles, v); return 0;
    case CSR_minstret: a->instret = set_lo(a->instret, v); return 0;
    case CSR_minstreth: a->instret = set_hi(a->instret, v); return 0;
    default: return -1;  /* unknown, or read-only */
    }
}

/* Enter the trap handler: mepc, mcause, mtval, mstatus.MPIE <- MIE, MIE <- 0. */
static void enter_trap(core_t *c, uint32_t cause, uint32_t tval)
{
    arch_t *a = &c->a;
    a->mepc = a->pc & ~3u;  /* IALIGN=32: mepc[1:0] read as zero */
    a->mcause = cause;
    a->mtval = tval;
    a->mstatus = (a->mstatus & ~(MSTATUS_MIE | MSTATUS_MPIE)) | ((a->mstatus & MSTATUS_MIE) ? MSTATUS_MPIE : 0);
    uint32_t base = a->mtvec & ~3u;
    /* "When MODE=Vectored, all synchronous exceptions into machine mode cause the pc to
     * be set to the address in the BASE field, whereas interrupts cause the pc to be set
     * to the address in the BASE field plus four times the interrupt cause number." */
    a->pc = ((a->mtvec & 1) && (cause >> 31)) ? base + 4 * (cause & 0x7fffffffu) : base;
}

void core_deliver_trap(core_t *c, uint32_t cause, uint32_t tval)
{
    enter_trap(c, cause, tval);
}

static int caught(core_t *c, uint32_t cause)
{
    uint32_t code = cause & 0x7fffffffu;
    uint32_t mask = (cause >> 31) ? c->catch_irq_mask : c->catch_mask;
    return code < 32 && (mask >> code & 1);
}

/* A synchronous exception at c->a.pc (the instruction was counted but does not retire).
 * Returns a stop reason when the run must stop, else 0 with c->a.pc at the handler. */
uint32_t core_take_trap(core_t *c, uint32_t cause, uint32_t tval)
{
    arch_t *a = &c->a;
    a->instret--;
    if (caught(c, cause)) {  /* stop before the trap is taken; resuming delivers it */
        a->pend_trap = 1;
        a->pend_cause = cause;
        a->pend_tval = tval;
        a->pend_pc = a->pc;
        c->stop.reason = STOP_TRAP;
    } else if (a->pc == (a->mtvec & ~3u)) {  /* the handler's own first instruction faults */
        c->stop.reason = STOP_DOUBLE_FAULT;
    } else {
        enter_trap(c, cause, tval);
        return 0;
    }
    c->stop.cause = cause;
    c->stop.tval = tval;
    c->stop.insn_pc = a->pc;
    return c->stop.reason;
}

static uint32_t ring_room(const core_t *c) { return c->ring_cap - c->ring_count; }

/* Between instructions: returns a stop reason, or 0 and the length of the next chunk. */
int core_boundary(core_t *c, uint32_t *chunk)
{
    arch_t *a = &c->a;
    if (c->pending_stop) {
        int r = (int)c->pending_stop;
        c->pending_stop = 0;
        return r;
    }
    if (c->stop_req) {
        c->stop_req = 0;
        return STOP_STOP_REQUESTED;
    }
    uint64_t left = c->budget;
    if (c->until_cycle != UINT64_MAX) {
        uint64_t until = a->cycles >= c->until_cycle ? 0 : c->until_cycle - a->cycles;
        left = until < left ? until : left;
    }
    if (left == 0)
        return STOP_BUDGET;
    uint32_t pending = a->mip & a->mie;
    if ((a->mstatus & MSTATUS_MIE) && pending) {
        /* Priority: "MEI, MSI, MTI" (privileged spec 3.1.9). */
        uint32_t code = (pending & MIP_MEIP) ? 11 : (pending & MIP_MSIP) ? 3 : 7;
        uint32_t cause = 0x80000000u | code;
        if (caught(c, cause)) {  /* resuming takes it */
            a->pend_trap = 1;
            a->pend_cause = cause;
            a->pend_tval = 0;
            a->pend_pc = a->pc;
            c->stop.cause = cause;
            c->stop.insn_pc = a->pc;
            return STOP_TRAP;
        }
        enter_trap(c, cause, 0);
    }
    int tracing = c->ring && !c->ring_keep_newest;
    if (tracing && c->trace_mem && ring_room(c) == 0)
        return STOP_TRACE_FULL;
    if (c->trace_pcs && c->ring) {
        if (tracing && ring_room(c) < 2)
            return STOP_TRACE_FULL;
        region_t *r = core_find_region(c, a->pc);
        uint32_t word = 0;
        if (r && r->host && !(a->pc & 3))
            memcpy(&word, r->host + (a->pc - r->base), 4);
        /* Before the instruction counts: stamped with the cycle it runs in, as its accesses are. */
        if (ring_put(c, ACC_EXEC, a->pc, a->pc, 4, word, a->cycles + 1))
            c->need_check = 1;
        *chunk = 1;
        return 0;
    }
    *chunk = left < CHUNK ? (uint32_t)left : CHUNK;
    return 0;
}

void core_request_stop(core_t *c)
{
    c->stop_req = 1;
}
