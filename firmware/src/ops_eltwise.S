# ELTWISE: out = a op b over count elements (add, sub, mul, max, min), out = relu(a) or
# out = a * scale + bias, for fp16, fp32 or int32 tensors of any length (scale_bias: fp16
# and fp32). The tensors stream through UB in chunks (stream_run, ops_common.S).
#
# Checks, in order: op known (BAD_PARAM), dtype fp16/fp32/int32 and int32 not with
# scale_bias (BAD_PARAM), count > 0 (BAD_SIZE) and count * element size without overflow
# (SIZE_OVERFLOW), each buffer in HBM and aligned (MISALIGNED / BAD_ADDRESS), out equal to
# an input or disjoint from it (OVERLAP).
#
# Known defect FW-120-1 (firmware/known_issues.toml), built when ELTWISE_MAX_TAIL_BUG is
# set: the vectorised max handles whole groups of 16 elements only, so the last
# count % 16 outputs are never written; the completion still says OK.

.equ ELT_FRAME, 32

        .text
# handle_eltwise(a0 = descriptor, a1 = generation) -> a0 = status, a1 = detail.
# Registers: s1 args, s2 op, s3 element size, s4 bytes, s5 count.
FUNC handle_eltwise
        ENTER   ELT_FRAME
        SAVE_S  5
        call    ops_args
        mv      s1, a0
        lbu     s2, ARG_ELTWISE_OP(s1)
        li      t0, ELTWISE_OP_SCALE_BIAS
        li      a1, ARG_ELTWISE_OP
        bgtu    s2, t0, 8f
        lbu     t1, ARG_ELTWISE_DTYPE(s1)       # t2 = v_dtype, s3 = element size
        li      a1, ARG_ELTWISE_DTYPE
        li      s3, 2
        li      t2, V_DTYPE_FLOAT16
        li      t0, DTYPE_FP16
        beq     t1, t0, 1f
        li      s3, 4
        li      t2, V_DTYPE_FLOAT32
        li      t0, DTYPE_FP32
        beq     t1, t0, 1f
        li      t2, V_DTYPE_INT32
        li      t0, DTYPE_INT32
        bne     t1, t0, 8f
        li      t0, ELTWISE_OP_SCALE_BIAS       # no integer scale_bias
        beq     s2, t0, 8f
1:      CFG_SET v_dtype, t2
        lw      s5, ARG_ELTWISE_COUNT(s1)
        li      a1, ARG_ELTWISE_COUNT
        beqz    s5, 7f
        mulhu   t0, s5, s3
        mul     s4, s5, s3
        bnez    t0, 6f
        li      a0, ARG_ELTWISE_COUNT           # --- buffers
        call    arg_detail
        mv      a2, a0
        lw      a0, ARG_ELTWISE_A(s1)
        mv      a1, s4
        call    check_buffer
        bnez    a0, 9f
        li      a0, ARG_ELTWISE_COUNT
        call    arg_detail
        mv      a2, a0
        lw      a0, ARG_ELTWISE_OUT(s1)
        mv      a1, s4
        call    check_buffer
        bnez    a0, 9f
        lw      a0, ARG_ELTWISE_A(s1)
        lw      a2, ARG_ELTWISE_OUT(s1)
        beq     a0, a2, 2f                      # in place is fine
        mv      a1, s4
        mv      a3, s4
        call    check_disjoint
        bnez    a0, 9f
2:      li      t0, ELTWISE_OP_RELU
        bgeu    s2, t0, 3f                      # relu, scale_bias: unary
        li      a0, ARG_ELTWISE_COUNT
        call    arg_detail
        mv      a2, a0
        lw      a0, ARG_ELTWISE_B(s1)
        mv      a1, s4
        call    check_buffer
        bnez    a0, 9f
        lw      a0, ARG_ELTWISE_B(s1)
        lw      a2, ARG_ELTWISE_OUT(s1)
        beq     a0, a2, 3f
        mv      a1, s4
        mv      a3, s4
        call    check_disjoint
        bnez    a0, 9f
