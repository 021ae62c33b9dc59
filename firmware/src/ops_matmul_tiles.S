# The MATMUL engine: the tile loops, one L1 chunk, one K step, and the write-back of a C
# tile (see ops_matmul.S for the scheme, the buffer layout MM_* and the context). Included
# by ops_matmul.S after its constants.
#
# Flags (ops_common.S's events; L0A/L0B/L0C are single buffers, L1, UB pieces and bias
# slices ping-pong):
#   mte1 -> mte2 L1(p)   L1 chunk p may be refilled         mte2 -> mte1 L1(p)  chunk p loaded
#   m -> mte1    L0      L0A/L0B may be refilled            mte1 -> m    L0     step loaded
#   mte3 -> m    C       L0C may be overwritten             m -> mte3    C      tile done
#   mte3 -> v    V(u)    piece u in UB                      v -> mte3    V(u)   piece u final
#   v -> mte2    BIAS(q) bias slice q may be refilled
# The bias slice reaches v before its first use through mte2's order: it is read before the
# tile's first chunk, whose "loaded" flag starts the chain mte1 -> m -> mte3 -> v.

# MM_CFG name, rs, field: npu.cfg register `name` = rs, unless mm_ctx's copy at `field`
# (s1 + field) says it holds rs already; the copy is updated. Clobbers t5.
.macro MM_CFG idx, rs, field
        lw      t5, \field(s1)
        beq     t5, \rs, 93f
        sw      \rs, \field(s1)
        CFG_SET \idx, \rs
93:
.endm

        .text
# matmul_run(a0 = checked context): the tiled product (see ops_matmul.S).
# Registers while it runs (matmul_chunk, matmul_step and matmul_tile_out use them too):
#   s1 context, s2 row of the C tile (mi), s3 its column (ni), s4 K offset of the chunk,
#   s5 L1 buffer p, s6 tile parity q (bias slice), s7 tile rows tm, s8 tile columns tn,
#   s9 chunk depth kc, s10 opts, s11 input nibbles per element (byte offsets are products
#   of even counts times s11, halved).
# Guarantees: every pipe drained and no flag left set on return; the watchdog petted
# once per K chunk (MM_KSTEPS mmads at most between pets, however long K is).
FUNC matmul_run
        ENTER   64
        SAVE_S  11
        mv      s1, a0
        lw      s10, MM_OPTS(s1)
        lw      s11, MM_NIB(s1)
        lw      t0, MM_DT(s1)
        CFG_SET mm_dtype, t0
        li      t0, -1                          # the cube's shape and flags: not written yet
        sw      t0, MM_CFG_M(s1)
        sw      t0, MM_CFG_K(s1)
        sw      t0, MM_CFG_N(s1)
        sw      t0, MM_CFG_FLAGS(s1)
        beqz    s10, 2f                         # no vector work: v's registers unused
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
        npu.setflag mte3, m, OPS_EV_C
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
        BUF_SLOT a1, MM_UB_BIAS, MM_BIAS_SLOT, s6
        slli    a2, s8, 2
        li      a3, PIPE_MTE2
        call    dma_1d
52:     li      s4, 0                           # --- for each K chunk
6:      lw      t0, MM_K(s1)
        bgeu    s4, t0, 7f
        sub     s9, t0, s4
        li      t0, MM_KC
        bleu    s9, t0, 61f
        mv      s9, t0
61:     call    matmul_chunk
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
        npu.waitflag mte3, m, OPS_EV_C
        andi    t0, s10, MATMUL_OPTS_BIAS
        beqz    t0, 10f
        npu.waitflag v, mte2, OPS_EV_BIAS
        npu.waitflag v, mte2, OPS_EV_BIAS + 1
10:     BARRIER_ALL
        RESTORE_S 11
        LEAVE   64

# matmul_chunk: one K chunk of the C tile (matmul_run's registers s1-s11): A(mi.., k0..) and
# B(k0.., ni..) HBM -> L1 buffer p, then its K steps. Flips p (with DOUBLE_BUFFER).
# Inside the step loop s2 and s3 (saved here) hold the step's offset in the chunk and its
# depth tk for matmul_step. Clobbers a0-a6, t0-t6.
FUNC matmul_chunk
        ENTER   32
        SAVE    s2, 1
        SAVE    s3, 2
        WAITFLAG_P mte1, mte2, OPS_EV_L1, s5    # mte2: L1 buffer p is free
        lw      t0, MM_K(s1)                    # A chunk: tm rows of kc, k*es apart
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
        lw      t0, MM_N(s1)                    # B chunk: kc rows of tn, n*es apart
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
        WAITFLAG_P mte2, mte1, OPS_EV_L1, s5    # mte1: chunk p is in L1
        li      s2, 0                           # --- for each K step of the chunk
