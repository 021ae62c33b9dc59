# CONV2D: out = conv(input, weight) with stride and zero padding, fp16 input and weights,
# fp32 output, NCHW or NHWC (input and output alike), via im2col + cube; optional fused
# bias, folded batch-norm (out * scale[k] + shift[k]) and ReLU on the vector unit before
# the write-back: the Conv+BN+ReLU fusion (feature conv_fused).
#
# Per image, the output is cut in bands of up to `bh` output rows, and a band whose rows
# do not fit L0 in tiles of `bw` output columns (feature conv_tiled; without it one band
# is the whole image). A column tile's im2col reads a window of the band in L1 (rows
# w*2 apart) and pads only at the image's left / right edges (DMA_FLAG_NO_PAD_LEFT /
# _RIGHT); its output is written row by row. A band's input rows, with the halo (the
# kh - stride rows it shares with the next band), go HBM -> L1 as C x rows x W (NHWC is
# transposed by the DMA on the way). Padding applies only at the image's own edges: the
# im2col of an inner band sets DMA_FLAG_NO_PAD_TOP / _BOTTOM. The bands are cut so that
# only the first band needs top padding and only the last one bottom padding.
# Output channels are split in tiles of `ot` and input channels in groups of `cg` so
# that one step fits L0:
#   mte2: im2col of channel group c0.. (L1 -> L0A buffer p: P x cg*kh*kw patches,
#         P = band rows * ow), the weight slice W[o0.., c0..] (HBM -> L1, strided)
#         transposed by the DMA into L0B buffer p (cg*kh*kw x ot)
#   m:    mmad into L0C (overwrite on the first group, then accumulate): P x ot
# With DOUBLE_BUFFER the L0 buffers alternate and flags (mte2 -> m loaded, m -> mte2 free)
# let the im2col of the next group overlap the cube; without it a barrier ends each step.
# The band load, the im2cols and the weight loads share the in-order mte2 queue, so a band
# is replaced only after every im2col of the previous one has read it.
# The tile's epilogue is serial (barriers): L0C -> UB; for NCHW or any fusion the DMA
# transposes the P x ot tile to ot x P through L1 (channel-major, which npu.vscalebias
# wants); bias (scale 1, bias b[k]), batch-norm (scale, shift) and ReLU; back to P x ot for
# NHWC; UB -> HBM (the band's rows of each output channel).
#
# When kh input rows of every channel do not fit half of L1 (group mode), each step loads
# the band rows of its own channel group into a quarter of L1 instead (NHWC: gathered
# pixel by pixel into the other quarter, then transposed).
#
# Limits (BAD_SIZE): with conv_tiled, one patch (kh*kw fp16) must fit an L0A buffer (32
# KiB; detail: kh), stride + kh - 1 input rows of one channel (the most a one-row band
# loads) a quarter of L1, with as many pixels < 2^16 (detail: w); when the image takes
# several bands (tiles) the padding must be smaller than the kernel and the rows (columns)
# that need padding on one side must fit one band (tile) (detail: pad). Without
# conv_tiled: one image (c*h*w fp16) must fit half of L1, one output plane P x 4 bytes
# 64 KiB, and one channel's patches (P*kh*kw fp16) 32 KiB.
# Checks, in order: dtype fp16 and layout known (BAD_PARAM), opts bits known (BAD_PARAM)
# and fusion available (UNSUPPORTED), n, c, h, w, k, kh, kw, stride > 0 and the kernel
# inside the padded input (BAD_SIZE), sizes without overflow (SIZE_OVERFLOW), the limits
# above (BAD_SIZE), buffers in HBM and aligned, out disjoint from every input (OVERLAP).

