# Interrupt-driven firmware: a doorbell (core_irq sq0 -> external interrupt) makes the
# handler count it, acknowledge it and raise host_irq cq0; the machine timer, armed
# DELAY ticks after boot, makes the handler record mtime and disarm it.
        .text
        .globl _start
_start:
        la      t0, handler
        csrw    mtvec, t0
        li      t0, REG_CORE_IRQ_ENABLE
        li      t1, 1                   # sq0
        sw      t1, 0(t0)
        li      t0, REG_TIMER_MTIME_LO
        lw      t1, 0(t0)
        li      t2, DELAY
        add     t1, t1, t2
        li      t0, REG_TIMER_MTIMECMP_HI
        sw      x0, 0(t0)
        li      t0, REG_TIMER_MTIMECMP_LO
        sw      t1, 0(t0)
        li      t0, 0x880               # MEIE | MTIE
        csrw    mie, t0
        csrsi   mstatus, 8              # MIE
idle:   wfi
        j       idle

handler:
        csrr    t3, mcause
        bgez    t3, fatal               # not an interrupt
        andi    t3, t3, 31
        li      t4, 7
        beq     t3, t4, timer
        li      t0, REG_CORE_IRQ_PENDING
        lw      t1, 0(t0)
        sw      t1, 0(t0)               # W1C what we saw
        la      t0, doorbells
        lw      t2, 0(t0)
        addi    t2, t2, 1
        sw      t2, 0(t0)
        li      t0, REG_HOST_IRQ_RAISE
        li      t1, 1                   # cq0
        sw      t1, 0(t0)
        mret
timer:
        li      t0, REG_TIMER_MTIME_LO
        lw      t1, 0(t0)
        la      t0, timer_at
        sw      t1, 0(t0)
        li      t0, REG_TIMER_MTIMECMP_HI
        li      t1, -1
        sw      t1, 0(t0)
        mret
fatal:  j       fatal

        .data
        .balign 4
doorbells: .word 0
timer_at:  .word 0
