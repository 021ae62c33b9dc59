/* The interpreter loop: threaded dispatch over predecoded instructions.
 *
 * Each executable region has one `insn_t` per word, decoded on first execution
 * (OP_DECODE) from the table-generated `decode_fill` and reset to OP_DECODE by any
 * store to it, so code written by the core or the debugger is always seen (fence.i
 * is then a no-op, which the spec allows). A breakpoint replaces the entry's op with
 * OP_BREAK: no cost when none is set, O(1) with any number.
 *
 * Counting: `left` (a register) counts down the instructions allowed before the next
 * boundary check; `mark - left` instructions ran since counters were last synced.
 * The boundary check (core_boundary, in system.c) runs every CHUNK instructions or
 * when something forces it (a CSR write, mret, a callback, a watchpoint hit), and
 * handles the budget, stop requests, pending stops, interrupts and pc tracing. So
 * request_stop() costs nothing per instruction: it is seen within CHUNK instructions.
 */
#include <string.h>

#include "core.h"
#include "dispatch.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

typedef int8_t s8;
typedef uint8_t u8;
typedef int16_t s16;
typedef uint16_t u16;
typedef int32_t s32;
typedef uint32_t u32;
typedef int64_t s64;
typedef uint64_t u64;
/* Host loads and stores of guest memory may alias anything. */
typedef u16 __attribute__((may_alias)) a16;
typedef u32 __attribute__((may_alias)) a32;

#define X(i) (x[(i)])
#define WR(rd, v) (x[(rd)] = (u32)(v))

/* Count instructions run since the last sync into the counters and the budget. */
#define SYNC() do { s64 n_ = mark - left; mark = left; \
    c->a.cycles += (u64)n_; c->a.instret += (u64)n_; c->budget -= (u64)n_; } while (0)
/* Make the next dispatch enter the boundary check, keeping the count. */
#define FORCE_CHECK() do { mark -= left; left = 0; } while (0)

#define DISPATCH_E() do { if (unlikely(--left < 0)) goto check; goto *labels[e->op]; } while (0)
#define NEXT() do { pc += 4; e++; DISPATCH_E(); } while (0)
#define JUMP() do { if (unlikely(--left < 0)) goto check; goto resolve; } while (0)

/* A synchronous exception raised by the instruction at pc (it does not retire). */
#define TRAP(cause, tval) do { c->a.pc = pc; SYNC(); \
    if (core_take_trap(c, (cause), (tval))) goto out; \
    pc = c->a.pc; goto resolve; } while (0)

/* An instruction that cannot complete because a Python callback raised: undo its count. */
#define ABORT() do { left++; c->a.pc = pc; SYNC(); c->stop.reason = STOP_EXCEPTION; \
    c->stop.pc = c->stop.insn_pc = pc; goto out; } while (0)

#define WATCHED(bits, off) ((bits)[(off) >> 12] >> (((off) >> 6) & 63) & 1)

/* Load an N-byte value of type T (its signedness extends it) from addr into register dst. */
#define LOAD(T, N, addr, dst) do { u32 a_ = (addr), o_ = a_ - c->ld.base, v_; \
    if (likely(o_ < c->ld.lim && !(a_ & ((N) - 1)) && \
               !(unlikely(c->ld.wbits != NULL) && WATCHED(c->ld.wbits, o_)))) { \
        v_ = (N) == 1 ? c->ld.host[o_] : (N) == 2 ? *(a16 *)(c->ld.host + o_) : *(a32 *)(c->ld.host + o_); \
    } else { \
        c->a.pc = pc; SYNC(); int r_ = mem_load(c, a_, (N), &v_); \
        if (unlikely(r_)) { if (r_ < 0) { ABORT(); } TRAP((u32)r_, c->fault_tval); } \
        if (c->need_check) { c->need_check = 0; FORCE_CHECK(); } \
    } \
    WR(dst, (s32)(T)v_); } while (0)

#define STORE(T, N, addr, v) do { u32 a_ = (addr), o_ = a_ - c->st.base, v_ = (v); \
    if (likely(o_ < c->st.lim && !(a_ & ((N) - 1)) && \
               !(unlikely(c->st.wbits != NULL) && WATCHED(c->st.wbits, o_)))) { \
        if ((N) == 1) c->st.host[o_] = (u8)v_; \
        else if ((N) == 2) *(a16 *)(c->st.host + o_) = (u16)v_; \
        else *(a32 *)(c->st.host + o_) = v_; \
    } else { \
        c->a.pc = pc; SYNC(); int r_ = mem_store(c, a_, (N), v_); \
        if (unlikely(r_)) { if (r_ < 0) { ABORT(); } TRAP((u32)r_, c->fault_tval); } \
        if (c->need_check) { c->need_check = 0; FORCE_CHECK(); } \
    } } while (0)

/* Branch to pc + off when cond. "An instruction-address-misaligned exception is
 * generated on a taken branch or unconditional jump if the target address is not
 * four-byte aligned. This exception is reported on the branch or jump instruction,
 * not on the target instruction." (unprivileged spec, 2.2) */
#define BRANCH(cond) do { if (cond) { u32 t_ = pc + (u32)F_imm_b; \
    if (unlikely(t_ & 3)) { TRAP(CAUSE_FETCH_MISALIGNED, t_); } \
    pc = t_; JUMP(); } NEXT(); } while (0)

