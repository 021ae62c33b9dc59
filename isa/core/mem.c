/* Memory: regions, the slow paths of loads and stores (region lookup, permissions,
 * MMIO callbacks, watchpoints, the trace ring), breakpoints and predecode upkeep. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core.h"
#include "dispatch.h"
#include "ring.h"

core_t *core_new(void)
{
    core_t *c = calloc(1, sizeof *c);
    if (c) {
        c->until_cycle = UINT64_MAX;
        c->ticks_per_cycle = 1;
    }
    return c;
}

void core_set_time_base(core_t *c, uint64_t tick, uint64_t cycle, uint32_t ticks_per_cycle)
{
    c->tick_base = tick;
    c->cycle_base = cycle;
    c->ticks_per_cycle = ticks_per_cycle;
}

void core_free(core_t *c)
{
    if (!c)
        return;
    for (uint32_t i = 0; i < c->nregions; i++) {
        free(c->regions[i].pre);
        free(c->regions[i].bp_bits);
        free(c->regions[i].wbits[0]);
        free(c->regions[i].wbits[1]);
    }
    free(c);
}

/* Returns the region index, or -1 (too many regions, or no memory for predecoding). */
int core_add_region(core_t *c, uint32_t base, uint32_t size, uint8_t *host, uint32_t perms, uint32_t kind)
{
    if (c->nregions == MAX_REGIONS)
        return -1;
    region_t *r = &c->regions[c->nregions];
    memset(r, 0, sizeof *r);
    r->base = base;
    r->size = size;
    r->host = host;
    r->perms = perms;
    r->kind = kind;
    if ((perms & PERM_X) && host) {
        uint32_t words = size / 4;
        r->pre = calloc(words + 1, sizeof(insn_t));
        r->bp_bits = calloc(words / 64 + 1, sizeof(uint64_t));
        if (!r->pre || !r->bp_bits) {
            free(r->pre);
            free(r->bp_bits);
            return -1;
        }
        r->pre[words].op = OP_END;
    }
    core_reset_caches(c);
    return (int)c->nregions++;
}

region_t *core_find_region(core_t *c, uint32_t addr)
{
    for (uint32_t i = 0; i < c->nregions; i++) {
        region_t *r = &c->regions[i];
        if (addr - r->base < r->size)
            return r;
    }
    return NULL;
}

/* Forget the fast-path regions; the next access refills them with current hook settings. */
void core_reset_caches(core_t *c)
{
    memset(&c->ld, 0, sizeof c->ld);
    memset(&c->st, 0, sizeof c->st);
}

/* A region another thread may still be using (the units' queued work): while `*flag` is
 * nonzero its loads and stores take the slow path, which waits for the flag to clear
 * first. NULL removes the fence. Returns 0 when addr is in no RAM region. */
int core_set_fence(core_t *c, uint32_t addr, const void *flag)
{
    region_t *r = core_find_region(c, addr);
    if (!r || !r->host)
        return 0;
    r->fence = flag;
    core_reset_caches(c);
    return 1;
}

void fence_wait(const region_t *r)
{
    while (__atomic_load_n(r->fence, __ATOMIC_ACQUIRE))
        sched_yield();
}

static const int unfenced = 0;

static void fill_cache(memcache_t *m, const region_t *r, int store)
{
    m->base = r->base;
    m->lim = store && r->pre ? 0 : r->size - 3;  /* stores into code take the slow path */
    m->fence = r->fence ? r->fence : &unfenced;  /* (the fast path tests it: no wait there) */
    m->host = r->host;
    m->wbits = r->wbits[store];
}

/* The first watchpoint of `kind` overlapping [addr, addr+size): record the hit. */
static void check_watch(core_t *c, uint32_t kind, uint32_t addr, uint32_t size, uint32_t oldv,
                        uint32_t newv, int old_valid)
{
    for (uint32_t i = 0; i < c->nwatch; i++) {
        const watch_t *w = &c->watches[i];
        if (!w->used || !(w->kinds & kind) || addr >= w->hi || addr + size <= w->lo)
            continue;
        if (!c->pending_stop) {
            c->pending_stop = STOP_WATCHPOINT;
            stopinfo_t *s = &c->stop;
            s->watch = i;
            s->addr = addr;
            s->size = size;
            s->kind = kind;
            s->oldv = oldv;
            s->newv = newv;
            s->old_valid = (uint32_t)old_valid;
            s->insn_pc = c->a.pc;
        }
        c->need_check = 1;
        return;
    }
}

