# CONV2D: out = conv(input, weight) with stride and zero padding, fp16 input and weights,
# fp32 output, NCHW or NHWC (input and output alike), via im2col + cube; optional fused
# bias, folded batch-norm (out * scale[k] + shift[k]) and ReLU on the vector unit before
# the write-back: the Conv+BN+ReLU fusion (feature conv_fused).
#
# Per image: the image goes HBM -> L1 as C x H x W (NHWC is transposed by the DMA on the
# way). Output channels are split in tiles of `ot` and input channels in groups of `cg` so
# that one step fits L0:
#   mte2: im2col of channel group c0.. (L1 -> L0A buffer p: P x cg*kh*kw patches,
#         P = oh*ow), the weight slice W[o0.., c0..] (HBM -> L1, strided) transposed by the
#         DMA into L0B buffer p (cg*kh*kw x ot)
#   m:    mmad into L0C (overwrite on the first group, then accumulate): P x ot
# With DOUBLE_BUFFER the L0 buffers alternate and flags (mte2 -> m loaded, m -> mte2 free)
# let the im2col of the next group overlap the cube; without it a barrier ends each step.
# The tile's epilogue is serial (barriers): L0C -> UB; for NCHW or any fusion the DMA
# transposes the P x ot tile to ot x P through L1 (channel-major, which npu.vscalebias
# wants); bias (scale 1, bias b[k]), batch-norm (scale, shift) and ReLU; back to P x ot for
# NHWC; UB -> HBM.
#
# Limits (BAD_SIZE): one image (c*h*w fp16) must fit half of L1, one output plane P x 4
# bytes 64 KiB, and one channel's patches (P*kh*kw fp16) 32 KiB; larger images need
# spatial tiling, which this firmware does not do.
# Checks, in order: dtype fp16 and layout known (BAD_PARAM), opts bits known (BAD_PARAM)
# and fusion available (UNSUPPORTED), n, c, h, w, k, kh, kw, stride > 0 and the kernel
# inside the padded input (BAD_SIZE), sizes without overflow (SIZE_OVERFLOW), the limits
# above (BAD_SIZE), buffers in HBM and aligned, out disjoint from every input (OVERLAP).

.equ CV_L0_SLOT, MEM_L0A_SIZE / 2       # bytes of one L0A / L0B buffer
.equ CV_PLANE_MAX, 0x10000              # bytes of a P x ot fp32 tile (L0C, UB)
.equ CV_OT_MAX, 256                     # output channels per tile
.equ CV_L1_IMG, MEM_L1_BASE             # the image, C x H x W fp16
.equ CV_IMG_MAX, MEM_L1_SIZE / 2
.equ CV_L1_W, MEM_L1_BASE + CV_IMG_MAX  # two weight slices (ping-pong)
.equ CV_L1_T, CV_L1_W + 2 * CV_L0_SLOT  # transpose staging
.equ CV_UB_X, MEM_UB_BASE               # the tile as P x ot
.equ CV_UB_Y, MEM_UB_BASE + CV_PLANE_MAX        # the tile as ot x P
.equ CV_UB_PA, MEM_UB_BASE + 2 * CV_PLANE_MAX   # bias parameters: ot ones, ot biases
.equ CV_UB_PB, CV_UB_PA + 8 * CV_OT_MAX         # batch-norm parameters: ot scales, ot shifts
.if (CV_L1_T + CV_PLANE_MAX > MEM_L1_BASE + MEM_L1_SIZE) || (CV_UB_PB + 8 * CV_OT_MAX > OPS_UB_PARAMS)
        .error "conv2d buffers do not fit L1 / UB"
.endif
.if CV_PLANE_MAX > MEM_L0C_SIZE
        .error "conv2d tile does not fit L0C"
.endif

# conv context (filled by handle_conv2d)
.equ CV_IN, 0
.equ CV_WT, 4
.equ CV_OUT, 8
.equ CV_BIAS, 12
.equ CV_BN, 16
.equ CV_N, 20
.equ CV_C, 24
.equ CV_H, 28
.equ CV_W, 32
.equ CV_K, 36
.equ CV_KH, 40
.equ CV_KW, 44
.equ CV_STRIDE, 48
.equ CV_PAD, 52
.equ CV_LAYOUT, 56
.equ CV_OPTS, 60
.equ CV_P, 64                           # oh * ow
.equ CV_OT, 68                          # output channels per tile
.equ CV_CG, 72                          # input channels per step
.equ CV_KK, 76                          # kh * kw
.equ CV_SIZE, 80

