# Traps and interrupts: trap_entry is mtvec (direct mode).
#
# Interrupts: only the external interrupt is enabled (mie.MEIE), and mstatus.MIE is set
# only while main_loop sleeps, so an interrupt never lands in the middle of a command.
# The handler moves core_irq.pending into the word irq_events (W1C on the device) and
# returns; main_loop acts on irq_events.
#
# Exceptions (illegal instruction, access faults, misaligned accesses, ecall, ebreak
# without a debugger) are fatal: fw_trap records mcause, mepc, mtval, ra and sp in
# fw_trap_record (DTCM; the host reads it through the fw_load window), reports a fw_trap
# device error through fw_err (errlog entry with the faulting address, host IRQ
# fw_fatal), sets ctrl.state = fault, and parks the core in wfi with every interrupt off.
# Nothing is silently lost: the host sees the IRQ and recovers by a reset.

.equ MCAUSE_IRQ_MEI, 11                 # machine external interrupt (privileged spec)
.equ TRAP_FRAME, 16
# The last fatal trap, for the host and the debugger (TR_* offsets).
.equ TR_MCAUSE, 0
.equ TR_MEPC, 4
.equ TR_MTVAL, 8
.equ TR_RA, 12
.equ TR_SP, 16
.equ TR_COUNT, 20
.equ TR_SIZE, 24

        .text
        .balign 4
# trap_entry: every trap.
# Assumes: sp is a valid stack (set by _start before mtvec).
# Guarantees: an external interrupt returns with every register as it was;
# an exception never returns (fw_trap).
FUNC trap_entry
        addi    sp, sp, -TRAP_FRAME
        sw      t0, 0(sp)
        sw      t1, 4(sp)
        sw      t2, 8(sp)
        csrr    t0, mcause
        bgez    t0, fw_trap             # bit 31 clear: an exception
        andi    t0, t0, 31
        li      t1, MCAUSE_IRQ_MEI
        bne     t0, t1, 1f              # no other interrupt is enabled; ignore a stray one
        li      t0, R_CORE_IRQ_PENDING
        lw      t1, 0(t0)
        sw      t1, 0(t0)               # acknowledge exactly what we saw (W1C)
        la      t0, irq_events
        lw      t2, 0(t0)
        or      t2, t2, t1
        sw      t2, 0(t0)
1:      lw      t0, 0(sp)
        lw      t1, 4(sp)
        lw      t2, 8(sp)
        addi    sp, sp, TRAP_FRAME
        mret

# fw_trap: the exception path of trap_entry (t0-t2 saved on the stack). Never returns.
FUNC fw_trap
        la      t0, fw_trap_record
        csrr    t1, mcause
        sw      t1, TR_MCAUSE(t0)
        csrr    t1, mepc
        sw      t1, TR_MEPC(t0)
        csrr    t1, mtval
        sw      t1, TR_MTVAL(t0)
        sw      ra, TR_RA(t0)
        addi    t1, sp, TRAP_FRAME
        sw      t1, TR_SP(t0)
        lw      t1, TR_COUNT(t0)
        addi    t1, t1, 1
        sw      t1, TR_COUNT(t0)
        csrr    t1, mtval               # the error log entry: cause fw_trap, the faulting address
        REG_WR  R_FW_ERR_ADDR, t1, t2
        li      t1, E_DEVICE_ERROR_FW_TRAP << F_FW_ERR_CAUSE_CAUSE_LSB
        REG_WR  R_FW_ERR_CAUSE, t1, t2
        li      t1, F_FW_ERR_REPORT_TRIGGER_MASK
        REG_WR  R_FW_ERR_REPORT, t1, t2  # errlog entry + host IRQ fw_fatal
        li      t1, E_DEVICE_STATE_FAULT << F_CTRL_STATE_STATE_LSB
        REG_WR  R_CTRL_STATE, t1, t2
        j       park

# park: stop serving for good (until the host resets the device). Interrupts off, the
# core sleeps; the watchdog does not run while the core sleeps.
FUNC park
        csrw    mie, x0
        csrci   mstatus, MSTATUS_MIE
1:      wfi
        j       1b

        .bss
        .balign 16
        .globl  fw_trap_record
fw_trap_record: .space TR_SIZE
        .balign 4
        .globl  irq_events
irq_events:     .word 0                 # core_irq.pending bits seen by trap_entry, not yet handled
