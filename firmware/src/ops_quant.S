# QUANTIZE / DEQUANTIZE, per tensor, streamed through UB (stream_run, ops_common.S):
#   QUANTIZE:   dst(int8) = saturate(round_half_even(src / scale) + zero_point), src fp32/fp16
#   DEQUANTIZE: dst = (src(int8) - zero_point) * scale, dst fp32/fp16 (fp16: rounded once)
# The vector unit does the arithmetic (npu.vquant / npu.vdequant with cfg v_scale, v_zero).
#
# Checks, in order: dtype fp32 or fp16 (BAD_PARAM), scale a positive finite fp32 (BAD_PARAM),
# zero_point in -128..127 (BAD_PARAM), count > 0 (BAD_SIZE) and count * element size without
# overflow (SIZE_OVERFLOW), both buffers in HBM and aligned, src and dst disjoint (OVERLAP).
# The argument layouts of the two commands are the same (abi.toml); the code relies on it.

.if (ARG_QUANTIZE_SRC != ARG_DEQUANTIZE_SRC) || (ARG_QUANTIZE_DST != ARG_DEQUANTIZE_DST) || (ARG_QUANTIZE_COUNT != ARG_DEQUANTIZE_COUNT) || (ARG_QUANTIZE_DTYPE != ARG_DEQUANTIZE_DTYPE) || (ARG_QUANTIZE_SCALE != ARG_DEQUANTIZE_SCALE) || (ARG_QUANTIZE_ZERO_POINT != ARG_DEQUANTIZE_ZERO_POINT)
        .error "QUANTIZE and DEQUANTIZE arguments differ: quant_common needs both layouts"
.endif

        .text
# handle_quantize(a0 = descriptor, a1 = generation) -> a0 = status, a1 = detail.
FUNC handle_quantize
        ENTER   16
        li      a1, 0
        call    quant_common
        LEAVE   16

# handle_dequantize(a0 = descriptor, a1 = generation) -> a0 = status, a1 = detail.
FUNC handle_dequantize
        ENTER   16
        li      a1, 1
        call    quant_common
        LEAVE   16

# quant_common(a0 = descriptor, a1 = 0 quantize / 1 dequantize) -> a0 = status, a1 = detail.
# Registers: s1 args, s2 direction, s3 float element size, s4 float bytes, s5 count.
FUNC quant_common
        ENTER   32
        SAVE_S  5
        mv      s2, a1
        call    ops_args
        mv      s1, a0
        lbu     t1, ARG_QUANTIZE_DTYPE(s1)
        li      a1, ARG_QUANTIZE_DTYPE
        li      s3, 4
        li      t0, DTYPE_FP32
        beq     t1, t0, 1f
        li      s3, 2
        li      t0, DTYPE_FP16
        bne     t1, t0, 8f
1:      lw      a0, ARG_QUANTIZE_SCALE(s1)
        li      a1, 1
        call    ops_check_f32_param
        li      a1, ARG_QUANTIZE_SCALE
        bnez    a0, 8f
        lw      t1, ARG_QUANTIZE_ZERO_POINT(s1)
        li      a1, ARG_QUANTIZE_ZERO_POINT
        addi    t1, t1, 128
        li      t0, 255
        bgtu    t1, t0, 8f
        lw      s5, ARG_QUANTIZE_COUNT(s1)
        li      a1, ARG_QUANTIZE_COUNT
        beqz    s5, 7f
        mulhu   t0, s5, s3
        mul     s4, s5, s3
        bnez    t0, 6f
        li      a0, ARG_QUANTIZE_COUNT          # --- buffers: a0 = src bytes, a1 = dst bytes
        call    arg_detail
        mv      a2, a0
        mv      a1, s4
        beqz    s2, 2f
        mv      a1, s5
2:      lw      a0, ARG_QUANTIZE_SRC(s1)
        call    check_buffer
        bnez    a0, 9f
        li      a0, ARG_QUANTIZE_COUNT
        call    arg_detail
        mv      a2, a0
        mv      a1, s5
        beqz    s2, 3f
        mv      a1, s4
3:      lw      a0, ARG_QUANTIZE_DST(s1)
        call    check_buffer
        bnez    a0, 9f
        lw      a0, ARG_QUANTIZE_SRC(s1)
        lw      a2, ARG_QUANTIZE_DST(s1)
        mv      a1, s4
        mv      a3, s5
        beqz    s2, 4f
        mv      a1, s5
        mv      a3, s4
4:      call    check_disjoint
        bnez    a0, 9f
        lw      t0, ARG_QUANTIZE_SCALE(s1)      # --- run
        CFG_SET v_scale, t0
        lw      t0, ARG_QUANTIZE_ZERO_POINT(s1)
        CFG_SET v_zero, t0
        la      t0, ops_stream
        lw      t1, ARG_QUANTIZE_SRC(s1)
        sw      t1, SC_A(t0)
        sw      x0, SC_B(t0)
        lw      t1, ARG_QUANTIZE_DST(s1)
        sw      t1, SC_OUT(t0)
        sw      s5, SC_COUNT(t0)
        li      t1, 1
        sw      s3, SC_AES(t0)                  # quantize: float in, int8 out
        sw      t1, SC_OES(t0)
        beqz    s2, 5f
        sw      t1, SC_AES(t0)                  # dequantize: int8 in, float out
        sw      s3, SC_OES(t0)
5:      slli    t1, s2, 1                       # body = quant_bodies[2 * direction + (fp16)]
        li      t2, 2
        bne     s3, t2, 51f
        addi    t1, t1, 1
51:     slli    t1, t1, 2
        la      t2, quant_bodies
        add     t2, t2, t1
        lw      t1, 0(t2)
        sw      t1, SC_BODY(t0)
        mv      a0, t0
        call    stream_run
        li      a0, ST_OK
        li      a1, 0
        j       9f
6:      li      a0, ST_SIZE_OVERFLOW
        call    ops_fail
        j       9f
7:      li      a0, ST_BAD_SIZE
        call    ops_fail
        j       9f
8:      li      a0, ST_BAD_PARAM
        call    ops_fail
9:      RESTORE_S 5
        LEAVE   32

# Vector bodies of stream_run (see ops_common.S): a0 = UB input, a2 = UB work area.
FUNC quant_v_f32
        ENTER   16
        npu.vquant a0, a0
        LEAVE   16
FUNC quant_v_f16
        ENTER   16
        npu.vcvt.f32.f16 a2, a0
        npu.vquant a2, a2
        mv      a0, a2
        LEAVE   16
FUNC dequant_v_f32
        ENTER   16
        npu.vdequant a2, a0
        mv      a0, a2
        LEAVE   16
FUNC dequant_v_f16
        ENTER   16
        npu.vdequant a2, a0
        npu.vcvt.f16.f32 a2, a2
        mv      a0, a2
        LEAVE   16

        .rodata
        .balign 4
quant_bodies:                           # [direction][fp16]
        .word   quant_v_f32, quant_v_f16, dequant_v_f32, dequant_v_f16