# CV_FAIL status, arg: fail with the byte offset of argument `arg` as detail.
.macro CV_FAIL status, arg
        li      a0, \status
        li      a1, \arg
        call    ops_fail
        j       99f
.endm

# CV_MUL rd, rs, arg: rd *= rs; SIZE_OVERFLOW (detail: argument arg) when it overflows.
.macro CV_MUL rd, rs, arg
        mulhu   t0, \rd, \rs
        mul     \rd, \rd, \rs
        beqz    t0, 98f
        CV_FAIL ST_SIZE_OVERFLOW, \arg
98:
.endm

# CV_DIM load, arg, field: the context field = the argument (read with `load`); BAD_SIZE
# (detail: the argument) when it is 0.
.macro CV_DIM load, arg, field
        \load   t0, \arg(s1)
        sw      t0, \field(s2)
        bnez    t0, 97f
        CV_FAIL ST_BAD_SIZE, \arg
97:
.endm

# CV_OUT_DIM in, k, arg, rd: rd = (in + 2 pad - k) / stride + 1 from the context; BAD_SIZE
# (detail: argument arg) when the kernel k is larger than the padded input.
.macro CV_OUT_DIM in, k, arg, rd
        lw      t0, \in(s2)
        lw      t1, CV_PAD(s2)
        slli    t1, t1, 1
        add     t0, t0, t1
        lw      t1, \k(s2)
        bgeu    t0, t1, 97f
        CV_FAIL ST_BAD_SIZE, \arg
97:     sub     t0, t0, t1
        lw      t1, CV_STRIDE(s2)
        divu    \rd, t0, t1
        addi    \rd, \rd, 1
.endm

        .text
# handle_conv2d(a0 = descriptor, a1 = generation) -> a0 = status, a1 = detail.
# Registers: s1 args, s2 context, s3 input bytes, s4 weight bytes, s5 output bytes.
FUNC handle_conv2d
        ENTER   32
        SAVE    s1, 1
        SAVE    s2, 2
        SAVE    s3, 3
        SAVE    s4, 4
        SAVE    s5, 5
        call    ops_args
        mv      s1, a0
        la      s2, cv_ctx
        lbu     t0, ARG_CONV2D_DTYPE(s1)
        beqz    t0, 1f                          # DTYPE_FP16
        CV_FAIL ST_BAD_PARAM, ARG_CONV2D_DTYPE
1:      lbu     t0, ARG_CONV2D_LAYOUT(s1)
        sw      t0, CV_LAYOUT(s2)
        li      t1, LAYOUT_NHWC
        bleu    t0, t1, 2f
        CV_FAIL ST_BAD_PARAM, ARG_CONV2D_LAYOUT
2:      lbu     t0, ARG_CONV2D_OPTS(s1)
        sw      t0, CV_OPTS(s2)
        andi    t1, t0, ~(CONV_OPTS_BIAS | CONV_OPTS_BN | CONV_OPTS_RELU)
        beqz    t1, 3f
        CV_FAIL ST_BAD_PARAM, ARG_CONV2D_OPTS
3:
.if !HAS_CONV_FUSED
        beqz    t0, 4f
        CV_FAIL ST_UNSUPPORTED, ARG_CONV2D_OPTS
