/* The interpreter loop: threaded dispatch over predecoded instructions.
 *
 * Each executable region has one `insn_t` per word, decoded on first execution
 * (OP_DECODE) from the table-generated `decode_fill` and reset to OP_DECODE by any
 * store to it, so code written by the core or the debugger is always seen (fence.i
 * is then a no-op, which the spec allows). A breakpoint replaces the entry's op with
 * OP_BREAK: no cost when none is set, O(1) with any number.
 *
 * Counting: `left` (a register) counts down the instructions allowed before the next
 * boundary check; `c->mark - left` instructions ran since counters were last synced.
 * The boundary check (core_boundary, in system.c) runs every CHUNK instructions or
 * when something forces it (a CSR write, mret, a callback, a watchpoint hit), and
 * handles the budget, stop requests, pending stops, interrupts and pc tracing. So
 * request_stop() costs nothing per instruction: it is seen within CHUNK instructions.
 *
 * One loop source (loop.h) is compiled three times: run_plain for the common case,
 * run_watch, whose loads and stores also check watched granules, and run_traced,
 * which also appends them to the trace ring; core_run picks the one the current
 * watchpoints and tracing need.
 */
#include <string.h>

#include "core.h"
#include "dispatch.h"
#include "ring.h"

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

#define X(i) (c->a.x[(i)])
#define WR(rd, v) (c->a.x[(rd)] = (u32)(v))

/* Count instructions run since the last sync into the counters and the budget. */
#define SYNC() do { s64 n_ = c->mark - left; c->mark = left; \
    c->a.cycles += (u64)n_; c->a.instret += (u64)n_; c->budget -= (u64)n_; } while (0)
/* Make the next dispatch enter the boundary check, keeping the count. */
#define FORCE_CHECK() do { c->mark -= left; left = 0; } while (0)

#define DISPATCH_E() do { if (unlikely(--left < 0)) goto check; goto *labels[e->op]; } while (0)
#define NEXT() do { pc += 4; e++; DISPATCH_E(); } while (0)
#define JUMP() do { if (unlikely(--left < 0)) goto check; goto resolve; } while (0)

/* A synchronous exception raised by the instruction at pc (it does not retire). */
#define TRAP(cause, tval) do { c->a.pc = pc; SYNC(); \
    if (core_take_trap(c, (cause), (tval))) goto out; \
    pc = c->a.pc; JUMP(); } while (0)

/* An instruction that cannot complete because a Python callback raised: undo its count. */
#define ABORT() do { left++; c->a.pc = pc; SYNC(); c->stop.reason = STOP_EXCEPTION; \
    c->stop.pc = c->stop.insn_pc = pc; goto out; } while (0)

#define WATCHED(bits, off) ((bits)[(off) >> 6])

#define CYCLE_NOW() (c->a.cycles + (u64)(c->mark - left))
#define TRACE_INLINE(kind, a, n, v) do { if ((HOOKS & HOOK_TRACE) && c->trace_mem && \
    ring_put(c, (kind), pc, (a), (n), (v), CYCLE_NOW())) FORCE_CHECK(); } while (0)
/* The fast path: the last RAM region hit, an aligned access, its fence down, (hooked loop) not
 * in a watched granule. */
#define FAST(m, N, a, o) (likely((o) < (m).lim && !((a) & ((N) - 1)) && \
    !__atomic_load_n((m).fence, __ATOMIC_ACQUIRE) && \
    !((HOOKS & HOOK_WATCH) && unlikely((m).wbits != NULL) && WATCHED((m).wbits, (o)))))
#define SLOW(call) do { c->a.pc = pc; SYNC(); int r_ = (call); \
    if (unlikely(r_)) { if (r_ < 0) { ABORT(); } TRAP((u32)r_, c->fault_tval); } \
    if (c->need_check) { c->need_check = 0; FORCE_CHECK(); } } while (0)

/* Load an N-byte value of type T (its signedness extends it) from addr into register dst. */
#define LOAD(T, N, addr, dst) do { u32 a_ = (addr), o_ = a_ - c->ld.base, v_; \
    if (FAST(c->ld, N, a_, o_)) { \
        v_ = (N) == 1 ? c->ld.host[o_] : (N) == 2 ? *(a16 *)(c->ld.host + o_) : *(a32 *)(c->ld.host + o_); \
        TRACE_INLINE(ACC_READ, a_, N, v_); \
    } else SLOW(mem_load(c, a_, (N), &v_)); \
    WR(dst, (s32)(T)v_); } while (0)

