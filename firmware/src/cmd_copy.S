# COPY: size bytes from src to dst (HBM), all by DMA: a plain copy streams HBM -> UB -> HBM;
# a layout transform is done by MTE2 into L1 (a batch of images or one matrix at a time),
# and the staged result streams L1 -> UB -> HBM.
#
# Transforms (n, c, h, w, elem_size describe the tensor; size must be n*c*h*w*elem_size):
#   nchw_to_nhwc / nhwc_to_nchw: n images of c*h*w elements; one image must fit in L1.
#   nd_to_nz: n*c matrices of h x w, each to 16x16 fractal blocks (zero padded): dst holds
#             n*c*ceil(h/16)*16*ceil(w/16)*16*elem_size bytes; one padded matrix must fit L1.
#   nz_to_nd: the inverse (src holds the padded blocks, dst the n*c*h*w elements).
# Checks: transform known (BAD_PARAM), feature layout_transform (UNSUPPORTED), elem_size
# 1, 2 or 4 (BAD_PARAM), dimensions non-zero and their product without overflow
# (BAD_SIZE / SIZE_OVERFLOW) and equal to size (BAD_SIZE), both buffers in HBM and aligned,
# no overlap between the source and destination ranges (OVERLAP).

.equ COPY_CHUNK, MEM_L1_SIZE            # bytes staged in L1 per transforming DMA (the whole of L1)
.equ CP_FRAME, 64

# COPY_FAIL status, arg: return `status` with the byte offset of argument `arg` as detail.
.macro COPY_FAIL status, arg
        li      a0, \arg
        call    arg_detail
        mv      a1, a0
        li      a0, \status
        j       copy_done
.endm

# COPY_MUL rd, rs, arg: rd = rd * rs, SIZE_OVERFLOW (detail: argument arg) on overflow.
.macro COPY_MUL rd, rs, arg
        mulhu   t0, \rd, \rs
        mul     \rd, \rd, \rs
        beqz    t0, 1f
        COPY_FAIL ST_SIZE_OVERFLOW, \arg
1:
.endm

        .text
# handle_copy(a0 = descriptor, a1 = generation) -> a0 = status, a1 = detail.
# Registers: s1 args, s2 src, s3 dst, s4 size, s5 transform, s6 elem_size,
# s7 source bytes, s8 destination bytes, s9 padded matrix bytes, s10 matrices / images.
FUNC handle_copy
        ENTER   CP_FRAME
        SAVE_S  10
        la      t0, cmd_args_off
        lw      t0, 0(t0)
        add     s1, a0, t0
        lw      s2, ARG_COPY_SRC(s1)
        lw      s3, ARG_COPY_DST(s1)
        lw      s4, ARG_COPY_SIZE(s1)
        lbu     s5, ARG_COPY_TRANSFORM(s1)
        lbu     s6, ARG_COPY_ELEM_SIZE(s1)
        mv      s7, s4
        mv      s8, s4
        beqz    s5, 5f                          # TRANSFORM_NONE: a plain copy
        li      t0, TRANSFORM_NZ_TO_ND
        bleu    s5, t0, 1f
        COPY_FAIL ST_BAD_PARAM, ARG_COPY_TRANSFORM
1:
.if !HAS_LAYOUT_TRANSFORM
        COPY_FAIL ST_UNSUPPORTED, ARG_COPY_TRANSFORM
.endif
        li      t0, 1                           # elem_size in {1, 2, 4}
        beq     s6, t0, 2f
        li      t0, 2
        beq     s6, t0, 2f
        li      t0, 4
        beq     s6, t0, 2f
        COPY_FAIL ST_BAD_PARAM, ARG_COPY_ELEM_SIZE
2:      lhu     s10, ARG_COPY_N(s1)             # s10 = n, later n*c
        bnez    s10, 21f
        COPY_FAIL ST_BAD_SIZE, ARG_COPY_N
21:     lhu     t1, ARG_COPY_C(s1)
        bnez    t1, 22f
        COPY_FAIL ST_BAD_SIZE, ARG_COPY_C
22:     lhu     t2, ARG_COPY_H(s1)
        bnez    t2, 23f
        COPY_FAIL ST_BAD_SIZE, ARG_COPY_H
23:     lhu     t3, ARG_COPY_W(s1)
        bnez    t3, 24f
        COPY_FAIL ST_BAD_SIZE, ARG_COPY_W
24:     mul     s10, s10, t1                    # n*c < 2^32: both are 16 bits
        mul     t4, t2, t3                      # h*w, likewise
        mv      s9, t4
        COPY_MUL s9, s6, ARG_COPY_ELEM_SIZE     # s9 = one matrix / image-plane bytes
        mv      t5, s10
        COPY_MUL t5, s9, ARG_COPY_SIZE          # t5 = n*c*h*w*elem_size
        beq     t5, s4, 25f
        COPY_FAIL ST_BAD_SIZE, ARG_COPY_SIZE
