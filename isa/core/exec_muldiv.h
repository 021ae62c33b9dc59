/* Bodies of the M extension (included inside core_run()). */

exec_mul: WR(F_rd, X(F_rs1) * X(F_rs2)); NEXT();
exec_mulh: WR(F_rd, (u32)(((s64)(s32)X(F_rs1) * (s64)(s32)X(F_rs2)) >> 32)); NEXT();
exec_mulhsu: WR(F_rd, (u32)(((s64)(s32)X(F_rs1) * (s64)(u64)X(F_rs2)) >> 32)); NEXT();
exec_mulhu: WR(F_rd, (u32)(((u64)X(F_rs1) * (u64)X(F_rs2)) >> 32)); NEXT();
/* "The quotient of division by zero has all bits set, and the remainder of division by
 * zero equals the dividend. Signed division overflow occurs only when the most-negative
 * integer is divided by -1. The quotient of a signed division with overflow is equal to
 * the dividend, and the remainder is zero." (unprivileged spec, 13.2, table 11) */
exec_div: {
    s32 a = (s32)X(F_rs1), b = (s32)X(F_rs2);
    WR(F_rd, b == 0 ? 0xffffffffu : (a == INT32_MIN && b == -1) ? (u32)a : (u32)(a / b));
    NEXT();
}
exec_divu: {
    u32 a = X(F_rs1), b = X(F_rs2);
    WR(F_rd, b == 0 ? 0xffffffffu : a / b);
    NEXT();
}
exec_rem: {
    s32 a = (s32)X(F_rs1), b = (s32)X(F_rs2);
    WR(F_rd, b == 0 ? (u32)a : (a == INT32_MIN && b == -1) ? 0u : (u32)(a % b));
    NEXT();
}
exec_remu: {
    u32 a = X(F_rs1), b = X(F_rs2);
    WR(F_rd, b == 0 ? a : a % b);
    NEXT();
}