4:
.endif
        # --- dimensions (each > 0), copied into the context
        CV_DIM  lhu, ARG_CONV2D_N, CV_N
        CV_DIM  lhu, ARG_CONV2D_C, CV_C
        CV_DIM  lhu, ARG_CONV2D_H, CV_H
        CV_DIM  lhu, ARG_CONV2D_W, CV_W
        CV_DIM  lhu, ARG_CONV2D_K, CV_K
        CV_DIM  lbu, ARG_CONV2D_KH, CV_KH
        CV_DIM  lbu, ARG_CONV2D_KW, CV_KW
        CV_DIM  lbu, ARG_CONV2D_STRIDE, CV_STRIDE
        lbu     t0, ARG_CONV2D_PAD(s1)
        sw      t0, CV_PAD(s2)
        # --- output size: oh = (h + 2 pad - kh) / stride + 1 (the kernel must fit)
        CV_OUT_DIM CV_H, CV_KH, ARG_CONV2D_KH, t3
        CV_OUT_DIM CV_W, CV_KW, ARG_CONV2D_KW, t4
        mul     t0, t3, t4                      # < 2^32: both are at most 2^16 + 2^9
        sw      t0, CV_P(s2)
        lw      t0, CV_KH(s2)
        lw      t1, CV_KW(s2)
        mul     t0, t0, t1
        sw      t0, CV_KK(s2)
        # --- sizes: input n*c*h*w*2, weight k*c*kk*2, out n*k*P*4
        lw      s3, CV_N(s2)
        lw      t1, CV_C(s2)
        CV_MUL  s3, t1, ARG_CONV2D_C
        lw      t1, CV_H(s2)
        CV_MUL  s3, t1, ARG_CONV2D_H
        lw      t1, CV_W(s2)
        CV_MUL  s3, t1, ARG_CONV2D_W
        slli    t1, s3, 1
        bltu    t1, s3, 5f
        mv      s3, t1
        lw      s4, CV_K(s2)
        lw      t1, CV_C(s2)
        CV_MUL  s4, t1, ARG_CONV2D_C
        lw      t1, CV_KK(s2)
        CV_MUL  s4, t1, ARG_CONV2D_KH
        slli    t1, s4, 1
        bltu    t1, s4, 5f
        mv      s4, t1
        lw      s5, CV_N(s2)
        lw      t1, CV_K(s2)
        CV_MUL  s5, t1, ARG_CONV2D_K
        lw      t1, CV_P(s2)
        CV_MUL  s5, t1, ARG_CONV2D_H
        li      t1, 4
        CV_MUL  s5, t1, ARG_CONV2D_K
        j       6f
5:      CV_FAIL ST_SIZE_OVERFLOW, ARG_CONV2D_N
        # --- tiling limits
6:      lw      t0, CV_C(s2)                    # one image in half of L1
        lw      t1, CV_H(s2)
        mul     t0, t0, t1
        lw      t1, CV_W(s2)
        mul     t0, t0, t1                      # no overflow: s3 did not
        slli    t0, t0, 1
        li      t1, CV_IMG_MAX
        bleu    t0, t1, 61f
        CV_FAIL ST_BAD_SIZE, ARG_CONV2D_C
61:     lw      t2, CV_P(s2)                    # t2 = P * 4 (one output channel's plane)
        li      t1, CV_PLANE_MAX / 4
        bleu    t2, t1, 62f
        CV_FAIL ST_BAD_SIZE, ARG_CONV2D_H
62:     slli    t2, t2, 2
        lw      t3, CV_KK(s2)                   # t3 = kk * 2 (one channel's kernel)
        slli    t3, t3, 1
        lw      t4, CV_P(s2)                    # t4 = P * kk * 2 (one channel's patches)
        mul     t4, t4, t3
        li      t1, CV_L0_SLOT
        bleu    t4, t1, 63f
        CV_FAIL ST_BAD_SIZE, ARG_CONV2D_KH
63:     li      t1, CV_PLANE_MAX                # ot = min(k, plane / (P*4), slot / (kk*2), OT_MAX)
        divu    t5, t1, t2
        li      t1, CV_L0_SLOT
        divu    t0, t1, t3
        bleu    t5, t0, 64f
        mv      t5, t0
64:     li      t0, CV_OT_MAX
        bleu    t5, t0, 65f
        mv      t5, t0
65:     lw      t0, CV_K(s2)
        bleu    t5, t0, 66f
        mv      t5, t0
66:     sw      t5, CV_OT(s2)
        li      t1, CV_L0_SLOT                  # cg = min(c, slot / (P*kk*2), slot / (kk*2*ot))
        divu    t6, t1, t4
        mul     t0, t3, t5
        divu    t0, t1, t0
        bleu    t6, t0, 67f
        mv      t6, t0
67:     lw      t0, CV_C(s2)
        bleu    t6, t0, 68f
        mv      t6, t0
