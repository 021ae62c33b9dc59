# MATMUL: C = A(m x k) x B(k x n), row-major in HBM; fp16 in / fp32 out, or int8 in / int32
# out (feature matmul_int8); optional bias (n accumulator-type elements), fused ReLU, and
# requantize of the int32 result to int8 (int8 only):
#   int8 = saturate(round_half_even(fp32(acc) * scale) + zero_point)
# MATMUL_INT4 (ABI 2, feature matmul_int4) runs the same engine with int4 inputs.
#
# Tiling: C is computed in MM_TM x MM_TN tiles, each accumulated over MM_TK-deep slices of
# K; edge tiles are smaller (the cube's mm_m/mm_k/mm_n are set per slice). One K step:
#   mte2: A and B slices HBM -> L1 (strided rows)      L1 buffer p
#   mte1: L1 -> L0A / L0B                              L0 buffer p
#   m:    mmad into L0C tile q (overwrite on the first slice, then accumulate)
# and once per C tile:
#   mte3: L0C -> UB; v: bias (row by row), ReLU, requantize in UB; mte3: UB -> HBM (strided).
# With DOUBLE_BUFFER the step buffers p and the tile buffers q alternate and set/wait flags
# order the pipes, so the DMA of the next slice overlaps the cube on the current one and
# the write-back of a tile overlaps the next tile. Without it one buffer of each is used
# and a barrier ends every step and tile (the serial reference the timing test compares).
#
# Checks, in order: dtype (BAD_PARAM; int8 without matmul_int8: UNSUPPORTED), opts (unknown
# bits, requant with fp16: BAD_PARAM), requant scale finite and zero_point in -128..127
# (BAD_PARAM), then matmul_common's: m, n, k > 0 (BAD_SIZE), size products without
# overflow (SIZE_OVERFLOW), buffers in HBM and aligned, C disjoint from A, B and bias
# (OVERLAP).

.ifndef MM_TM
.equ MM_TM, 128                         # C tile rows
.endif
.ifndef MM_TN
.equ MM_TN, 128                         # C tile columns
.endif
.ifndef MM_TK
.equ MM_TK, 128                         # K slice depth
.endif
.equ MM_A_SLOT, MM_TM * MM_TK * 2       # bytes of an A slice (fp16, the widest input)
.equ MM_B_SLOT, MM_TK * MM_TN * 2
.equ MM_C_SLOT, MM_TM * MM_TN * 4       # bytes of a C tile (fp32 / int32)
.equ MM_L1_A, MEM_L1_BASE
.equ MM_L1_B, MEM_L1_BASE + 2 * MM_A_SLOT
.equ MM_UB_C, MEM_UB_BASE
.equ MM_UB_BIAS, MEM_UB_BASE + 2 * MM_C_SLOT
.if (2 * MM_A_SLOT > MEM_L0A_SIZE) || (2 * MM_B_SLOT > MEM_L0B_SIZE) || (2 * MM_C_SLOT > MEM_L0C_SIZE)
        .error "matmul tiles do not fit L0"
.endif
.if (MM_UB_BIAS + 2 * MM_TN * 4 > OPS_UB_PARAMS) || (2 * (MM_A_SLOT + MM_B_SLOT) > MEM_L1_SIZE)
        .error "matmul tiles do not fit UB / L1"
.endif
.if (MM_TM > 0xffff) || (MM_TK > 0xffff)
        .error "matmul tile rows exceed the DMA descriptor's rows field"
.endif

# matmul context (filled by handle_matmul, read by matmul_run and its steps)
.equ MM_A, 0
.equ MM_B, 4
.equ MM_C, 8
.equ MM_BIAS, 12
.equ MM_M, 16
.equ MM_N, 20
.equ MM_K, 24
.equ MM_NIB, 28                         # input nibbles per element (4 fp16, 2 int8, 1 int4)
.equ MM_OES, 32                         # output element bytes (4, or 1 with requant)
.equ MM_OPTS, 36                        # MATMUL_OPTS_* bits
.equ MM_DT, 40                          # cube mm_dtype
.equ MM_SCALE, 44                       # requant scale (fp32 bits)
.equ MM_ZP, 48                          # requant zero point
.equ MM_SIZE, 52

        .text