void trace_record(core_t *c, uint32_t kind, uint32_t pc, uint32_t addr, uint32_t size, uint32_t value)
{
    if (ring_put(c, kind, pc, addr, size, value, c->a.cycles))
        c->need_check = 1;
}

/* The MMIO handler asked to end the run (core.stop_with): stop after this instruction. */
static void mmio_stop(core_t *c, uint32_t kind, uint32_t addr, uint32_t size, uint32_t value)
{
    if (!c->cb_stop || c->pending_stop)
        return;
    c->pending_stop = STOP_MMIO;
    c->stop.addr = addr;
    c->stop.size = size;
    c->stop.kind = kind;
    c->stop.newv = value;
    c->stop.insn_pc = c->a.pc;
}

static uint32_t host_read(const uint8_t *p, uint32_t size)
{
    uint32_t v = 0;
    memcpy(&v, p, size);  /* little-endian host */
    return v;
}

/* Returns 0 with *out set, a trap cause (> 0, tval in c->fault_tval), or -1 when a
 * Python callback raised. c->a.pc is the instruction's pc. */
int mem_load(core_t *c, uint32_t addr, uint32_t size, uint32_t *out)
{
    c->fault_tval = addr;
    if (addr & (size - 1))
        return CAUSE_LOAD_MISALIGNED;
    region_t *r = core_find_region(c, addr);
    if (!r || !(r->perms & PERM_R) || addr - r->base > r->size - size)
        return CAUSE_LOAD_FAULT;
    uint32_t v;
    if (r->kind == KIND_MMIO) {
        if (!c->cb.mmio_read)
            return CAUSE_LOAD_FAULT;
        c->cb_trap = c->cb_stop = 0;
        v = 0;
        if (c->cb.mmio_read(c->cb.user, addr, size, &v))
            return -1;
        c->need_check = 1;  /* the device may have raised an interrupt */
        if (c->cb_trap) {
            c->fault_tval = c->cb_tval;
            return (int)c->cb_cause;
        }
        mmio_stop(c, ACC_READ, addr, size, v);
    } else {
        if (r->fence)
            fence_wait(r);
        v = host_read(r->host + (addr - r->base), size);
        fill_cache(&c->ld, r, 0);
    }
    if (r->wbits[0])
        check_watch(c, ACC_READ, addr, size, v, v, 1);
    if (c->trace_mem && c->ring)
        trace_record(c, ACC_READ, c->a.pc, addr, size, v);
    *out = v;
    return 0;
}

int mem_store(core_t *c, uint32_t addr, uint32_t size, uint32_t value)
{
    c->fault_tval = addr;
    if (addr & (size - 1))
        return CAUSE_STORE_MISALIGNED;
    region_t *r = core_find_region(c, addr);
    if (!r || !(r->perms & PERM_W) || addr - r->base > r->size - size)
        return CAUSE_STORE_FAULT;
    if (size < 4)
        value &= (1u << (8 * size)) - 1;
    if (r->kind == KIND_MMIO) {
        if (!c->cb.mmio_write)
            return CAUSE_STORE_FAULT;
        c->cb_trap = c->cb_stop = 0;
        if (c->cb.mmio_write(c->cb.user, addr, size, value))
            return -1;
        c->need_check = 1;
        if (c->cb_trap) {
            c->fault_tval = c->cb_tval;
            return (int)c->cb_cause;
        }
        mmio_stop(c, ACC_WRITE, addr, size, value);
        if (r->wbits[1])
            check_watch(c, ACC_WRITE, addr, size, 0, value, 0);
    } else {
        if (r->fence)
            fence_wait(r);
        uint8_t *p = r->host + (addr - r->base);
        uint32_t old = host_read(p, size);
        memcpy(p, &value, size);
        if (r->pre)
            core_invalidate(c, addr, size);
        fill_cache(&c->st, r, 1);
        if (r->wbits[1])
            check_watch(c, ACC_WRITE, addr, size, old, value, 1);
    }
    if (c->trace_mem && c->ring)
        trace_record(c, ACC_WRITE, c->a.pc, addr, size, value);
    return 0;
}

/* Predecode `word` into e; with a region, a breakpoint on the word turns it into OP_BREAK. */
void decode_entry(core_t *c, const region_t *r, uint32_t word, uint32_t off, insn_t *e)
{
    (void)c;
    memset(e, 0, sizeof *e);
    if (!decode_fill(word, e)) {
        e->op = OP_ILLEGAL;
        e->imm = (int32_t)word;
    } else if (e->op != OP_XNPU && e->rd == 0) {
        e->rd = XZERO_SINK;
    }
    if (r && (r->bp_bits[off >> 8] >> (off >> 2 & 63) & 1))
        e->op = OP_BREAK;
}