68:     sw      t6, CV_CG(s2)
        # --- buffers
        lw      a0, ARG_CONV2D_INPUT(s1)
        mv      a1, s3
        li      a2, 0
        call    check_buffer
        bnez    a0, 99f
        lw      a0, ARG_CONV2D_WEIGHT(s1)
        mv      a1, s4
        li      a2, 0
        call    check_buffer
        bnez    a0, 99f
        lw      a0, ARG_CONV2D_OUT(s1)
        mv      a1, s5
        li      a2, 0
        call    check_buffer
        bnez    a0, 99f
        lw      a0, ARG_CONV2D_INPUT(s1)
        mv      a1, s3
        call    cv_disjoint_out
        bnez    a0, 99f
        lw      a0, ARG_CONV2D_WEIGHT(s1)
        mv      a1, s4
        call    cv_disjoint_out
        bnez    a0, 99f
        lw      t0, CV_OPTS(s2)
        andi    t0, t0, CONV_OPTS_BIAS
        beqz    t0, 7f
        lw      a0, ARG_CONV2D_BIAS(s1)
        lw      a1, CV_K(s2)
        slli    a1, a1, 2
        li      a2, 0
        call    check_buffer
        bnez    a0, 99f
        lw      a0, ARG_CONV2D_BIAS(s1)
        lw      a1, CV_K(s2)
        slli    a1, a1, 2
        call    cv_disjoint_out
        bnez    a0, 99f
7:      lw      t0, CV_OPTS(s2)
        andi    t0, t0, CONV_OPTS_BN
        beqz    t0, 8f
        lw      a0, ARG_CONV2D_BN(s1)
        lw      a1, CV_K(s2)
        slli    a1, a1, 3
        li      a2, 0
        call    check_buffer
        bnez    a0, 99f
        lw      a0, ARG_CONV2D_BN(s1)
        lw      a1, CV_K(s2)
        slli    a1, a1, 3
        call    cv_disjoint_out
        bnez    a0, 99f
8:      lw      t0, ARG_CONV2D_INPUT(s1)        # --- run
        sw      t0, CV_IN(s2)
        lw      t0, ARG_CONV2D_WEIGHT(s1)
        sw      t0, CV_WT(s2)
        lw      t0, ARG_CONV2D_OUT(s1)
        sw      t0, CV_OUT(s2)
        lw      t0, ARG_CONV2D_BIAS(s1)
        sw      t0, CV_BIAS(s2)
        lw      t0, ARG_CONV2D_BN(s1)
        sw      t0, CV_BN(s2)
        mv      a0, s2
        call    conv_run
        li      a0, ST_OK
        li      a1, 0
99:     RESTORE s1, 1
        RESTORE s2, 2
        RESTORE s3, 3
        RESTORE s4, 4
        RESTORE s5, 5
        LEAVE   32

# cv_disjoint_out(a0 = addr, a1 = bytes) -> check_disjoint of that input and the output
# (handle_conv2d's s1 args and s5 output bytes).
FUNC cv_disjoint_out
        ENTER   16
        lw      a2, ARG_CONV2D_OUT(s1)
        mv      a3, s5
        call    check_disjoint
        LEAVE   16

# conv_run(a0 = checked context): the convolution (see the top of this file).
# Registers while it runs (conv_step and conv_tile_out use them too):
#   s1 context, s2 image b, s3 first output channel o0, s4 first input channel c0,
#   s5 L0 buffer p, s6 output channels in the tile, s7 input channels in the step.
# Guarantees: every pipe drained and no flag left set on return; the watchdog petted
# once per tile.
FUNC conv_run
        ENTER   48
        SAVE    s1, 1
        SAVE    s2, 2
        SAVE    s3, 3
        SAVE    s4, 4
        SAVE    s5, 5
        SAVE    s6, 6
        SAVE    s7, 7
        mv      s1, a0
        CFG_SETI mm_dtype, MM_DTYPE_FP16, t0
        li      s5, 0
        npu.setflag m, mte2, OPS_EV_L0          # prime: both L0 buffers start free
        npu.setflag m, mte2, OPS_EV_L0 + 1
        li      s2, 0                           # --- for each image
