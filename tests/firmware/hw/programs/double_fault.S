# A trap whose handler's first instruction traps again: the firmware cannot recover.
        .text
        .globl _start
_start:
        la      t0, handler
        csrw    mtvec, t0
bad:    unimp
handler:
        unimp
