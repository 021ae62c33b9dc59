# The CONV2D engine: the image / band / output-tile / channel-group loops, the band load,
# one im2col + cube step, and the tile's epilogue (transposes, fusion, write-back); see
# ops_conv2d.S for the scheme, the buffer layout CV_* and the context. Included by ops_conv2d.S after its
# constants.

        .text
# conv_run(a0 = checked context): the convolution (see the top of this file).
# Registers while it runs (conv_step and conv_tile_out use them too):
#   s1 context, s2 image b, s3 first output channel o0, s4 first input channel c0,
#   s5 L0 buffer p, s6 output channels in the tile, s7 input channels in the step.
# Guarantees: every pipe drained and no flag left set on return; the watchdog petted
# once per step.
FUNC conv_run
        ENTER   48
        SAVE_S  7
        mv      s1, a0
        CFG_SETI mm_dtype, MM_DTYPE_FP16, t0
        li      s5, 0
        npu.setflag m, mte2, OPS_EV_L0          # prime: both L0 buffers start free
        npu.setflag m, mte2, OPS_EV_L0 + 1
        li      s2, 0                           # --- for each image
1:      lw      t0, CV_N(s1)
        bgeu    s2, t0, 9f
        sw      x0, CV_OY0(s1)
2:      lw      t0, CV_OY0(s1)                  # --- for each band of output rows
        lw      t1, CV_OH(s1)
        bgeu    t0, t1, 8f
        call    conv_band
        sw      x0, CV_OX0(s1)
21:     lw      t0, CV_OX0(s1)                  # --- for each tile of output columns
        lw      t1, CV_OW(s1)
        bgeu    t0, t1, 6f
        call    conv_cols
3:      li      s3, 0                           # --- for each output channel tile
4:      lw      t0, CV_K(s1)
        bgeu    s3, t0, 61f
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
        PET_WDOG t0, t1
        add     s4, s4, s7
        j       5b
7:      call    conv_tile_out
        add     s3, s3, s6
        j       4b
61:     lw      t0, CV_OX0(s1)                  # next column tile
        lw      t1, CV_BWC(s1)
        add     t0, t0, t1
        sw      t0, CV_OX0(s1)
        j       21b
6:      lw      t0, CV_OY0(s1)                  # next band
        lw      t1, CV_BR(s1)
        add     t0, t0, t1
        sw      t0, CV_OY0(s1)
        j       2b
8:      addi    s2, s2, 1
        j       1b
9:      npu.waitflag m, mte2, OPS_EV_L0         # consume the flags left set
        npu.waitflag m, mte2, OPS_EV_L0 + 1
        BARRIER_ALL
        RESTORE_S 7
        LEAVE   48

# conv_band: the band starting at output row CV_OY0 of image s2 (conv_run's registers):
# fills CV_BR, CV_R0, CV_NR, CV_PADR and queues its input rows, every channel, into
# L1 at CV_L1_IMG as C x nr x W on mte2. Bands are at most CV_BH rows; a band that would
# end inside the rows needing bottom padding (from CV_YBOT) ends at CV_YBOT, and the last
# band takes the rest (handle_conv2d checked that it fits). Clobbers a0-a6, t0-t6.
FUNC conv_band
        ENTER   16
        lw      t0, CV_OY0(s1)                  # t0 = oy0, t1 = oh, t2 = end
        lw      t1, CV_OH(s1)
        lw      t2, CV_BH(s1)
        add     t2, t2, t0
        bgeu    t2, t1, 1f
        lw      t3, CV_YBOT(s1)
        bleu    t2, t3, 2f
        mv      t2, t3
        bgtu    t2, t0, 2f
1:      mv      t2, t1                          # the last band
2:      sub     t3, t2, t0
        sw      t3, CV_BR(s1)
        lw      t5, CV_STRIDE(s1)
        lw      t6, CV_PAD(s1)
        li      a6, 0                           # a6 = padding flags
        li      t3, 0                           # t3 = first input row
        beqz    t0, 3f
        mul     t3, t0, t5                      # inner top: oy0 * stride - pad
        sub     t3, t3, t6
        ori     a6, a6, DMA_FLAG_NO_PAD_TOP