1:      lw      t0, CV_N(s1)
        bgeu    s2, t0, 9f
        lw      a2, CV_C(s1)                    # image bytes c*h*w*2
        lw      t0, CV_H(s1)
        mul     a2, a2, t0
        lw      t0, CV_W(s1)
        mul     a2, a2, t0
        slli    a2, a2, 1
        mul     a0, a2, s2
        lw      t0, CV_IN(s1)
        add     a0, a0, t0
        li      a1, CV_L1_IMG
        lw      t0, CV_LAYOUT(s1)
        bnez    t0, 2f
        li      a3, PIPE_MTE2                   # NCHW: as it is
        call    dma_1d
        j       3f
2:      li      a3, 1                           # NHWC: transposed to C x H x W
        li      a4, DMA_XFORM_NHWC_TO_NCHW
        li      a5, 2
        lw      a6, CV_C(s1)
        call    dma_xform
3:      li      s3, 0                           # --- for each output channel tile
4:      lw      t0, CV_K(s1)
        bgeu    s3, t0, 8f
        sub     s6, t0, s3
        lw      t0, CV_OT(s1)
        bleu    s6, t0, 41f
        mv      s6, t0
41:     li      s4, 0                           # --- for each input channel group
5:      lw      t0, CV_C(s1)
        bgeu    s4, t0, 7f
        sub     s7, t0, s4
        lw      t0, CV_CG(s1)
        bleu    s7, t0, 51f
        mv      s7, t0
51:     call    conv_step
        add     s4, s4, s7
        j       5b
7:      call    conv_tile_out
        PET_WDOG t0, t1
        add     s3, s3, s6
        j       4b
8:      addi    s2, s2, 1
        j       1b
9:      npu.waitflag m, mte2, OPS_EV_L0         # consume the flags left set
        npu.waitflag m, mte2, OPS_EV_L0 + 1
        BARRIER_ALL
        RESTORE s1, 1
        RESTORE s2, 2
        RESTORE s3, 3
        RESTORE s4, 4
        RESTORE s5, 5
        RESTORE s6, 6
        RESTORE s7, 7
        LEAVE   48

# conv_step: one input channel group (conv_run's registers): im2col and the transposed
# weight slice into L0 buffer p on mte2, then the mmad into L0C. Flips p (or, without
# DOUBLE_BUFFER, waits for every pipe). Clobbers a0-a6, t0-t6.
FUNC conv_step
        ENTER   16
        WAITFLAG_P m, mte2, OPS_EV_L0, s5       # mte2: L0 buffer p is free
        la      t0, ops_dma_desc                # im2col of channels c0..c0+cg
        lw      t1, CV_H(s1)
        lw      t2, CV_W(s1)
        mul     t3, t1, t2
        slli    t3, t3, 1
        mul     t3, t3, s4
        li      t4, CV_L1_IMG
        add     t3, t3, t4
        sw      t3, DMA_SRC(t0)
        BUF_SLOT t3, MEM_L0A_BASE, CV_L0_SLOT, s5
        sw      t3, DMA_DST(t0)
        slli    t2, t2, 1
        sw      t2, DMA_ROW_BYTES(t0)
        sh      t1, DMA_ROWS(t0)
        li      t1, DMA_XFORM_IM2COL
        sb      t1, DMA_XFORM(t0)
        li      t1, 2
        sb      t1, DMA_ESIZE(t0)
        sw      x0, DMA_SRC_STRIDE(t0)
        sw      x0, DMA_DST_STRIDE(t0)
        sh      s7, DMA_CHAN(t0)
        lw      t1, CV_KH(s1)
        sb      t1, DMA_KH(t0)
        lw      t1, CV_KW(s1)
        sb      t1, DMA_KW(t0)
        lw      t1, CV_STRIDE(s1)
        sb      t1, DMA_STRIDE(t0)
        lw      t1, CV_PAD(s1)
        sb      t1, DMA_PAD(t0)
        li      t1, DMA_FLAG_VALID
        sh      t1, DMA_FLAGS(t0)
        li      t1, PIPE_MTE2
        npu.dma t0, t1
        lw      t1, CV_KK(s1)                   # weight slice: ot rows of cg*kk, c*kk apart
        lw      t2, CV_C(s1)
        mul     t2, t2, t1                      # t2 = c*kk (row of W)
        mul     t3, s3, t2
        mul     t4, s4, t1
        add     t3, t3, t4
        slli    t3, t3, 1
        lw      a0, CV_WT(s1)
        add     a0, a0, t3
        BUF_SLOT a1, CV_L1_W, CV_L0_SLOT, s5
        mul     a2, s7, t1
        slli    a2, a2, 1
        mv      a3, s6
        slli    a4, t2, 1
        li      a5, 0
        li      a6, PIPE_MTE2
        call    dma_2d
        BUF_SLOT a0, CV_L1_W, CV_L0_SLOT, s5     # transposed: cg*kk x ot into L0B
        BUF_SLOT a1, MEM_L0B_BASE, CV_L0_SLOT, s5
        lw      t1, CV_KK(s1)
        mul     a2, s7, t1
        mul     a2, a2, s6
        slli    a2, a2, 1
        li      a3, 1
        li      a4, DMA_XFORM_NCHW_TO_NHWC
        li      a5, 2
        mv      a6, s6
        call    dma_xform
        SETFLAG_P mte2, m, OPS_EV_IN, s5
        WAITFLAG_P mte2, m, OPS_EV_IN, s5       # m: operands in L0
        lw      t0, CV_P(s1)
        CFG_SET mm_m, t0
        lw      t1, CV_KK(s1)
        mul     t0, s7, t1
        CFG_SET mm_k, t0
        CFG_SET mm_n, s6
        seqz    t0, s4                          # overwrite on the first group
        CFG_SET mm_flags, t0
        li      a0, MEM_L0C_BASE
        BUF_SLOT a1, MEM_L0A_BASE, CV_L0_SLOT, s5
        BUF_SLOT a2, MEM_L0B_BASE, CV_L0_SLOT, s5
        npu.mmad a0, a1, a2
        SETFLAG_P m, mte2, OPS_EV_L0, s5