25:     li      t0, TRANSFORM_ND_TO_NZ
        bltu    s5, t0, 4f
        lhu     t2, ARG_COPY_H(s1)              # fractal: s9 = padded matrix bytes
        lhu     t3, ARG_COPY_W(s1)
        addi    t2, t2, 15
        andi    t2, t2, ~15
        addi    t3, t3, 15
        andi    t3, t3, ~15
        mul     s9, t2, t3                      # < 2^34? no: both <= 65536, product <= 2^32
        mulhu   t0, t2, t3
        bnez    t0, 26f
        mv      t4, s9
        COPY_MUL s9, s6, ARG_COPY_ELEM_SIZE
        mv      t5, s9
        COPY_MUL t5, s10, ARG_COPY_SIZE         # t5 = padded total
        li      t0, TRANSFORM_ND_TO_NZ
        bne     s5, t0, 3f
        mv      s8, t5                          # nd_to_nz writes the padded blocks
        j       27f
3:      mv      s7, t5                          # nz_to_nd reads them
27:     li      t0, COPY_CHUNK
        bleu    s9, t0, 5f
26:     COPY_FAIL ST_BAD_SIZE, ARG_COPY_SIZE    # a matrix larger than L1
4:      lhu     t1, ARG_COPY_C(s1)              # channels: one image c*h*w must fit in L1
        lhu     t2, ARG_COPY_H(s1)
        lhu     t3, ARG_COPY_W(s1)
        mul     t2, t2, t3
        mv      s9, t2
        COPY_MUL s9, t1, ARG_COPY_C
        COPY_MUL s9, s6, ARG_COPY_ELEM_SIZE     # s9 = image bytes
        li      t0, COPY_CHUNK
        bleu    s9, t0, 41f
        COPY_FAIL ST_BAD_SIZE, ARG_COPY_SIZE
41:     lhu     s10, ARG_COPY_N(s1)             # s10 = images
5:      li      a0, ARG_COPY_SIZE               # --- buffers
        call    arg_detail
        mv      a2, a0
        mv      a0, s2
        mv      a1, s7
        call    check_buffer
        bnez    a0, copy_done
        li      a0, ARG_COPY_SIZE
        call    arg_detail
        mv      a2, a0
        mv      a0, s3
        mv      a1, s8
        call    check_buffer
        bnez    a0, copy_done
        mv      a0, s2
        mv      a1, s7
        mv      a2, s3
        mv      a3, s8
        call    check_disjoint
        bnez    a0, copy_done
        call    copy_begin                      # --- move the data
        beqz    s5, 6f
        li      t0, TRANSFORM_ND_TO_NZ
        bgeu    s5, t0, 7f
        call    copy_images
        j       8f
6:      mv      a0, s2                          # plain: HBM -> UB -> HBM, no staging
        mv      a1, s3
        mv      a2, s4
        call    copy_out
        j       8f
7:      call    copy_matrices
8:      call    copy_end
        li      a0, ST_OK
        li      a1, 0
copy_done:
        RESTORE_S 10
        LEAVE   CP_FRAME

# The write-out path: pieces of up to UB_HALF bytes go source -> UB half p (MTE2) ->
# destination in HBM (MTE3), alternating the two halves of UB, so that MTE2 fills one half
# while MTE3 drains the other. Flags (events COPY_EV + p):
#   mte2 -> mte3: half p holds a piece;  mte3 -> mte2: half p is free again.
# copy_begin primes "free" for both halves, copy_end consumes them and waits for every
# pipe, so a COPY leaves no flag set. The parity persists across copy_out calls.
.equ UB_HALF, MEM_UB_SIZE / 2
.equ COPY_EV, 14

# copy_begin(): both UB halves free, parity 0. Clobbers t0.
FUNC copy_begin
        ENTER   16
        npu.setflag mte3, mte2, COPY_EV
        npu.setflag mte3, mte2, COPY_EV + 1
        la      t0, copy_parity
        sw      x0, 0(t0)
        LEAVE   16

# copy_end(): consume the two "free" flags, then wait until every pipe has drained.
FUNC copy_end
        ENTER   16
        npu.waitflag mte3, mte2, COPY_EV
        npu.waitflag mte3, mte2, COPY_EV + 1
        BARRIER_ALL
        LEAVE   16

# copy_out(a0 = source (HBM or L1), a1 = destination (HBM), a2 = bytes): queue the pieces;
# returns once they are issued (copy_end waits for them). Clobbers a0-a5, t0-t2.
FUNC copy_out
        ENTER   16
1:      beqz    a2, 9f
        li      a3, UB_HALF                     # a3 = this piece
        bleu    a3, a2, 2f
        mv      a3, a2