3:      lw      t4, CV_H(s1)                    # t4 = end input row
        beq     t2, t1, 4f
        addi    t4, t2, -1                      # inner bottom: (end - 1) * stride - pad + kh
        mul     t4, t4, t5
        sub     t4, t4, t6
        lw      t5, CV_KH(s1)
        add     t4, t4, t5
        ori     a6, a6, DMA_FLAG_NO_PAD_BOTTOM
4:      sw      a6, CV_PADR(s1)
        sw      t3, CV_R0(s1)
        sub     t4, t4, t3
        sw      t4, CV_NR(s1)
.if HAS_CONV_TILED
        lw      t0, CV_GM(s1)                   # group mode: each step loads its channels
        beqz    t0, 41f
        LEAVE   16
41:
.endif
        lw      t5, CV_W(s1)                    # t5 = w * 2 (an input row)
        slli    t5, t5, 1
        lw      t6, CV_C(s1)
        lw      a0, CV_IN(s1)
        li      a1, CV_L1_IMG
        lw      t0, CV_LAYOUT(s1)
        bnez    t0, 5f
        lw      t0, CV_H(s1)                    # NCHW: c rows of nr*w, h*w apart
        mul     t0, t0, t5                      # t0 = channel bytes
        mul     t1, s2, t6                      # from ((b*c)*h + r0) * w * 2
        mul     t1, t1, t0
        add     a0, a0, t1
        mul     t1, t3, t5
        add     a0, a0, t1
        mul     a2, t4, t5
        mv      a3, t6
        mv      a4, t0
        li      a5, 0
        li      a6, PIPE_MTE2
        call    dma_2d
        LEAVE   16
5:      lw      t0, CV_H(s1)                    # NHWC: rows r0.. of image b, transposed
        mul     t0, t0, s2                      # from ((b*h) + r0) * w * c * 2
        add     t0, t0, t3
        mul     t0, t0, t5
        mul     t0, t0, t6
        add     a0, a0, t0
        mul     a2, t4, t5
        mul     a2, a2, t6
        li      a3, 1
        li      a4, DMA_XFORM_NHWC_TO_NCHW
        li      a5, 2
        mv      a6, t6
        call    dma_xform
        LEAVE   16

.if HAS_CONV_TILED
# cv_group_load: (group mode) channels c0..c0+cg (s4, s7) of the band's input rows into
# L1 at CV_L1_IMG as cg x nr x W on mte2; NHWC: gathered (cg channels of each pixel) into
# CV_L1_STAGE, then transposed. Clobbers a0-a6, t0-t6.
FUNC cv_group_load
        ENTER   16
        lw      t3, CV_R0(s1)
        lw      t4, CV_NR(s1)
        lw      t5, CV_W(s1)                    # t5 = w * 2 (a row of one channel)
        slli    t5, t5, 1
        lw      t6, CV_C(s1)
        lw      a0, CV_IN(s1)
        lw      t0, CV_LAYOUT(s1)
        bnez    t0, 1f
        lw      t0, CV_H(s1)                    # NCHW: cg rows of nr*w*2, h*w*2 apart, from
        mul     t0, t0, t5                      # ((b*c + c0)*h + r0) * w * 2
        mul     t1, s2, t6
        add     t1, t1, s4
        mul     t1, t1, t0
        add     a0, a0, t1
        mul     t1, t3, t5
        add     a0, a0, t1
        li      a1, CV_L1_IMG
        mul     a2, t4, t5
        mv      a3, s7
        mv      a4, t0
        li      a5, 0
        li      a6, PIPE_MTE2
        call    dma_2d
        LEAVE   16
