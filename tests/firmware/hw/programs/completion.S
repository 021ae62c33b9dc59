# Publish one completion entry (four words) at queue0.cq_base, then move queue0.cq_tail to 1.
        .text
        .globl _start
_start:
        li      t0, REG_QUEUE0_CQ_BASE
        lw      a0, 0(t0)
        li      t1, 0x600d
        sw      t1, 0(a0)
        li      t1, 0x1111
        sw      t1, 4(a0)
        sw      t1, 8(a0)
        sw      t1, 12(a0)
        li      t0, REG_QUEUE0_CQ_TAIL
        li      t1, 1
        sw      t1, 0(t0)
done:   wfi
        j       done