2:      la      t0, copy_parity                 # a5 = parity p, flipped for the next piece
        lw      a5, 0(t0)
        xori    t1, a5, 1
        sw      t1, 0(t0)
        li      a4, UB_HALF                     # a4 = UB half p
        mul     a4, a4, a5
        li      t0, MEM_UB_BASE
        add     a4, a4, t0
        WAITFLAG_P mte3, mte2, COPY_EV, a5      # mte2: wait until half p is free
        la      t0, copy_dma_desc
        li      t1, 1
        DMA_FILL t0, a0, a4, a3, t1, DMA_XFORM_NONE, 0, t2
        DMA_GO  t0, PIPE_MTE2, t1
        SETFLAG_P mte2, mte3, COPY_EV, a5       # half p filled
        WAITFLAG_P mte2, mte3, COPY_EV, a5      # mte3: wait for it
        li      t1, 1
        DMA_FILL t0, a4, a1, a3, t1, DMA_XFORM_NONE, 0, t2
        DMA_GO  t0, PIPE_MTE3, t1
        SETFLAG_P mte3, mte2, COPY_EV, a5       # half p free once written out
        add     a0, a0, a3
        add     a1, a1, a3
        sub     a2, a2, a3
        PET_WDOG t0, t1
        j       1b
9:      LEAVE   16

# copy_images: s10 images of s9 bytes, as many per DMA as fit in L1, transformed
# (NCHW <-> NHWC, chan = c) by MTE2 on the way into L1, then written out to s3.
# MTE2 runs in order, so the next batch's fill of L1 waits for this batch's reads of it.
FUNC copy_images
        ENTER   16
        SAVE    s11, 1
        li      t0, COPY_CHUNK
        divu    s11, t0, s9                     # images per DMA (>= 1, checked)
        li      t0, 0xffff                      # the descriptor's rows field is 16 bits
        bleu    s11, t0, 1f
        mv      s11, t0
1:      beqz    s10, 9f
        bleu    s11, s10, 2f
        mv      s11, s10
2:      la      a0, copy_dma_desc
        li      a1, MEM_L1_BASE
        mv      a2, s9
        li      t1, DMA_XFORM_NCHW_TO_NHWC
        li      t0, TRANSFORM_NCHW_TO_NHWC
        beq     s5, t0, 3f
        li      t1, DMA_XFORM_NHWC_TO_NCHW
3:      DMA_FILL a0, s2, a1, a2, s11, 0, 0, t2
        sb      t1, DMA_XFORM(a0)
        sb      s6, DMA_ESIZE(a0)
        lhu     t1, ARG_COPY_C(s1)
        sh      t1, DMA_CHAN(a0)
        DMA_GO  a0, PIPE_MTE2, t1
        mul     a2, s9, s11
        add     s2, s2, a2
        sub     s10, s10, s11
        li      a0, MEM_L1_BASE
        mv      a1, s3
        add     s3, s3, a2
        call    copy_out
        j       1b
9:      RESTORE s11, 1
        LEAVE   16

# copy_matrices: s10 matrices of h x w between row-major (ND) and fractal (NZ) form, one
# per transforming DMA into L1. nd_to_nz reads h*w*elem bytes and writes s9 (padded);
# nz_to_nd the reverse.
FUNC copy_matrices
        ENTER   16
        SAVE    s11, 1
1:      beqz    s10, 9f
        la      a0, copy_dma_desc
        li      a1, MEM_L1_BASE
        lhu     t0, ARG_COPY_W(s1)
        mul     a2, t0, s6                      # row bytes
        lhu     t2, ARG_COPY_H(s1)
        DMA_FILL a0, s2, a1, a2, t2, 0, 0, t1
        sb      s6, DMA_ESIZE(a0)
        mul     s11, a2, t2                     # s11 = ND matrix bytes
        li      t1, DMA_XFORM_ND_TO_FRACTAL
        li      t0, TRANSFORM_ND_TO_NZ
        beq     s5, t0, 2f
        li      t1, DMA_XFORM_FRACTAL_TO_ND
2:      sb      t1, DMA_XFORM(a0)
        DMA_GO  a0, PIPE_MTE2, t1
        mv      a2, s9                          # nd_to_nz: read ND, write padded
        add     s2, s2, s11
        li      t0, TRANSFORM_ND_TO_NZ
        beq     s5, t0, 3f
        mv      a2, s11                         # nz_to_nd: read padded, write ND
        sub     s2, s2, s11
        add     s2, s2, s9
3:      addi    s10, s10, -1
        li      a0, MEM_L1_BASE
        mv      a1, s3
        add     s3, s3, a2
        call    copy_out
        j       1b
9:      RESTORE s11, 1
        LEAVE   16

        .bss
        .balign 32
copy_dma_desc:  .space DMA_DESC_SIZE
copy_parity:    .word 0                         # UB half of the next piece