.if DOUBLE_BUFFER
        xori    s5, s5, 1
.else
        BARRIER_ALL
.endif
        LEAVE   16

# conv_tile_out: the finished P x ot tile (conv_run's registers) from L0C through UB
# (transposes, fused bias / batch-norm / ReLU) to the output in HBM; serial: each stage
# waits for the previous with a barrier. Clobbers a0-a6, t0-t6; uses s8-s9 (saved).
FUNC conv_tile_out
        ENTER   16
        SAVE    s8, 1
        SAVE    s9, 2
        lw      s8, CV_P(s1)                    # s8 = tile bytes P*ot*4
        mul     s8, s8, s6
        slli    s8, s8, 2
        li      s9, CV_UB_X                     # s9 = where the final tile is in UB
        BARRIER_ALL                             # the cube is done
        li      a0, MEM_L0C_BASE
        li      a1, CV_UB_X
        mv      a2, s8
        li      a3, PIPE_MTE3
        call    dma_1d
        lw      t0, CV_OPTS(s1)
        lw      t1, CV_LAYOUT(s1)
        seqz    t1, t1
        or      t0, t0, t1
        beqz    t0, 6f                          # NHWC, nothing fused: write P x ot
        li      a0, CV_UB_X                     # to ot x P (channel-major)
        li      a1, CV_UB_Y
        li      a2, DMA_XFORM_NHWC_TO_NCHW
        call    cv_transpose
        li      s9, CV_UB_Y
        lw      t0, CV_OPTS(s1)
        beqz    t0, 6f
        call    cv_fuse
        lw      t0, CV_LAYOUT(s1)
        beqz    t0, 6f                          # NCHW: write ot x P
        li      a0, CV_UB_Y                     # NHWC: back to P x ot
        li      a1, CV_UB_X
        li      a2, DMA_XFORM_NCHW_TO_NHWC
        call    cv_transpose
        li      s9, CV_UB_X
6:      BARRIER_ALL
        lw      t0, CV_P(s1)
        lw      t1, CV_K(s1)
        lw      a1, CV_OUT(s1)
        lw      t2, CV_LAYOUT(s1)
        bnez    t2, 7f
        mul     t2, s2, t1                      # NCHW: planes (b*k + o0).. contiguous
        add     t2, t2, s3
        mul     t2, t2, t0
        slli    t2, t2, 2
        add     a1, a1, t2
        mv      a0, s9
        mv      a2, s8
        li      a3, PIPE_MTE3
        call    dma_1d
        j       8f
