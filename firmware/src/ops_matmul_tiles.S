# The MATMUL engine: the tile loops, one K step, and the write-back of a C tile (see
# ops_matmul.S for the scheme, the buffer layout MM_* and the context). Included by
# ops_matmul.S after its constants.

        .text
# matmul_run(a0 = checked context): the tiled product (see the top of this file).
# Registers while it runs (matmul_step and matmul_tile_out use them too):
#   s1 context, s2 row of the C tile (mi), s3 its column (ni), s4 K offset (ki),
#   s5 step buffer p, s6 tile buffer q, s7 tile rows tm, s8 tile columns tn, s9 slice
#   depth tk, s10 opts, s11 input nibbles per element (byte offsets are products of even
#   counts times s11, halved).
# Guarantees: every pipe drained and no flag left set on return; the watchdog petted
# once per K step (so however long K is).
FUNC matmul_run
        ENTER   64
        SAVE    s1, 1
        SAVE    s2, 2
        SAVE    s3, 3
        SAVE    s4, 4
        SAVE    s5, 5
        SAVE    s6, 6
        SAVE    s7, 7
        SAVE    s8, 8
        SAVE    s9, 9
        SAVE    s10, 10
        SAVE    s11, 11
        mv      s1, a0
        lw      s10, MM_OPTS(s1)
        lw      s11, MM_NIB(s1)
        lw      t0, MM_DT(s1)
        CFG_SET mm_dtype, t0
        li      t0, V_DTYPE_FLOAT32             # bias and ReLU on the accumulator type
        li      t1, 4
        beq     s11, t1, 1f
        li      t0, V_DTYPE_INT32
1:      CFG_SET v_dtype, t0
        andi    t0, s10, MATMUL_OPTS_REQUANT
        beqz    t0, 2f
        li      t1, OPS_UB_PARAMS               # requant: x * scale + 0, then round with scale 1
        lw      t0, MM_SCALE(s1)
        sw      t0, 0(t1)
        sw      x0, 4(t1)
        CFG_SETI v_chan, 1, t0
        CFG_SETI v_scale, 0x3f800000, t0
        lw      t0, MM_ZP(s1)
        CFG_SET v_zero, t0
2:      li      s5, 0
        li      s6, 0
        npu.setflag mte1, mte2, OPS_EV_L1       # prime: every buffer starts free
        npu.setflag mte1, mte2, OPS_EV_L1 + 1
        npu.setflag m, mte1, OPS_EV_L0
        npu.setflag m, mte1, OPS_EV_L0 + 1
        npu.setflag mte3, m, OPS_EV_C
        npu.setflag mte3, m, OPS_EV_C + 1
        andi    t0, s10, MATMUL_OPTS_BIAS
        beqz    t0, 3f
        npu.setflag v, mte2, OPS_EV_BIAS
        npu.setflag v, mte2, OPS_EV_BIAS + 1
3:      li      s2, 0                           # --- for each C tile row
4:      lw      t0, MM_M(s1)
        bgeu    s2, t0, 9f
        sub     s7, t0, s2
        li      t0, MM_TM
        bleu    s7, t0, 41f
        mv      s7, t0
41:     li      s3, 0                           # --- for each C tile column
5:      lw      t0, MM_N(s1)
        bgeu    s3, t0, 8f
        sub     s8, t0, s3
        li      t0, MM_TN
        bleu    s8, t0, 51f
        mv      s8, t0
51:     andi    t0, s10, MATMUL_OPTS_BIAS
        beqz    t0, 52f
        WAITFLAG_P v, mte2, OPS_EV_BIAS, s6     # bias slice q: HBM -> UB
        lw      a0, MM_BIAS(s1)
        slli    t0, s3, 2
        add     a0, a0, t0
        BUF_SLOT a1, MM_UB_BIAS, MM_TN * 4, s6
        slli    a2, s8, 2
        li      a3, PIPE_MTE2
        call    dma_1d
52:     li      s4, 0                           # --- for each K slice
6:      lw      t0, MM_K(s1)
        bgeu    s4, t0, 7f
        sub     s9, t0, s4
        li      t0, MM_TK
        bleu    s9, t0, 61f
        mv      s9, t0
