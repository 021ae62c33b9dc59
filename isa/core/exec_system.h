/* Bodies of fences, environment calls, mret, wfi and the Zicsr instructions
 * (included inside core_run()). */

/* One in-order hart: memory is already ordered. */
exec_fence: NEXT();
/* Stores into executable regions invalidate their predecoded entries at once, so
 * instruction fetch already sees them: fence.i has nothing left to do. */
exec_fence_i: NEXT();

exec_ecall:
    if (c->stop_on_ecall) {  /* the host serves the call; the program resumes after it */
        c->a.pc = pc + 4;
        SYNC();
        c->stop.reason = STOP_ECALL;
        c->stop.insn_pc = pc;
        goto out;
    }
    TRAP(CAUSE_ECALL_M, 0);
exec_ebreak:
    if (c->stop_on_ebreak) {  /* a debugger's stop: the ebreak has not run */
        left++;
        c->a.pc = pc;
        SYNC();
        unrecord_exec(c, pc);
        c->stop.reason = STOP_EBREAK;
        c->stop.insn_pc = pc;
        goto out;
    }
    TRAP(CAUSE_BREAKPOINT, pc);

/* "MRET ... sets the privilege mode to MPP, sets MIE to MPIE, sets MPIE to 1." */
exec_mret: {
    u32 s = c->a.mstatus;
    c->a.mstatus = (s & ~(MSTATUS_MIE | MSTATUS_MPIE)) | ((s & MSTATUS_MPIE) ? MSTATUS_MIE : 0)
                   | MSTATUS_MPIE | MSTATUS_MPP;
    pc = c->a.mepc;
    FORCE_CHECK();
    JUMP();
}
/* "WFI ... the hart resumes when an interrupt is pending and enabled in mie, even if
 * mstatus.MIE is clear" -- with none, the loop stops: time passes outside the core. */
exec_wfi:
    if (c->a.mip & c->a.mie) {
        FORCE_CHECK();
        NEXT();
    }
    c->a.pc = pc + 4;
    SYNC();
    c->stop.reason = STOP_WFI;
    c->stop.insn_pc = pc;
    goto out;

/* Zicsr: "If rd=x0, then the instruction shall not read the CSR" (no read side effects
 * here, but the CSR must exist); CSRRS/CSRRC with rs1=x0 and CSRRSI/CSRRCI with uimm=0
 * do not write, so they may read a read-only CSR; any write to one is illegal. */
#define CSR_BODY(op, src, do_write) do { u32 old_; c->a.pc = pc; SYNC(); \
    if (csr_rmw(c, F_csr, (op), (src), (do_write), &old_)) TRAP(CAUSE_ILLEGAL, CSR_WORD()); \
    WR(F_rd, old_); if (do_write) FORCE_CHECK(); NEXT(); } while (0)

exec_csrrw: CSR_BODY(0, X(F_rs1), 1);
exec_csrrs: CSR_BODY(1, X(F_rs1), F_rs1 != 0);
exec_csrrc: CSR_BODY(2, X(F_rs1), F_rs1 != 0);
exec_csrrwi: CSR_BODY(0, F_zimm, 1);
exec_csrrsi: CSR_BODY(1, F_zimm, F_zimm != 0);
exec_csrrci: CSR_BODY(2, F_zimm, F_zimm != 0);
