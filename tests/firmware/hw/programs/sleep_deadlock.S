# The cube waits for a flag, then the core sleeps in wfi. TIMER=0: nothing will ever wake
# the core, so nothing will ever set the flag (a deadlock). TIMER=1: the machine timer,
# armed DELAY ticks ahead with MTIE enabled, wakes the core, which then sets the flag.
        .text
        .globl _start
_start:
        .if TIMER
        li      t0, REG_TIMER_MTIMECMP_HI
        sw      x0, 0(t0)
        li      t0, REG_TIMER_MTIMECMP_LO
        li      t1, DELAY
        sw      t1, 0(t0)
        li      t0, 0x80                # MTIE (mstatus.MIE stays 0: wfi wakes, no trap)
        csrw    mie, t0
        .endif
        npu.waitflag mte2, m, 5
        li      a2, REGION_L0A
        li      a3, REGION_L0B
        li      a4, REGION_L0C
        npu.mmad a4, a2, a3
sleep:  wfi
        .if TIMER
        li      t0, REG_TIMER_MTIMECMP_HI
        li      t1, -1
        sw      t1, 0(t0)               # disarm
        npu.setflag mte2, m, 5
        .endif
done:   wfi
        j       done