61:     call    matmul_step
        PET_WDOG t0, t1
        add     s4, s4, s9
        j       6b
7:      call    matmul_tile_out
        add     s3, s3, s8
        j       5b
8:      add     s2, s2, s7
        j       4b
9:      npu.waitflag mte1, mte2, OPS_EV_L1      # consume the flags left set
        npu.waitflag mte1, mte2, OPS_EV_L1 + 1
        npu.waitflag m, mte1, OPS_EV_L0
        npu.waitflag m, mte1, OPS_EV_L0 + 1
        npu.waitflag mte3, m, OPS_EV_C
        npu.waitflag mte3, m, OPS_EV_C + 1
        andi    t0, s10, MATMUL_OPTS_BIAS
        beqz    t0, 10f
        npu.waitflag v, mte2, OPS_EV_BIAS
        npu.waitflag v, mte2, OPS_EV_BIAS + 1
10:     BARRIER_ALL
        RESTORE s1, 1
        RESTORE s2, 2
        RESTORE s3, 3
        RESTORE s4, 4
        RESTORE s5, 5
        RESTORE s6, 6
        RESTORE s7, 7
        RESTORE s8, 8
        RESTORE s9, 9
        RESTORE s10, 10
        RESTORE s11, 11
        LEAVE   64

# matmul_step: one K slice of the C tile (matmul_run's registers s1-s11): A(mi.., ki..) and
# B(ki.., ni..) through L1 into L0 buffer p, then the mmad into L0C tile q. Flips p (or,
# without DOUBLE_BUFFER, waits for every pipe). Clobbers a0-a6, t0-t6.
FUNC matmul_step
        ENTER   16
        WAITFLAG_P mte1, mte2, OPS_EV_L1, s5    # mte2: L1 buffer p is free
        lw      t0, MM_K(s1)                    # A slice: tm rows of tk, k*es apart
        mul     t1, s2, t0
        add     t1, t1, s4
        mul     t1, t1, s11
        srli    t1, t1, 1
        lw      a0, MM_A(s1)
        add     a0, a0, t1
        BUF_SLOT a1, MM_L1_A, MM_A_SLOT, s5
        mul     a2, s9, s11
        srli    a2, a2, 1
        mv      a3, s7
        mul     a4, t0, s11
        srli    a4, a4, 1
        li      a5, 0
        li      a6, PIPE_MTE2
        call    dma_2d
        lw      t0, MM_N(s1)                    # B slice: tk rows of tn, n*es apart
        mul     t1, s4, t0
        add     t1, t1, s3
        mul     t1, t1, s11
        srli    t1, t1, 1
        lw      a0, MM_B(s1)
        add     a0, a0, t1
        BUF_SLOT a1, MM_L1_B, MM_B_SLOT, s5
        mul     a2, s8, s11
        srli    a2, a2, 1
        mv      a3, s9
        mul     a4, t0, s11
        srli    a4, a4, 1
        li      a5, 0
        li      a6, PIPE_MTE2
        call    dma_2d
        SETFLAG_P mte2, mte1, OPS_EV_L1, s5
        WAITFLAG_P mte2, mte1, OPS_EV_L1, s5    # mte1: slices in L1, L0 buffer p free
        WAITFLAG_P m, mte1, OPS_EV_L0, s5
        BUF_SLOT a0, MM_L1_A, MM_A_SLOT, s5
        BUF_SLOT a1, MEM_L0A_BASE, MM_A_SLOT, s5
        mul     a2, s7, s9
        mul     a2, a2, s11
        srli    a2, a2, 1
        li      a3, PIPE_MTE1
        call    dma_1d
        BUF_SLOT a0, MM_L1_B, MM_B_SLOT, s5
        BUF_SLOT a1, MEM_L0B_BASE, MM_B_SLOT, s5
        mul     a2, s9, s8
        mul     a2, a2, s11
        srli    a2, a2, 1
        li      a3, PIPE_MTE1
        call    dma_1d
        SETFLAG_P mte1, mte2, OPS_EV_L1, s5
        SETFLAG_P mte1, m, OPS_EV_L0, s5
        WAITFLAG_P mte1, m, OPS_EV_L0, s5       # m: operands in L0
        bnez    s4, 1f
        WAITFLAG_P mte3, m, OPS_EV_C, s6        # first slice: L0C tile q is free