.equ CV_L0_SLOT, MEM_L0A_SIZE / 2       # bytes of one L0A / L0B buffer
.equ CV_PLANE_MAX, 0x10000              # bytes of a P x ot fp32 tile (L0C, UB)
.equ CV_OT_MAX, 256                     # output channels per tile
.ifndef CV_BAND_MAX
.equ CV_BAND_MAX, 0xffff                # output rows per band at most (tests set fewer)
.endif
.ifndef CV_COL_MAX
.equ CV_COL_MAX, 0xffff                 # output columns per tile at most (tests set fewer)
.endif
.equ CV_L1_IMG, MEM_L1_BASE             # the band, C x rows x W fp16
.ifndef CV_IMG_MAX
.equ CV_IMG_MAX, MEM_L1_SIZE / 2        # bytes for the band (tests set less)
.endif
.equ CV_GRP_MAX, CV_IMG_MAX / 2         # group mode: a channel group's band, then its staging
.equ CV_L1_STAGE, CV_L1_IMG + CV_GRP_MAX
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
.equ CV_P, 64                           # outputs per channel in the band: rows * ow
.equ CV_OT, 68                          # output channels per tile
.equ CV_CG, 72                          # input channels per step
.equ CV_KK, 76                          # kh * kw
.equ CV_OH, 80                          # output height
.equ CV_OW, 84                          # output width
.equ CV_BH, 88                          # output rows per band (at most)
.equ CV_YBOT, 92                        # first output row that needs bottom padding
.equ CV_OY0, 96                         # the band: first output row
.equ CV_BR, 100                         #   output rows
.equ CV_R0, 104                         #   first input row
.equ CV_NR, 108                         #   input rows (in L1)
.equ CV_PADF, 112                       #   im2col padding flags (DMA_FLAG_NO_PAD_*)
.equ CV_GM, 116                         # group mode: each step loads its channels' band rows
.equ CV_CGL, 120                        # input channels one step may load (group mode)
.equ CV_BW, 124                         # output columns per tile (at most)
.equ CV_XR, 128                         # first output column that needs right padding
.equ CV_OX0, 132                        # the column tile: first output column
.equ CV_BWC, 136                        #   output columns
.equ CV_IX0, 140                        #   first input column
.equ CV_NC, 144                         #   input columns
.equ CV_PADR, 148                       # the band's im2col row padding flags
.equ CV_SIZE, 152

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
        SAVE_S  5
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
        sw      t3, CV_OH(s2)
        sw      t4, CV_OW(s2)
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
6:
.if HAS_CONV_TILED
        mv      a0, s2                          # bands: CV_BH, CV_YBOT; CV_P = bh * ow
        call    cv_bands
        bnez    a0, 99f
.else
        lw      t0, CV_C(s2)                    # one image in half of L1
        lw      t1, CV_H(s2)
        mul     t0, t0, t1
        lw      t1, CV_W(s2)
        mul     t0, t0, t1                      # no overflow: s3 did not
        slli    t0, t0, 1
        li      t1, CV_IMG_MAX
        bleu    t0, t1, 61f
        CV_FAIL ST_BAD_SIZE, ARG_CONV2D_C
61:     lw      t2, CV_P(s2)                    # one output channel's plane
        li      t1, CV_PLANE_MAX / 4
        bleu    t2, t1, 62f
        CV_FAIL ST_BAD_SIZE, ARG_CONV2D_H
62:     lw      t3, CV_KK(s2)                   # one channel's patches P * kk * 2
        slli    t3, t3, 1
        mul     t4, t2, t3
        li      t1, CV_L0_SLOT
        bleu    t4, t1, 60f
        CV_FAIL ST_BAD_SIZE, ARG_CONV2D_KH
60:     lw      t0, CV_OH(s2)                   # one band: the whole image
        sw      t0, CV_BH(s2)
        sw      t0, CV_YBOT(s2)
        lw      t0, CV_OW(s2)                   # one tile: every column
        sw      t0, CV_BW(s2)
        sw      t0, CV_XR(s2)
.endif
        lw      t2, CV_P(s2)                    # t2 = P * 4 (one output channel's band)
        slli    t2, t2, 2
        lw      t3, CV_KK(s2)                   # t3 = kk * 2 (one channel's kernel)
        slli    t3, t3, 1
        lw      t4, CV_P(s2)                    # t4 = P * kk * 2 (one channel's patches)
        mul     t4, t4, t3
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
68:
.if HAS_CONV_TILED
        lw      t0, CV_CGL(s2)                  # group mode: what one step may load
        bleu    t6, t0, 69f
        mv      t6, t0