1:      sub     s3, s9, s2
        li      t0, MM_TK
        bleu    s3, t0, 2f
        mv      s3, t0
2:      call    matmul_step
        add     s2, s2, s3
        bltu    s2, s9, 1b
        SETFLAG_P mte1, mte2, OPS_EV_L1, s5     # mte1 has read chunk p
        PET_WDOG t0, t1
.if DOUBLE_BUFFER
        xori    s5, s5, 1
.endif
        RESTORE s2, 1
        RESTORE s3, 2
        LEAVE   32

# matmul_step: one K step (matmul_chunk's registers: s2 offset in the chunk, s3 depth tk):
# A(tm x tk) from the chunk's rows and B(tk x tn) L1 buffer p -> L0A / L0B, then the mmad
# into L0C (mm_flags = overwrite on a tile's first step). The cube's cfg registers are
# written only when they change (MM_CFG). Without DOUBLE_BUFFER, waits for every pipe.
# Clobbers a0-a6, t0-t6.
FUNC matmul_step
        ENTER   16
        npu.waitflag m, mte1, OPS_EV_L0         # mte1: L0A / L0B are free
        mul     t0, s2, s11                     # A: tm rows of tk, kc*es apart in the chunk
        srli    t0, t0, 1
        BUF_SLOT a0, MM_L1_A, MM_A_SLOT, s5
        add     a0, a0, t0
        li      a1, MEM_L0A_BASE
        mul     a2, s3, s11
        srli    a2, a2, 1
        mv      a3, s7
        mul     a4, s9, s11
        srli    a4, a4, 1
        li      a5, 0
        li      a6, PIPE_MTE1
        call    dma_2d
        mul     t0, s2, s8                      # B: tk packed rows of tn
        mul     t0, t0, s11
        srli    t0, t0, 1
        BUF_SLOT a0, MM_L1_B, MM_B_SLOT, s5
        add     a0, a0, t0
        li      a1, MEM_L0B_BASE
        mul     a2, s3, s8
        mul     a2, a2, s11
        srli    a2, a2, 1
        li      a3, PIPE_MTE1
        call    dma_1d
        npu.setflag mte1, m, OPS_EV_L0
        npu.waitflag mte1, m, OPS_EV_L0         # m: operands in L0
        add     t2, s4, s2                      # t2 = the step's K offset in the tile
        bnez    t2, 1f
        npu.waitflag mte3, m, OPS_EV_C          # first step: L0C is free
1:      MM_CFG  mm_m, s7, MM_CFG_M
        MM_CFG  mm_k, s3, MM_CFG_K
        MM_CFG  mm_n, s8, MM_CFG_N
        seqz    t0, t2                          # overwrite C on the first step
        MM_CFG  mm_flags, t0, MM_CFG_FLAGS
        li      a0, MEM_L0C_BASE
        li      a1, MEM_L0A_BASE
        li      a2, MEM_L0B_BASE
        npu.mmad a0, a1, a2
        npu.setflag m, mte1, OPS_EV_L0
        add     t0, t2, s3
        lw      t1, MM_K(s1)
        bltu    t0, t1, 5f
        npu.setflag m, mte3, OPS_EV_C           # last step: the tile is done
5:
.if !DOUBLE_BUFFER
        BARRIER_ALL
.endif
        LEAVE   16

# matmul_tile_out: the finished C tile (matmul_run's registers) from L0C through UB, in
# pieces of MM_TO rows alternating between UB buffers u, with bias / ReLU / requantize on
# the vector unit, to C in HBM. A piece's HBM write is issued after the next piece's L0C
# read, so that L0C is free (for the next tile) after one HBM write, not after all.
# Inside, s4 holds the piece's first row, s9 its buffer u and s11 its rows (all three
# saved here). Flips q (or, without DOUBLE_BUFFER, waits for every pipe).
# Clobbers a0-a6, t0-t6.
FUNC matmul_tile_out
        ENTER   32
        SAVE    s4, 1
        SAVE    s9, 2
        SAVE    s11, 3
        npu.waitflag m, mte3, OPS_EV_C          # mte3: the cube finished the tile
        li      s4, 0
        li      s9, 0