# handle_matmul(a0 = descriptor, a1 = generation) -> a0 = status, a1 = detail.
# Parses dtype and opts (and the requant parameters), then matmul_common does the rest.
# Registers: s1 args, s3 input nibbles per element, s4 output bytes per element, s5 opts.
FUNC handle_matmul
        ENTER   32
        SAVE    s1, 1
        SAVE    s3, 3
        SAVE    s4, 4
        SAVE    s5, 5
        call    ops_args
        mv      s1, a0
        li      s4, 4
        lbu     t1, ARG_MATMUL_DTYPE(s1)
        li      a1, ARG_MATMUL_DTYPE
        li      s3, 4
        li      t2, MM_DTYPE_FP16
        li      t0, DTYPE_FP16
        beq     t1, t0, 1f
        li      s3, 2
        li      t2, MM_DTYPE_INT8
        li      t0, DTYPE_INT8
        bne     t1, t0, 88f
.if !HAS_MATMUL_INT8
        j       87f
.endif
1:      la      t0, mm_ctx
        sw      t2, MM_DT(t0)
        lbu     s5, ARG_MATMUL_OPTS(s1)
        li      a1, ARG_MATMUL_OPTS
        andi    t0, s5, ~(MATMUL_OPTS_BIAS | MATMUL_OPTS_RELU | MATMUL_OPTS_REQUANT)
        bnez    t0, 88f
        andi    t0, s5, MATMUL_OPTS_REQUANT
        beqz    t0, 2f
        li      t0, 4                           # requant: int8 only
        beq     s3, t0, 88f
        li      s4, 1
        lw      a0, ARG_MATMUL_SCALE(s1)
        li      a1, 0
        call    ops_check_f32_param
        li      a1, ARG_MATMUL_SCALE
        bnez    a0, 88f
        lw      t1, ARG_MATMUL_ZERO_POINT(s1)
        li      a1, ARG_MATMUL_ZERO_POINT
        addi    t1, t1, 128
        li      t0, 255
        bgtu    t1, t0, 88f
        la      t0, mm_ctx
        lw      t1, ARG_MATMUL_SCALE(s1)
        sw      t1, MM_SCALE(t0)
        lw      t1, ARG_MATMUL_ZERO_POINT(s1)
        sw      t1, MM_ZP(t0)
2:      mv      a0, s1
        mv      a1, s3
        mv      a2, s4
        mv      a3, s5
        call    matmul_common
        j       99f
87:     li      a0, ST_UNSUPPORTED
        call    ops_fail
        j       99f
88:     li      a0, ST_BAD_PARAM
        call    ops_fail
99:     RESTORE s1, 1
        RESTORE s3, 3
        RESTORE s4, 4
        RESTORE s5, 5
        LEAVE   32

# handle_matmul_int4(a0 = descriptor, a1 = generation) -> a0 = status, a1 = detail.
# MATMUL_INT4: int4 inputs packed two per byte along rows (low nibble first), int32 out,
# optional bias and ReLU (requant: BAD_PARAM). The cube needs an even K and N, so k and n
# must be even (BAD_SIZE); then matmul_common, with the cube in int4 mode.
FUNC handle_matmul_int4
        ENTER   16
        SAVE    s1, 1
        call    ops_args
        mv      s1, a0
        lbu     t0, ARG_MATMUL_INT4_OPTS(s1)
        li      a1, ARG_MATMUL_INT4_OPTS
        andi    t0, t0, ~(MATMUL_OPTS_BIAS | MATMUL_OPTS_RELU)
        bnez    t0, 88f
        lw      t0, ARG_MATMUL_INT4_K(s1)
        li      a1, ARG_MATMUL_INT4_K
        andi    t0, t0, 1
        bnez    t0, 86f
        lw      t0, ARG_MATMUL_INT4_N(s1)
        li      a1, ARG_MATMUL_INT4_N
        andi    t0, t0, 1
        bnez    t0, 86f
        la      t0, mm_ctx
        li      t1, MM_DTYPE_INT4
        sw      t1, MM_DT(t0)
        mv      a0, s1
        li      a1, 1
        li      a2, 4
        lbu     a3, ARG_MATMUL_INT4_OPTS(s1)
        call    matmul_common
        j       99f
86:     li      a0, ST_BAD_SIZE
        call    ops_fail
        j       99f
88:     li      a0, ST_BAD_PARAM
        call    ops_fail
99:     RESTORE s1, 1
        LEAVE   16