69:
.endif
        sw      t6, CV_CG(s2)
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
99:     RESTORE_S 5
        LEAVE   32

.if HAS_CONV_TILED
# cv_bands(a0 = context with the dimensions, CV_OH, CV_OW, CV_KK) -> a0 = status, a1 =
# detail: the column tile width CV_BW (every column when a row's patches fit L0, else as
# many as fit) and CV_XR, the band height CV_BH (as many output rows as L0 and half of L1
# hold, and no more than let one tile take every output channel, at most oh), CV_YBOT,
# CV_GM / CV_CGL and CV_P = bh * bw (the largest tile's P); BAD_SIZE when not even one
# patch fits or the padded rows (columns) cannot be kept to the first and last band
# (tile). Clobbers t0-t6.
FUNC cv_bands
        ENTER   16
        SAVE    s2, 1
        mv      s2, a0
        lw      t4, CV_OW(s2)                   # L0: bh * bw * kk * 2 <= slot, bh * bw * 4 <= plane
        lw      t3, CV_KK(s2)
        li      t0, CV_L0_SLOT / 2
        divu    t0, t0, t3
        li      t1, CV_PLANE_MAX / 4
        bleu    t0, t1, 1f
        mv      t0, t1
1:      bnez    t0, 14f
        li      a1, ARG_CONV2D_KH               # not even one patch fits
        j       8f
14:     sw      t4, CV_XR(s2)
        mv      t1, t0                          # t1 = columns a tile may have
        li      t2, CV_COL_MAX
        bleu    t1, t2, 16f
        mv      t1, t2
16:     bleu    t4, t1, 15f
        mv      t4, t1                          # a row does not fit: tiles of bw columns
        li      a1, ARG_CONV2D_PAD              # pad < kw, padded columns in one tile
        lw      t1, CV_PAD(s2)
        lw      t2, CV_KW(s2)
        bgeu    t1, t2, 8f
        lw      t3, CV_STRIDE(s2)
        add     t5, t1, t3                      # xleft = ceil(pad / stride) columns need left padding
        addi    t5, t5, -1
        divu    t5, t5, t3
        bgtu    t5, t4, 8f
        lw      t6, CV_W(s2)                    # xr = (w + pad - kw) / stride + 1
        add     t6, t6, t1
        bltu    t6, t2, 8f
        sub     t6, t6, t2
        divu    t6, t6, t3
        addi    t6, t6, 1
        bltu    t6, t5, 8f
        lw      t1, CV_OW(s2)
        bleu    t1, t6, 15f                     # no column needs right padding
        sw      t6, CV_XR(s2)
        sub     t1, t1, t6
        bgtu    t1, t4, 8f
15:     sw      t4, CV_BW(s2)                   # t4 = bw
        lw      t3, CV_KK(s2)
        divu    t5, t0, t4                      # t5 = bh
11:     li      t0, CV_L0_SLOT / 2              # fewer rows when a band's P would split the
        divu    t0, t0, t3                      # output channels in several tiles: the im2col
        lw      t1, CV_K(s2)                    # of a band is redone for every tile
        bleu    t0, t1, 12f                     # ot_full = min(k, OT_MAX, slot / (kk * 2))
        mv      t0, t1
12:     li      t1, CV_OT_MAX
        bleu    t0, t1, 13f
        mv      t0, t1
13:     mul     t0, t0, t4
        li      t1, CV_PLANE_MAX / 4
        divu    t1, t1, t0                      # rows whose P * ot_full fp32 fill L0C's tile
        beqz    t1, 2f
        bleu    t5, t1, 2f
        mv      t5, t1
2:      sw      x0, CV_GM(s2)
        lw      t4, CV_BW(s2)
        lw      t0, CV_C(s2)                    # L1: c * w * 2 * (bh * stride + kh - 1) <= half
        lw      t1, CV_W(s2)
        mul     t0, t0, t1                      # no overflow: c*h*w*2 did not
        slli    t0, t0, 1
        li      t1, CV_IMG_MAX
        divu    t1, t1, t0                      # t1 = input rows that fit
        lw      t2, CV_KH(s2)
        addi    t2, t2, -1
        bleu    t1, t2, 21f
        sub     t1, t1, t2
        lw      t2, CV_STRIDE(s2)
        divu    t1, t1, t2
        bnez    t1, 31f
