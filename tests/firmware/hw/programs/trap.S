# Record the first trap (mcause, mtval, mepc) and sleep; the Xnpu instruction at `xn` is a barrier.
        .text
        .globl _start
_start:
        la      t0, handler
        csrw    mtvec, t0
xn:     npu.barrier all
ok:     wfi
        j       ok
handler:
        la      t0, seen
        csrr    t1, mcause
        sw      t1, 0(t0)
        csrr    t1, mtval
        sw      t1, 4(t0)
        csrr    t1, mepc
        sw      t1, 8(t0)
1:      wfi
        j       1b

        .data
        .balign 4
seen:   .word 0, 0, 0