.if (ARG_MATMUL_INT4_A != ARG_MATMUL_A) || (ARG_MATMUL_INT4_B != ARG_MATMUL_B) || (ARG_MATMUL_INT4_C != ARG_MATMUL_C) || (ARG_MATMUL_INT4_BIAS != ARG_MATMUL_BIAS) || (ARG_MATMUL_INT4_M != ARG_MATMUL_M) || (ARG_MATMUL_INT4_N != ARG_MATMUL_N) || (ARG_MATMUL_INT4_K != ARG_MATMUL_K)
        .error "MATMUL_INT4 and MATMUL place a, b, c, bias, m, n, k differently: matmul_common reads both"
.endif

# matmul_common(a0 = arguments, a1 = input nibbles per element (4 fp16, 2 int8, 1 int4),
# a2 = output bytes per element, a3 = opts) -> a0 = status, a1 = detail. The caller has
# checked the type and options and put MM_DT (and the requant scale and zero point) in
# mm_ctx. Checks, in order: m, n, k > 0 (BAD_SIZE), size products without overflow
# (SIZE_OVERFLOW), buffers in HBM and aligned, C disjoint from A, B and bias (OVERLAP);
# then fills mm_ctx and runs matmul_run.
# Registers: s1 args, s2 context, s3 input nibbles, s4 output bytes, s5 opts.
FUNC matmul_common
        ENTER   32
        SAVE    s1, 1
        SAVE    s2, 2
        SAVE    s3, 3
        SAVE    s4, 4
        SAVE    s5, 5
        mv      s1, a0
        la      s2, mm_ctx
        mv      s3, a1
        mv      s4, a2
        mv      s5, a3
        lw      t0, ARG_MATMUL_M(s1)            # --- sizes
        li      a1, ARG_MATMUL_M
        beqz    t0, 86f
        lw      t0, ARG_MATMUL_N(s1)
        li      a1, ARG_MATMUL_N
        beqz    t0, 86f
        lw      t0, ARG_MATMUL_K(s1)
        li      a1, ARG_MATMUL_K
        beqz    t0, 86f
        lw      a0, ARG_MATMUL_M(s1)            # A: m*k*nibbles
        lw      a1, ARG_MATMUL_K(s1)
        mv      a2, s3
        call    mm_size3
        li      a1, ARG_MATMUL_K
        bnez    a0, 85f
        lw      a0, ARG_MATMUL_K(s1)            # B: k*n*nibbles
        lw      a1, ARG_MATMUL_N(s1)
        mv      a2, s3
        call    mm_size3
        li      a1, ARG_MATMUL_N
        bnez    a0, 85f
        lw      a0, ARG_MATMUL_M(s1)            # C: m*n*oes
        lw      a1, ARG_MATMUL_N(s1)
        mv      a2, s4
        call    mm_size3
        li      a1, ARG_MATMUL_N
        bnez    a0, 85f
        lw      a0, ARG_MATMUL_N(s1)            # bias: n*4
        li      a1, 1
        li      a2, 4
        call    mm_size3
        li      a1, ARG_MATMUL_N
        bnez    a0, 85f
        lw      a0, ARG_MATMUL_A(s1)            # --- buffers
        lw      a1, ARG_MATMUL_M(s1)
        lw      a2, ARG_MATMUL_K(s1)
        mv      a3, s3
        call    mm_buffer
        bnez    a0, 99f
        lw      a0, ARG_MATMUL_B(s1)
        lw      a1, ARG_MATMUL_K(s1)
        lw      a2, ARG_MATMUL_N(s1)
        mv      a3, s3
        call    mm_buffer
        bnez    a0, 99f
        lw      a0, ARG_MATMUL_C(s1)
        lw      a1, ARG_MATMUL_M(s1)
        lw      a2, ARG_MATMUL_N(s1)
        slli    a3, s4, 1
        call    mm_buffer
        bnez    a0, 99f
        andi    t0, s5, MATMUL_OPTS_BIAS
        beqz    t0, 3f
        lw      a0, ARG_MATMUL_BIAS(s1)
        li      a1, 1
        lw      a2, ARG_MATMUL_N(s1)
        li      a3, 8
        call    mm_buffer
        bnez    a0, 99f
        lw      a0, ARG_MATMUL_BIAS(s1)
        lw      a1, ARG_MATMUL_N(s1)
        slli    a1, a1, 2
        call    mm_disjoint_c
        bnez    a0, 99f
