/* Bodies of jumps and conditional branches (included inside core_run()). */

exec_jal: {
    u32 t = pc + (u32)F_imm_j;
    if (unlikely(t & 3))
        TRAP(CAUSE_FETCH_MISALIGNED, t);
    WR(F_rd, pc + 4);
    pc = t;
    JUMP();
}
/* "The target address is obtained by adding the sign-extended 12-bit I-immediate to
 * the register rs1, then setting the least-significant bit of the result to zero."
 * rs1 is read before rd is written (they may be the same register). */
exec_jalr: {
    u32 t = (X(F_rs1) + (u32)F_imm_i) & ~1u;
    if (unlikely(t & 3))
        TRAP(CAUSE_FETCH_MISALIGNED, t);
    WR(F_rd, pc + 4);
    pc = t;
    JUMP();
}
exec_beq: BRANCH(X(F_rs1) == X(F_rs2));
exec_bne: BRANCH(X(F_rs1) != X(F_rs2));
exec_blt: BRANCH((s32)X(F_rs1) < (s32)X(F_rs2));
exec_bge: BRANCH((s32)X(F_rs1) >= (s32)X(F_rs2));
exec_bltu: BRANCH(X(F_rs1) < X(F_rs2));
exec_bgeu: BRANCH(X(F_rs1) >= X(F_rs2));