#define STORE(T, N, addr, v) do { u32 a_ = (addr), o_ = a_ - c->st.base, v_ = (u32)(T)(v); \
    if (FAST(c->st, N, a_, o_)) { \
        if ((N) == 1) c->st.host[o_] = (u8)v_; \
        else if ((N) == 2) *(a16 *)(c->st.host + o_) = (u16)v_; \
        else *(a32 *)(c->st.host + o_) = v_; \
        TRACE_INLINE(ACC_WRITE, a_, N, v_); \
    } else SLOW(mem_store(c, a_, (N), v_)); } while (0)

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

/* The instruction at pc stops the run before it runs: drop its pc-trace record. */
static void unrecord_exec(core_t *c, u32 pc)
{
    if (!c->trace_pcs || !c->ring || !c->ring_count)
        return;
    u32 last = c->ring_head + c->ring_count - 1;
    if (last >= c->ring_cap)
        last -= c->ring_cap;
    if (c->ring[last].kind == ACC_EXEC && c->ring[last].pc == pc)
        c->ring_count--;
}

/* Execute a CSR instruction's access; returns 0, or -1 when it is illegal. The counters
 * read as before this instruction retires; a write to one replaces this instruction's
 * own increment, so the next read returns exactly the value written. */
static int csr_rmw(core_t *c, u32 num, int op, u32 src, int do_write, u32 *old)
{
    c->a.instret--;
    c->a.cycles--;
    int r = core_csr_read(c, num, old);
    if (!r && do_write)
        r = core_csr_write(c, num, op == 0 ? src : op == 1 ? (*old | src) : (*old & ~src));
    int wrote = !r && do_write;
    if (!(wrote && (num == CSR_minstret || num == CSR_minstreth)))
        c->a.instret++;
    if (!(wrote && (num == CSR_mcycle || num == CSR_mcycleh)))
        c->a.cycles++;
    return r;
}

#define LABEL(key, match, mask) [OP_##key] = &&exec_##key,

/* What a loop variant checks in loads and stores. */
#define HOOK_WATCH 1
#define HOOK_TRACE 2
static uint32_t hooks_needed(const core_t *c)
{
    return (c->nwatch ? HOOK_WATCH : 0) | (c->trace_mem ? HOOK_WATCH | HOOK_TRACE : 0);
}

#define HOOKS 0
#define LOOP_FN run_plain
#include "loop.h"
#undef HOOKS
#undef LOOP_FN

#define HOOKS HOOK_WATCH
#define LOOP_FN run_watch
#include "loop.h"
#undef HOOKS
#undef LOOP_FN

#define HOOKS (HOOK_WATCH | HOOK_TRACE)
#define LOOP_FN run_traced
#include "loop.h"
#undef HOOKS
#undef LOOP_FN

int core_run(core_t *c, uint64_t max_insns, uint64_t until_cycle)
{
    c->budget = max_insns;
    c->until_cycle = until_cycle;
    memset(&c->stop, 0, sizeof c->stop);
    c->pending_stop = 0;
    c->need_check = 0;
    c->mark = 0;
    c->skip_bp = 0;
    c->rearm = NULL;
    int delivered = 0;
    if (c->a.pend_trap) {  /* resuming after a caught trap: take it now */
        c->a.pend_trap = 0;
        delivered = c->a.pend_pc == c->a.pc;
        if (delivered)
            core_deliver_trap(c, c->a.pend_cause, c->a.pend_tval);
    }
    uint32_t pc = c->a.pc;
    region_t *r = core_find_region(c, pc);
    if (!delivered && r && r->bp_bits && !(pc & 3) && (r->bp_bits[(pc - r->base) >> 8] >> ((pc - r->base) >> 2 & 63) & 1))
        c->skip_bp = 1;  /* continuing from a breakpoint runs its instruction */
    int reason;
    do {
        core_reset_caches(c);  /* refilled for this loop's kind */
        uint32_t hooks = hooks_needed(c);
        reason = hooks == 0 ? run_plain(c) : hooks == HOOK_WATCH ? run_watch(c) : run_traced(c);
    } while (reason < 0);
    return reason;
}
