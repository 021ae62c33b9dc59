/* Bodies of loads and stores (included inside core_run()). Misaligned accesses trap
 * with the misaligned cause (the spec lets an implementation trap instead of handling
 * them, as most embedded cores do); the fast path is the last RAM region hit. */

exec_lb: LOAD(s8, 1, X(F_rs1) + (u32)F_imm_i, F_rd); NEXT();
exec_lh: LOAD(s16, 2, X(F_rs1) + (u32)F_imm_i, F_rd); NEXT();
exec_lw: LOAD(s32, 4, X(F_rs1) + (u32)F_imm_i, F_rd); NEXT();
exec_lbu: LOAD(u8, 1, X(F_rs1) + (u32)F_imm_i, F_rd); NEXT();
exec_lhu: LOAD(u16, 2, X(F_rs1) + (u32)F_imm_i, F_rd); NEXT();
exec_sb: STORE(u8, 1, X(F_rs1) + (u32)F_imm_s, X(F_rs2)); NEXT();
exec_sh: STORE(u16, 2, X(F_rs1) + (u32)F_imm_s, X(F_rs2)); NEXT();
exec_sw: STORE(u32, 4, X(F_rs1) + (u32)F_imm_s, X(F_rs2)); NEXT();