1:      sub     s11, s7, s4                     # --- for each piece: rows = min(TO, tm - r0)
        li      t0, MM_TO
        bleu    s11, t0, 2f
        mv      s11, t0
2:      mul     a0, s4, s8                      # L0C rows r0.. -> UB buffer u
        slli    a0, a0, 2
        li      t0, MEM_L0C_BASE
        add     a0, a0, t0
        BUF_SLOT a1, MM_UB_C, MM_O_SLOT, s9
        mul     a2, s11, s8
        slli    a2, a2, 2
        li      a3, PIPE_MTE3
        call    dma_1d
        add     t0, s4, s11
        bltu    t0, s7, 3f
        npu.setflag mte3, m, OPS_EV_C           # last piece read: L0C is free
3:      beqz    s10, 4f
        mv      a0, s9
        mv      a1, s11
        call    matmul_piece_vector
4:      beqz    s4, 5f                          # the previous piece (full) to HBM
        addi    a0, s4, -MM_TO
        li      a1, MM_TO
        xori    a2, s9, 1
        call    matmul_piece_write
5:      add     s4, s4, s11
        bgeu    s4, s7, 6f
        xori    s9, s9, 1
        j       1b
6:      sub     a0, s4, s11                     # the last piece to HBM
        mv      a1, s11
        mv      a2, s9
        call    matmul_piece_write
        andi    t0, s10, MATMUL_OPTS_BIAS
        beqz    t0, 7f
        SETFLAG_P v, mte2, OPS_EV_BIAS, s6      # the bias slice q may be refilled
7:      RESTORE s4, 1
        RESTORE s9, 2
        RESTORE s11, 3
.if DOUBLE_BUFFER
        xori    s6, s6, 1
.else
        BARRIER_ALL
.endif
        LEAVE   32

.if MM_TO > 2047
        .error "MM_TO does not fit an addi immediate (matmul_tile_out)"
.endif

# matmul_piece_vector(a0 = UB buffer u, a1 = rows): the vector work on the piece in UB
# buffer u (matmul_run's registers): bias (one vadd per row, from slice q), ReLU,
# requantize to int8 in place. Waits for mte3's "piece in UB" and sets "piece final".
# Clobbers a1, t0-t6.
FUNC matmul_piece_vector
        ENTER   16
        SETFLAG_P mte3, v, OPS_EV_V, a0
        WAITFLAG_P mte3, v, OPS_EV_V, a0        # v: the piece is in UB
        BUF_SLOT t1, MM_UB_C, MM_O_SLOT, a0
        andi    t0, s10, MATMUL_OPTS_BIAS
        beqz    t0, 2f
        CFG_SET v_len, s8                       # bias: one vadd per row
        BUF_SLOT t2, MM_UB_BIAS, MM_BIAS_SLOT, s6
        mv      t3, a1
        slli    t4, s8, 2
1:      npu.vadd t1, t1, t2
        add     t1, t1, t4
        addi    t3, t3, -1
        bnez    t3, 1b
        BUF_SLOT t1, MM_UB_C, MM_O_SLOT, a0
2:      mul     t0, a1, s8
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
4:      SETFLAG_P v, mte3, OPS_EV_V, a0
        LEAVE   16

# matmul_piece_write(a0 = first row in the tile, a1 = rows, a2 = UB buffer u): queue the
# piece's write UB -> C in HBM on mte3 (rows of tn, n*oes apart), after v made it final
# when there is vector work. Clobbers a0-a6, t0-t2.
FUNC matmul_piece_write
        ENTER   16
        beqz    s10, 1f
        WAITFLAG_P v, mte3, OPS_EV_V, a2        # mte3: the piece is final
1:      mv      a3, a1
        lw      t0, MM_OES(s1)
        lw      t1, MM_N(s1)
        add     t2, s2, a0                      # C + ((mi + r) * n + ni) * oes
        mul     t2, t2, t1
        add     t2, t2, s3
        mul     t2, t2, t0
        lw      a1, MM_C(s1)
        add     a1, a1, t2
        BUF_SLOT a0, MM_UB_C, MM_O_SLOT, a2
        mul     a2, s8, t0
        li      a4, 0
        mul     a5, t1, t0
        li      a6, PIPE_MTE3
        call    dma_2d
        LEAVE   16