/* Stores (by the core or the debugger) into code: decode those words again. */
void core_invalidate(core_t *c, uint32_t addr, uint32_t len)
{
    for (uint32_t i = 0; i < c->nregions; i++) {
        region_t *r = &c->regions[i];
        if (!r->pre || len == 0)
            continue;
        uint64_t lo = addr > r->base ? addr : r->base;
        uint64_t hi = (uint64_t)addr + len;
        if (hi > (uint64_t)r->base + r->size)
            hi = (uint64_t)r->base + r->size;
        for (uint64_t a = lo & ~3ull; a < hi; a += 4)
            r->pre[(a - r->base) >> 2].op = OP_DECODE;
    }
}

/* Returns 1 when addr is in an executable region (the only place a breakpoint can hit). */
int core_set_breakpoint(core_t *c, uint32_t addr, int on)
{
    region_t *r = core_find_region(c, addr);
    if (!r || !r->pre || (addr & 3))
        return 0;
    uint32_t w = (addr - r->base) >> 2;
    if (on)
        r->bp_bits[w >> 6] |= 1ull << (w & 63);
    else
        r->bp_bits[w >> 6] &= ~(1ull << (w & 63));
    r->pre[w].op = on ? OP_BREAK : OP_DECODE;
    return 1;
}

static void mark_granules(core_t *c, const watch_t *w)
{
    for (uint32_t i = 0; i < c->nregions; i++) {
        region_t *r = &c->regions[i];
        uint64_t lo = w->lo > r->base ? w->lo : r->base;
        uint64_t hi = (uint64_t)r->base + r->size < w->hi ? (uint64_t)r->base + r->size : w->hi;
        if (lo >= hi)
            continue;
        for (int k = 0; k < 2; k++) {
            if (!(w->kinds & (k ? ACC_WRITE : ACC_READ)))
                continue;
            if (!r->wbits[k])
                r->wbits[k] = calloc(r->size / 64 + 1, 1);
            if (!r->wbits[k])
                continue;
            for (uint64_t g = (lo - r->base) >> 6; g <= (hi - 1 - r->base) >> 6; g++)
                r->wbits[k][g] = 1;
        }
    }
}

static void rebuild_granules(core_t *c)
{
    for (uint32_t i = 0; i < c->nregions; i++)
        for (int k = 0; k < 2; k++) {
            free(c->regions[i].wbits[k]);
            c->regions[i].wbits[k] = NULL;
        }
    for (uint32_t i = 0; i < c->nwatch; i++)
        if (c->watches[i].used)
            mark_granules(c, &c->watches[i]);
    core_reset_caches(c);
}

/* Returns the watch slot, or -1 when all MAX_WATCH are in use. */
int core_add_watch(core_t *c, uint32_t lo, uint32_t hi, uint32_t kinds)
{
    uint32_t i = 0;
    while (i < c->nwatch && c->watches[i].used)
        i++;
    if (i == MAX_WATCH)
        return -1;
    if (i == c->nwatch)
        c->nwatch++;
    c->watches[i] = (watch_t){lo, hi, kinds, 1};
    rebuild_granules(c);
    return (int)i;
}

void core_remove_watch(core_t *c, int slot)
{
    if (slot < 0 || (uint32_t)slot >= c->nwatch)
        return;
    c->watches[slot].used = 0;
    while (c->nwatch && !c->watches[c->nwatch - 1].used)
        c->nwatch--;
    rebuild_granules(c);
}

void core_set_trace(core_t *c, trace_entry_t *ring, uint32_t cap, uint32_t mem, uint32_t pcs,
                    uint32_t keep_newest)
{
    c->ring = ring;
    c->ring_cap = cap;
    c->ring_head = c->ring_count = 0;
    c->ring_dropped = 0;
    c->ring_keep_newest = keep_newest;
    c->trace_mem = ring ? mem : 0;
    c->trace_pcs = ring ? pcs : 0;
    core_reset_caches(c);
}

/* Which pages of a lazy region were ever touched (one byte per page, bit 0): snapshots
 * skip the rest without reading them. Returns -1 when the kernel cannot tell. */
int core_resident_pages(uint8_t *host, uint64_t len, uint8_t *vec)
{
    return mincore(host, (size_t)len, vec);
}