1:      CFG_SET mm_m, s7
        CFG_SET mm_k, s9
        CFG_SET mm_n, s8
        seqz    t0, s4                          # overwrite C on the first slice
        CFG_SET mm_flags, t0
        BUF_SLOT a0, MEM_L0C_BASE, MM_C_SLOT, s6
        BUF_SLOT a1, MEM_L0A_BASE, MM_A_SLOT, s5
        BUF_SLOT a2, MEM_L0B_BASE, MM_B_SLOT, s5
        npu.mmad a0, a1, a2
        SETFLAG_P m, mte1, OPS_EV_L0, s5
        add     t0, s4, s9
        lw      t1, MM_K(s1)
        bltu    t0, t1, 2f
        SETFLAG_P m, mte3, OPS_EV_C, s6         # last slice: the tile is done
2:
.if DOUBLE_BUFFER
        xori    s5, s5, 1
.else
        BARRIER_ALL
.endif
        LEAVE   16

# matmul_tile_out: the finished C tile q (matmul_run's registers) from L0C through UB, with
# bias / ReLU / requantize on the vector unit, to C in HBM. Flips q (or, without
# DOUBLE_BUFFER, waits for every pipe). Clobbers a0-a6, t0-t6.
FUNC matmul_tile_out
        ENTER   16
        WAITFLAG_P m, mte3, OPS_EV_C, s6        # mte3: the cube finished tile q
        BUF_SLOT a0, MEM_L0C_BASE, MM_C_SLOT, s6
        BUF_SLOT a1, MM_UB_C, MM_C_SLOT, s6
        mul     a2, s7, s8
        slli    a2, a2, 2
        li      a3, PIPE_MTE3
        call    dma_1d
        beqz    s10, 5f                         # no vector work
        SETFLAG_P mte3, v, OPS_EV_V, s6
        WAITFLAG_P mte3, v, OPS_EV_V, s6        # v: the tile is in UB
        BUF_SLOT t1, MM_UB_C, MM_C_SLOT, s6
        andi    t0, s10, MATMUL_OPTS_BIAS
        beqz    t0, 2f
        CFG_SET v_len, s8                       # bias: one vadd per row
        BUF_SLOT t2, MM_UB_BIAS, MM_TN * 4, s6
        mv      t3, s7
        slli    t4, s8, 2
1:      npu.vadd t1, t1, t2
        add     t1, t1, t4
        addi    t3, t3, -1
        bnez    t3, 1b
        SETFLAG_P v, mte2, OPS_EV_BIAS, s6      # the bias slice q may be refilled
        BUF_SLOT t1, MM_UB_C, MM_C_SLOT, s6
2:      mul     t0, s7, s8
        CFG_SET v_len, t0
        andi    t0, s10, MATMUL_OPTS_RELU
        beqz    t0, 3f
        npu.vrelu t1, t1
3:      andi    t0, s10, MATMUL_OPTS_REQUANT
        beqz    t0, 4f
        npu.vcvt.f32.i32 t1, t1
        li      t2, OPS_UB_PARAMS
        npu.vscalebias t1, t1, t2
        npu.vquant t1, t1
4:      SETFLAG_P v, mte3, OPS_EV_V, s6
        WAITFLAG_P v, mte3, OPS_EV_V, s6        # mte3: the tile is final
5:      lw      t0, MM_OES(s1)                  # UB -> C: tm rows of tn, n*oes apart
        lw      t1, MM_N(s1)
        mul     t2, s2, t1
        add     t2, t2, s3
        mul     t2, t2, t0
        lw      a1, MM_C(s1)
        add     a1, a1, t2
        BUF_SLOT a0, MM_UB_C, MM_C_SLOT, s6
        mul     a2, s8, t0
        mv      a3, s7
        li      a4, 0
        mul     a5, t1, t0
        li      a6, PIPE_MTE3
        call    dma_2d
        SETFLAG_P mte3, m, OPS_EV_C, s6         # L0C tile q is free
.if DOUBLE_BUFFER
        xori    s6, s6, 1
.else
        BARRIER_ALL
.endif
        LEAVE   16