3:      mv      a0, s1                          # --- run
        mv      a1, s2
        mv      a2, s3
        mv      a3, s5
        call    eltwise_run
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
        LEAVE   ELT_FRAME

# eltwise_run(a0 = checked arguments, a1 = op, a2 = element size, a3 = count): fill the
# stream control block and run it; v_dtype is already set. scale_bias puts its two fp32
# parameters at OPS_UB_PARAMS (the core writes UB while no pipe runs: the previous
# command drained them). Returns with every pipe drained.
FUNC eltwise_run
        ENTER   16
        la      t0, ops_stream
        lw      t1, ARG_ELTWISE_A(a0)
        sw      t1, SC_A(t0)
        sw      x0, SC_B(t0)
        li      t2, ELTWISE_OP_RELU
        bgeu    a1, t2, 1f
        lw      t1, ARG_ELTWISE_B(a0)
        sw      t1, SC_B(t0)
1:      lw      t1, ARG_ELTWISE_OUT(a0)
        sw      t1, SC_OUT(t0)
.if ELTWISE_MAX_TAIL_BUG
        li      t2, ELTWISE_OP_MAX              # FW-120-1: whole groups of 16 only
        bne     a1, t2, 2f
        andi    a3, a3, -16
2:
.endif
        sw      a3, SC_COUNT(t0)
        sw      a2, SC_AES(t0)
        sw      a2, SC_OES(t0)
        la      t1, elt_bodies
        slli    t2, a1, 2
        add     t1, t1, t2
        lw      t1, 0(t1)
        li      t2, ELTWISE_OP_SCALE_BIAS
        bne     a1, t2, 3f
        lw      t2, ARG_ELTWISE_SCALE(a0)       # scale_bias: parameters into UB
        li      t3, OPS_UB_PARAMS
        sw      t2, 0(t3)
        lw      t2, ARG_ELTWISE_BIAS(a0)
        sw      t2, 4(t3)
        CFG_SETI v_chan, 1, t2
        li      t2, 2
        bne     a2, t2, 3f
        la      t1, elt_v_scale_bias16          # fp16: through fp32
3:      sw      t1, SC_BODY(t0)
        beqz    a3, 4f                          # (only FW-120-1 leaves nothing to do)
        mv      a0, t0
        call    stream_run
4:      LEAVE   16

# Vector bodies of stream_run: (a0 = UB A, a1 = UB B, a2 = UB work, a3 = elements) ->
# a0 = the result's UB address. They issue vector instructions only.
FUNC elt_v_add
        ENTER   16
        npu.vadd a0, a0, a1
        LEAVE   16
FUNC elt_v_sub
        ENTER   16
        npu.vsub a0, a0, a1
        LEAVE   16
FUNC elt_v_mul
        ENTER   16
        npu.vmul a0, a0, a1
        LEAVE   16
FUNC elt_v_max
        ENTER   16
        npu.vmax a0, a0, a1
        LEAVE   16
FUNC elt_v_min
        ENTER   16
        npu.vmin a0, a0, a1
        LEAVE   16
FUNC elt_v_relu
        ENTER   16
        npu.vrelu a0, a0
        LEAVE   16
FUNC elt_v_scale_bias
        ENTER   16
        li      t0, OPS_UB_PARAMS
        npu.vscalebias a0, a0, t0
        LEAVE   16
# fp16 scale_bias: widen to fp32 in the work area, scale and bias there, round back once.
FUNC elt_v_scale_bias16
        ENTER   16
        li      t0, OPS_UB_PARAMS
        npu.vcvt.f32.f16 a2, a0
        npu.vscalebias a2, a2, t0
        npu.vcvt.f16.f32 a0, a2
        LEAVE   16

        .rodata
        .balign 4
elt_bodies:                             # per ELTWISE_OP_* code
        .word   elt_v_add, elt_v_sub, elt_v_mul, elt_v_max, elt_v_min, elt_v_relu, elt_v_scale_bias