21:     li      t0, 1                           # every channel's rows do not fit: group mode,
        sw      t0, CV_GM(s2)                   # each step loads its channels' rows
        lw      t0, CV_W(s2)
        slli    t1, t0, 1
        li      t2, CV_GRP_MAX
        divu    t2, t2, t1                      # t2 = rows of one channel that fit
        li      t1, 0xffff                      # and whose rows * w fit a DMA's row count
        divu    t1, t1, t0                      # (the NHWC gather moves one pixel a row)
        bleu    t2, t1, 22f
        mv      t2, t1
22:     lw      t1, CV_KH(s2)
        addi    t1, t1, -1
        bleu    t2, t1, 24f
        sub     t1, t2, t1
        lw      t2, CV_STRIDE(s2)
        divu    t1, t1, t2
        bnez    t1, 31f
24:     li      a1, ARG_CONV2D_W                # not even kh rows of one channel
        j       8f
31:     bleu    t5, t1, 32f
        mv      t5, t1
32:     li      t1, CV_BAND_MAX
        bleu    t5, t1, 4f
        mv      t5, t1
4:      lw      t0, CV_OH(s2)
        bleu    t5, t0, 5f
        mv      t5, t0
5:      sw      t5, CV_BH(s2)
        lw      t4, CV_BW(s2)
        mul     t1, t5, t4
        sw      t1, CV_P(s2)
        sw      t0, CV_YBOT(s2)
        li      t1, 0xffff                      # input channels a step may load
        lw      t2, CV_GM(s2)
        beqz    t2, 51f
        lw      t2, CV_STRIDE(s2)               # group mode: GRP_MAX / (w*2 * (bh*stride + kh-1))
        mul     t2, t2, t5
        lw      t3, CV_KH(s2)
        add     t2, t2, t3
        addi    t2, t2, -1
        lw      t3, CV_W(s2)
        mul     t2, t2, t3
        slli    t2, t2, 1
        li      t1, CV_GRP_MAX
        divu    t1, t1, t2
51:     sw      t1, CV_CGL(s2)
        bgeu    t5, t0, 7f                      # one band: padded on every side
        li      a1, ARG_CONV2D_PAD              # several: pad < kh, padded rows in one band
        lw      t1, CV_PAD(s2)
        lw      t2, CV_KH(s2)
        bgeu    t1, t2, 8f
        lw      t3, CV_STRIDE(s2)
        add     t0, t1, t3                      # ytop = ceil(pad / stride) rows need top padding
        addi    t0, t0, -1
        divu    t0, t0, t3
        bgtu    t0, t5, 8f
        lw      t4, CV_H(s2)                    # ybot = (h + pad - kh) / stride + 1
        add     t4, t4, t1
        bltu    t4, t2, 8f
        sub     t4, t4, t2
        divu    t4, t4, t3
        addi    t4, t4, 1
        bltu    t4, t0, 8f                      # a row needs both: the image is one band
        lw      t1, CV_OH(s2)
        bleu    t1, t4, 7f                      # no row needs bottom padding
        sw      t4, CV_YBOT(s2)
        sub     t1, t1, t4
        bgtu    t1, t5, 8f
7:      li      a0, ST_OK
        li      a1, 0
        j       9f
8:      li      a0, ST_BAD_SIZE
        call    ops_fail
9:      RESTORE s2, 1
        LEAVE   16
.endif

# cv_disjoint_out(a0 = addr, a1 = bytes) -> check_disjoint of that input and the output
# (handle_conv2d's s1 args and s5 output bytes).
FUNC cv_disjoint_out
        ENTER   16
        lw      a2, ARG_CONV2D_OUT(s1)
        mv      a3, s5
        call    check_disjoint
        LEAVE   16

        .include "ops_conv2d_tiles.S"

        .bss
        .balign 4
cv_ctx:         .space CV_SIZE