1:      lw      t0, CV_H(s1)                    # NHWC: nr*w rows of cg*2, c*2 apart, from
        mul     t0, t0, s2                      # (((b*h + r0)*w)*c + c0) * 2
        add     t0, t0, t3
        lw      t1, CV_W(s1)
        mul     t0, t0, t1
        mul     t0, t0, t6
        add     t0, t0, s4
        slli    t0, t0, 1
        add     a0, a0, t0
        li      a1, CV_L1_STAGE
        slli    a2, s7, 1
        mul     a3, t4, t1                      # < 2^16 (handle_conv2d)
        slli    a4, t6, 1
        li      a5, 0
        li      a6, PIPE_MTE2
        call    dma_2d
        li      a0, CV_L1_STAGE                 # transposed: cg x (nr*w)
        li      a1, CV_L1_IMG
        lw      t0, CV_NR(s1)
        lw      t1, CV_W(s1)
        mul     a2, t0, t1
        mul     a2, a2, s7
        slli    a2, a2, 1
        li      a3, 1
        li      a4, DMA_XFORM_NHWC_TO_NCHW
        li      a5, 2
        mv      a6, s7
        call    dma_xform
        LEAVE   16
.endif

# conv_cols: the tile of output columns from CV_OX0 in the current band: fills CV_BWC,
# CV_P (band rows * columns), CV_IX0, CV_NC and CV_PADF (the band's row flags and the
# tile's column flags). Tiles are at most CV_BW columns; one that would end inside the
# columns needing right padding (from CV_XR) ends at CV_XR, and the last tile takes the
# rest (handle_conv2d checked that it fits), as conv_band does for rows. Clobbers t0-t6.
FUNC conv_cols
        lw      t0, CV_OX0(s1)                  # t0 = ox0, t1 = ow, t2 = end
        lw      t1, CV_OW(s1)
        lw      t2, CV_BW(s1)
        add     t2, t2, t0
        bgeu    t2, t1, 1f
        lw      t3, CV_XR(s1)
        bleu    t2, t3, 2f
        mv      t2, t3
        bgtu    t2, t0, 2f
1:      mv      t2, t1                          # the last tile
2:      sub     t3, t2, t0
        sw      t3, CV_BWC(s1)
        lw      t4, CV_BR(s1)
        mul     t4, t4, t3
        sw      t4, CV_P(s1)
        lw      t5, CV_STRIDE(s1)
        lw      t6, CV_PAD(s1)
        lw      t4, CV_PADR(s1)                 # t4 = padding flags
        li      t3, 0                           # t3 = first input column
        beqz    t0, 3f
        mul     t3, t0, t5                      # inner left: ox0 * stride - pad
        sub     t3, t3, t6
        ori     t4, t4, DMA_FLAG_NO_PAD_LEFT
3:      lw      t0, CV_W(s1)                    # t0 = end input column
        beq     t2, t1, 4f
        addi    t0, t2, -1                      # inner right: (end - 1) * stride - pad + kw
        mul     t0, t0, t5
        sub     t0, t0, t6
        lw      t5, CV_KW(s1)
        add     t0, t0, t5
        ori     t4, t4, DMA_FLAG_NO_PAD_RIGHT
4:      sw      t4, CV_PADF(s1)
        sw      t3, CV_IX0(s1)
        sub     t0, t0, t3
        sw      t0, CV_NC(s1)
        ret

# conv_step: one input channel group (conv_run's registers): im2col and the transposed
# weight slice into L0 buffer p on mte2, then the mmad into L0C. Flips p (or, without
# DOUBLE_BUFFER, waits for every pipe). Clobbers a0-a6, t0-t6.
FUNC conv_step
        ENTER   16
.if HAS_CONV_TILED
        lw      t0, CV_GM(s1)                   # group mode: this group's rows into L1 (the
        beqz    t0, 1f                          # previous im2col, on mte2 too, read them)
        call    cv_group_load
1:
.endif
        WAITFLAG_P m, mte2, OPS_EV_L0, s5       # mte2: L0 buffer p is free
        la      t0, ops_dma_desc                # im2col of channels c0..c0+cg of the band,
        lw      t1, CV_NR(s1)                   # columns ix0..ix0+nc (rows w*2 apart)
        lw      t2, CV_W(s1)
        mul     t3, t1, t2
        slli    t3, t3, 1
        mul     t3, t3, s4
.if HAS_CONV_TILED
        lw      t4, CV_GM(s1)                   # group mode: the group alone is in L1
        beqz    t4, 2f
        li      t3, 0