7:      mul     t2, s2, t0                      # NHWC: P rows of ot, k*4 apart
        mul     t2, t2, t1
        add     t2, t2, s3
        slli    t2, t2, 2
        add     a1, a1, t2
        mv      a0, s9
        slli    a2, s6, 2
        mv      a3, t0
        li      a4, 0
        slli    a5, t1, 2
        li      a6, PIPE_MTE3
        call    dma_2d
8:      BARRIER_ALL
        RESTORE s8, 1
        RESTORE s9, 2
        LEAVE   16

# cv_transpose(a0 = UB source, a1 = UB destination, a2 = DMA_XFORM_NHWC_TO_NCHW or
# _NCHW_TO_NHWC): the s8-byte tile with ot (s6) channels through L1 (mte3 out, mte2 back
# transposed); waits for every pipe before each move.
FUNC cv_transpose
        ENTER   16
        SAVE    s10, 1
        SAVE    s11, 2
        mv      s10, a1
        mv      s11, a2
        BARRIER_ALL
        li      a1, CV_L1_T
        mv      a2, s8
        li      a3, PIPE_MTE3
        call    dma_1d
        BARRIER_ALL
        li      a0, CV_L1_T
        mv      a1, s10
        mv      a2, s8
        li      a3, 1
        mv      a4, s11
        li      a5, 4
        mv      a6, s6
        call    dma_xform
        BARRIER_ALL
        RESTORE s10, 1
        RESTORE s11, 2
        LEAVE   16

# cv_fuse: bias, batch-norm and ReLU (as opts say) on the ot x P tile at CV_UB_Y, channel
# by channel with npu.vscalebias (bias: scale 1). The parameter slices for channels o0..
# come from HBM; the core writes the ones while every pipe is idle.
FUNC cv_fuse
        ENTER   16
        BARRIER_ALL
        lw      t0, CV_OPTS(s1)
        andi    t0, t0, CONV_OPTS_BIAS
        beqz    t0, 2f
        li      t1, CV_UB_PA                    # ot ones, then the ot biases
        li      t2, 0x3f800000
        mv      t3, s6
1:      sw      t2, 0(t1)
        addi    t1, t1, 4
        addi    t3, t3, -1
        bnez    t3, 1b
        lw      a0, CV_BIAS(s1)
        slli    t0, s3, 2
        add     a0, a0, t0
        slli    a2, s6, 2
        li      a1, CV_UB_PA
        add     a1, a1, a2
        li      a3, PIPE_MTE2
        call    dma_1d
2:      lw      t0, CV_OPTS(s1)
        andi    t0, t0, CONV_OPTS_BN
        beqz    t0, 3f
        lw      a0, CV_BN(s1)                   # ot scales, then ot shifts
        slli    t0, s3, 2
        add     a0, a0, t0
        li      a1, CV_UB_PB
        slli    a2, s6, 2
        li      a3, PIPE_MTE2
        call    dma_1d
        lw      a0, CV_BN(s1)
        lw      t0, CV_K(s1)
        add     t0, t0, s3
        slli    t0, t0, 2
        add     a0, a0, t0
        slli    a2, s6, 2
        li      a1, CV_UB_PB
        add     a1, a1, a2
        li      a3, PIPE_MTE2
        call    dma_1d
3:      BARRIER_ALL                             # parameters in UB
        CFG_SETI v_dtype, V_DTYPE_FLOAT32, t0
        CFG_SET v_chan, s6
        srli    t0, s8, 2
        CFG_SET v_len, t0
        li      t1, CV_UB_Y
        lw      t0, CV_OPTS(s1)
        andi    t2, t0, CONV_OPTS_BIAS
        beqz    t2, 4f
        li      t2, CV_UB_PA
        npu.vscalebias t1, t1, t2
4:      andi    t2, t0, CONV_OPTS_BN
        beqz    t2, 5f
        li      t2, CV_UB_PB
        npu.vscalebias t1, t1, t2
5:      andi    t2, t0, CONV_OPTS_RELU
        beqz    t2, 6f
        npu.vrelu t1, t1
6:      LEAVE   16

        .bss
        .balign 4
cv_ctx:         .space CV_SIZE
