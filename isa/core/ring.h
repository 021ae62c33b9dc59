/* Appending one record to the trace ring (shared by the loop's inline path and mem.c). */
#ifndef NPU_CORE_RING_H
#define NPU_CORE_RING_H

#include "core.h"

/* `cycle` is the core's count including the instruction making the record (its tick in the
 * device's time, as `Device.now` reads inside that instruction's callbacks).
 * Returns 1 when the ring just filled in mode "stop": the loop must stop at the next boundary. */
static inline int ring_put(core_t *c, uint32_t kind, uint32_t pc, uint32_t addr, uint32_t size,
                           uint32_t value, uint64_t cycle)
{
    if (c->ring_count == c->ring_cap) {
        if (!c->ring_keep_newest)
            return 1;  /* not reached: the loop stops before the ring overflows */
        if (++c->ring_head == c->ring_cap)
            c->ring_head = 0;
        c->ring_count--;
        c->ring_dropped++;
    }
    uint32_t i = c->ring_head + c->ring_count;
    if (i >= c->ring_cap)
        i -= c->ring_cap;
    trace_entry_t *t = &c->ring[i];
    t->tick = c->tick_base + (cycle - c->cycle_base) * c->ticks_per_cycle;
    t->pc = pc;
    t->addr = addr;
    t->value = value;
    t->size = (uint8_t)size;
    t->kind = (uint8_t)kind;
    if (++c->ring_count == c->ring_cap && !c->ring_keep_newest && !c->pending_stop) {
        c->pending_stop = STOP_TRACE_FULL;
        return 1;
    }
    return 0;
}

#endif