3:      lw      a0, ARG_MATMUL_A(s1)
        lw      a1, ARG_MATMUL_M(s1)
        lw      t0, ARG_MATMUL_K(s1)
        mul     a1, a1, t0
        mul     a1, a1, s3
        srli    a1, a1, 1
        call    mm_disjoint_c
        bnez    a0, 99f
        lw      a0, ARG_MATMUL_B(s1)
        lw      a1, ARG_MATMUL_K(s1)
        lw      t0, ARG_MATMUL_N(s1)
        mul     a1, a1, t0
        mul     a1, a1, s3
        srli    a1, a1, 1
        call    mm_disjoint_c
        bnez    a0, 99f
        lw      t0, ARG_MATMUL_A(s1)            # --- context
        sw      t0, MM_A(s2)
        lw      t0, ARG_MATMUL_B(s1)
        sw      t0, MM_B(s2)
        lw      t0, ARG_MATMUL_C(s1)
        sw      t0, MM_C(s2)
        lw      t0, ARG_MATMUL_BIAS(s1)
        sw      t0, MM_BIAS(s2)
        lw      t0, ARG_MATMUL_M(s1)
        sw      t0, MM_M(s2)
        lw      t0, ARG_MATMUL_N(s1)
        sw      t0, MM_N(s2)
        lw      t0, ARG_MATMUL_K(s1)
        sw      t0, MM_K(s2)
        sw      s3, MM_NIB(s2)
        sw      s4, MM_OES(s2)
        sw      s5, MM_OPTS(s2)
        mv      a0, s2
        call    matmul_run
        li      a0, ST_OK
        li      a1, 0
        j       99f
85:     li      a0, ST_SIZE_OVERFLOW
        call    ops_fail
        j       99f
86:     li      a0, ST_BAD_SIZE
        call    ops_fail
99:     RESTORE s1, 1
        RESTORE s2, 2
        RESTORE s3, 3
        RESTORE s4, 4
        RESTORE s5, 5
        LEAVE   32

# mm_size3(a0 = x, a1 = y, a2 = z) -> a0 = 1 when x*y*z needs more than 32 bits, else 0;
# a1 = the product (low 32 bits). Clobbers t0-t1.
FUNC mm_size3
        ENTER   16
        mulhu   t0, a0, a1
        mul     t1, a0, a1
        bnez    t0, 1f
        mulhu   t0, t1, a2
        mul     a1, t1, a2
        bnez    t0, 1f
        li      a0, 0
        LEAVE   16
1:      li      a0, 1
        LEAVE   16

# mm_buffer(a0 = addr, a1 = rows, a2 = columns, a3 = nibbles per element) -> check_buffer's
# result for the rows*columns*nibbles/2 bytes at addr (the product is known not to overflow).
FUNC mm_buffer
        ENTER   16
        mul     a1, a1, a2
        mul     a1, a1, a3
        srli    a1, a1, 1
        li      a2, 0
        call    check_buffer
        LEAVE   16

# mm_disjoint_c(a0 = addr, a1 = bytes) -> check_disjoint of that input range and C's range
# (detail: C's address). Reads C's address and size from the arguments (s1) and the output
# element size (s4) of matmul_common.
FUNC mm_disjoint_c
        ENTER   16
        lw      a2, ARG_MATMUL_C(s1)
        lw      a3, ARG_MATMUL_M(s1)
        lw      t0, ARG_MATMUL_N(s1)
        mul     a3, a3, t0
        mul     a3, a3, s4
        call    check_disjoint
        LEAVE   16

# matmul_run(a0 = checked context): the tiled product (see the top of this file).
# Registers while it runs (matmul_step and matmul_tile_out use them too):
#   s1 context, s2 row of the C tile (mi), s3 its column (ni), s4 K offset (ki),
#   s5 step buffer p, s6 tile buffer q, s7 tile rows tm, s8 tile columns tn, s9 slice
#   depth tk, s10 opts, s11 input nibbles per element (byte offsets are products of even
#   counts times s11, halved).
# Guarantees: every pipe drained and no flag left set on return; the watchdog petted
# once per C tile.
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
        add     s4, s4, s9
        j       6b
7:      call    matmul_tile_out
        PET_WDOG t0, t1
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

        .bss
        .balign 4
mm_ctx:         .space MM_SIZE
