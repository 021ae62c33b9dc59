/* Bodies of the integer register-immediate and register-register instructions.
 * Included inside core_run(); each body is the label `exec_<key>` of its table row.
 * x0: "Register x0 is hardwired with all bits equal to 0" -- the decoder points a
 * destination of x0 at a sink slot, so bodies write unconditionally. */

exec_lui: WR(F_rd, F_imm_u << 12); NEXT();
exec_auipc: WR(F_rd, pc + (F_imm_u << 12)); NEXT();

exec_addi: WR(F_rd, X(F_rs1) + (u32)F_imm_i); NEXT();
exec_slti: WR(F_rd, (s32)X(F_rs1) < F_imm_i); NEXT();
/* "SLTIU is similar but compares the values as unsigned numbers (i.e., the immediate
 * is first sign-extended to XLEN bits then treated as an unsigned number)." */
exec_sltiu: WR(F_rd, X(F_rs1) < (u32)F_imm_i); NEXT();
exec_xori: WR(F_rd, X(F_rs1) ^ (u32)F_imm_i); NEXT();
exec_ori: WR(F_rd, X(F_rs1) | (u32)F_imm_i); NEXT();
exec_andi: WR(F_rd, X(F_rs1) & (u32)F_imm_i); NEXT();
exec_slli: WR(F_rd, X(F_rs1) << F_shamt); NEXT();
exec_srli: WR(F_rd, X(F_rs1) >> F_shamt); NEXT();
exec_srai: WR(F_rd, (u32)((s32)X(F_rs1) >> F_shamt)); NEXT();

exec_add: WR(F_rd, X(F_rs1) + X(F_rs2)); NEXT();
exec_sub: WR(F_rd, X(F_rs1) - X(F_rs2)); NEXT();
/* "SLL, SRL, and SRA perform logical left, logical right, and arithmetic right shifts
 * on the value in register rs1 by the shift amount held in the lower 5 bits of register rs2." */
exec_sll: WR(F_rd, X(F_rs1) << (X(F_rs2) & 31)); NEXT();
exec_slt: WR(F_rd, (s32)X(F_rs1) < (s32)X(F_rs2)); NEXT();
exec_sltu: WR(F_rd, X(F_rs1) < X(F_rs2)); NEXT();
exec_xor: WR(F_rd, X(F_rs1) ^ X(F_rs2)); NEXT();
exec_srl: WR(F_rd, X(F_rs1) >> (X(F_rs2) & 31)); NEXT();
exec_sra: WR(F_rd, (u32)((s32)X(F_rs1) >> (X(F_rs2) & 31))); NEXT();
exec_or: WR(F_rd, X(F_rs1) | X(F_rs2)); NEXT();
exec_and: WR(F_rd, X(F_rs1) & X(F_rs2)); NEXT();