#define CSR_WORD() fetch_word(c, pc)

static u32 fetch_word(core_t *c, u32 pc)
{
    region_t *r = core_find_region(c, pc);
    return r && r->host ? *(a32 *)(r->host + (pc - r->base)) : 0;
}

/* Execute a CSR instruction's access; returns 0, or -1 when it is illegal. */
static int csr_rmw(core_t *c, u32 num, int op, u32 src, int do_write, u32 *old)
{
    if (core_csr_read(c, num, old))
        return -1;
    if (!do_write)
        return 0;
    u32 v = op == 0 ? src : op == 1 ? (*old | src) : (*old & ~src);
    return core_csr_write(c, num, v);
}

#define LABEL(key, match, mask) [OP_##key] = &&exec_##key,

int core_run(core_t *c, uint64_t max_insns, uint64_t until_cycle)
{
    static void *const labels[OP_COUNT] = {
        [OP_DECODE] = &&op_decode, [OP_BREAK] = &&op_break, [OP_ILLEGAL] = &&op_illegal,
        [OP_XNPU] = &&op_xnpu, [OP_END] = &&op_end, INSN_LIST(LABEL)
    };
    u32 *const x = c->a.x;
    u32 pc;
    insn_t *e;
    s64 left = 0, mark = 0;
    const region_t *xr = NULL;   /* the executable region pc is in */
    insn_t *pre = NULL;
    u32 xbase = 0, xsize = 0;
    int skip_bp = 0;
    insn_t *rearm = NULL;        /* a breakpoint entry stepped over, to re-arm at the boundary */
    u32 chunk;

    c->budget = max_insns;
    c->until_cycle = until_cycle;
    memset(&c->stop, 0, sizeof c->stop);
    c->pending_stop = 0;
    c->need_check = 0;
    if (c->a.pend_trap) {
        c->a.pend_trap = 0;
        if (c->a.pend_pc == c->a.pc)
            core_deliver_trap(c, c->a.pend_cause, c->a.pend_tval);
    }
    pc = c->a.pc;
    {
        region_t *r = core_find_region(c, pc);
        if (r && r->bp_bits && !(pc & 3) && (r->bp_bits[(pc - r->base) >> 8] >> ((pc - r->base) >> 2 & 63) & 1))
            skip_bp = 1;
    }
    goto boundary;

check:
    left++;  /* the instruction at pc has not run */
boundary:
    if (rearm) {
        rearm->op = OP_DECODE;  /* decoding re-applies the breakpoint if it is still set */
        rearm = NULL;
    }
    c->a.pc = pc;
    SYNC();
    {
        int r = core_boundary(c, &chunk);
        if (r) {
            c->stop.reason = (u32)r;
            goto out;
        }
        if (c->a.pc != pc)  /* an interrupt was taken */
            skip_bp = 0;
        pc = c->a.pc;
        left = chunk - 1;
        mark = chunk;
    }
    /* fall through: dispatch pc, already counted */
resolve: {
        u32 o_ = pc - xbase;
        if (likely(o_ < xsize)) {
            e = pre + (o_ >> 2);
            goto *labels[e->op];
        }
    }
fetch_slow: {
        region_t *r = core_find_region(c, pc);
        if (unlikely(pc & 3))
            TRAP(CAUSE_FETCH_MISALIGNED, pc);
        if (unlikely(!r || !r->pre))
            TRAP(CAUSE_FETCH_FAULT, pc);
        xr = r;
        pre = r->pre;
        xbase = r->base;
        xsize = r->size;
        e = pre + ((pc - xbase) >> 2);
        goto *labels[e->op];
    }
op_end:  /* the sentinel after an executable region: fall off its end */
    goto fetch_slow;
op_decode:
    decode_entry(c, xr, *(a32 *)(xr->host + (pc - xbase)), pc - xbase, e);
    goto *labels[e->op];
op_break:
    if (skip_bp) {
        /* Resuming from this breakpoint: run the instruction once, re-arm at the next boundary. */
        skip_bp = 0;
        decode_entry(c, NULL, *(a32 *)(xr->host + (pc - xbase)), 0, e);
        rearm = e;
        FORCE_CHECK();
        goto *labels[e->op];
    }
    left++;
    c->a.pc = pc;
    SYNC();
    c->stop.reason = STOP_BREAKPOINT;
    goto out;
op_illegal:
    TRAP(CAUSE_ILLEGAL, (u32)e->imm);
op_xnpu: {
        u32 word = (u32)e->imm;
        if (!c->cb.xnpu)
            TRAP(CAUSE_ILLEGAL, word);
        c->a.pc = pc;
        SYNC();
        c->cb_trap = c->cb_stop = 0;
        if (c->cb.xnpu(c->cb.user, word, pc))
            ABORT();
        if (c->cb_trap)
            TRAP(c->cb_cause, c->cb_tval);
        if (c->cb_stop) {
            c->pending_stop = STOP_XNPU;
            c->stop.insn_pc = pc;
        }
        FORCE_CHECK();
        NEXT();
    }

#include "exec_alu.h"
#include "exec_branch.h"
#include "exec_mem.h"
#include "exec_muldiv.h"
#include "exec_system.h"

out:
    if (rearm)
        rearm->op = OP_DECODE;
    c->stop.pc = c->a.pc;
    return (int)c->stop.reason;
}