2:
.endif
        li      t4, CV_L1_IMG
        add     t3, t3, t4
        lw      t4, CV_IX0(s1)
        slli    t4, t4, 1
        add     t3, t3, t4
        sw      t3, DMA_SRC(t0)
        BUF_SLOT t3, MEM_L0A_BASE, CV_L0_SLOT, s5
        sw      t3, DMA_DST(t0)
        slli    t2, t2, 1
        sw      t2, DMA_SRC_STRIDE(t0)
        lw      t2, CV_NC(s1)
        slli    t2, t2, 1
        sw      t2, DMA_ROW_BYTES(t0)
        sh      t1, DMA_ROWS(t0)
        li      t1, DMA_XFORM_IM2COL
        sb      t1, DMA_XFORM(t0)
        li      t1, 2
        sb      t1, DMA_ESIZE(t0)
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
        lw      t1, CV_PADF(s1)
        ori     t1, t1, DMA_FLAG_VALID
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
# waits for the previous with a barrier, except the write-back (one DMA, or one per output
# row when the tile has part of the columns). Clobbers a0-a6, t0-t6; uses s8-s11 (saved).
FUNC conv_tile_out
        ENTER   32
        SAVE    s8, 1
        SAVE    s9, 2
        SAVE    s10, 3
        SAVE    s11, 4
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
        li      s10, 1                          # s10 = runs: one when the tile has whole rows,
        lw      t0, CV_BWC(s1)                  # else one per output row
        lw      t1, CV_OW(s1)
        beq     t0, t1, 60f
        lw      s10, CV_BR(s1)
60:     li      s11, 0                          # s11 = run i
61:     bgeu    s11, s10, 8f
        lw      t5, CV_P(s1)                    # t5 = outputs in a run
        li      t0, 1
        beq     s10, t0, 62f
        lw      t5, CV_BWC(s1)
62:     lw      t0, CV_OH(s1)                   # t0 = oh * ow (an output plane)
        lw      t3, CV_OW(s1)
        mul     t0, t0, t3
        lw      t4, CV_OY0(s1)                  # t4 = the run's first output in a plane:
        add     t4, t4, s11                     # (oy0 + i) * ow + ox0
        mul     t4, t4, t3
        lw      t3, CV_OX0(s1)
        add     t4, t4, t3
        lw      t1, CV_K(s1)
        lw      a1, CV_OUT(s1)
        lw      t2, CV_LAYOUT(s1)
        bnez    t2, 7f
        mul     t2, s2, t1                      # NCHW: ot rows of the run, planes apart, to
        add     t2, t2, s3                      # (b*k + o0) * plane + t4, from the ot x P tile
        mul     t2, t2, t0
        add     t2, t2, t4
        slli    t2, t2, 2
        add     a1, a1, t2
        mul     a0, s11, t5
        slli    a0, a0, 2
        add     a0, a0, s9
        slli    a2, t5, 2
        mv      a3, s6
        lw      a4, CV_P(s1)
        slli    a4, a4, 2
        slli    a5, t0, 2
        li      a6, PIPE_MTE3
        call    dma_2d
        j       63f
7:      mul     t2, s2, t0                      # NHWC: the run's outputs, rows of ot, k*4
        add     t2, t2, t4                      # apart, to (b * plane + t4) * k + o0
        mul     t2, t2, t1
        add     t2, t2, s3
        slli    t2, t2, 2
        add     a1, a1, t2
        mul     a0, s11, t5
        mul     a0, a0, s6
        slli    a0, a0, 2
        add     a0, a0, s9
        slli    a2, s6, 2
        mv      a3, t5
        li      a4, 0
        slli    a5, t1, 2
        li      a6, PIPE_MTE3
        call    dma_2d
63:     addi    s11, s11, 1
        j       61b
8:      RESTORE s8, 1                           # the write-back overlaps the next tile: it reads
        RESTORE s9, 2                           # UB only, and UB is next written after a barrier
        RESTORE s10, 3
        RESTORE s11, 4
        LEAVE   32

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
