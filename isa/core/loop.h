/* The interpreter loop, included by core.c once per HOOKS variant: 0 (nothing but the
 * instructions), HOOK_WATCH (loads and stores test watched granules), and also
 * HOOK_TRACE (they append to the trace ring). Breakpoints, budgets and pc tracing cost
 * nothing in any: they live in patched entries and the boundary check. */

static int LOOP_FN(core_t *c)
{
    static void *const labels[OP_COUNT] = {
        [OP_DECODE] = &&op_decode, [OP_BREAK] = &&op_break, [OP_ILLEGAL] = &&op_illegal,
        [OP_XNPU] = &&op_xnpu, [OP_END] = &&op_end, INSN_LIST(LABEL)
    };
    u32 pc;
    insn_t *e;
    s64 left = 0;
    const region_t *xr = NULL;   /* the executable region pc is in */
    insn_t *pre = NULL;
    u32 xbase = 0;
    u32 chunk;

    pc = c->a.pc;
    goto boundary;

check:
    left++;  /* the instruction at pc has not run */
boundary:
    if (c->rearm) {
        c->rearm->op = OP_DECODE;  /* decoding re-applies the breakpoint if it is still set */
        c->rearm = NULL;
    }
    c->a.pc = pc;
    SYNC();
    if (unlikely(hooks_needed(c) != (HOOKS)))
        return -1;  /* a callback switched watchpoints or tracing: continue in another variant */
    {
        int r = core_boundary(c, &chunk);
        if (r) {
            c->stop.reason = (u32)r;
            goto out;
        }
        if (c->a.pc != pc)  /* an interrupt was taken */
            c->skip_bp = 0;
        pc = c->a.pc;
        left = chunk - 1;
        c->mark = chunk;
    }
    /* fall through: dispatch pc, already counted */
resolve: {
        u32 o_ = pc - xbase;
        if (likely(xr && o_ < xr->size)) {
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
        e = pre + ((pc - xbase) >> 2);
        goto *labels[e->op];
    }
op_end:  /* the sentinel after an executable region: fall off its end */
    goto fetch_slow;
op_decode:
    decode_entry(c, xr, *(a32 *)(xr->host + (pc - xbase)), pc - xbase, e);
    goto *labels[e->op];
op_break:
    if (c->skip_bp) {
        /* Resuming from this breakpoint: run the instruction once, re-arm at the next boundary. */
        c->skip_bp = 0;
        decode_entry(c, NULL, *(a32 *)(xr->host + (pc - xbase)), 0, e);
        c->rearm = e;
        FORCE_CHECK();
        goto *labels[e->op];
    }
    left++;
    c->a.pc = pc;
    SYNC();
    unrecord_exec(c, pc);
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
    if (c->rearm) {
        c->rearm->op = OP_DECODE;
        c->rearm = NULL;
    }
    c->stop.pc = c->a.pc;
    return (int)c->stop.reason;
}
