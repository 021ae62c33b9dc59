# MATMUL: C = A(m x k) x B(k x n), row-major in HBM; fp16 in / fp32 out, or int8 in / int32
# out (feature matmul_int8); optional bias (n accumulator-type elements), fused ReLU, and
# requantize of the int32 result to int8 (int8 only):
#   int8 = saturate(round_half_even(fp32(acc) * scale) + zero_point)
# MATMUL_INT4 (ABI 2, feature matmul_int4) runs the same engine with int4 inputs.
#
# Tiling (sizes for fp16, the widest input; int8 and int4 tiles take half and a quarter of the
# bytes): C is computed in MM_TM x MM_TN tiles, 256 x 256 fp32 filling L0C, each accumulated
# over K in MM_TK-deep steps, one mmad per step with A (MM_TM x MM_TK) filling L0A and B
# (MM_TK x MM_TN) filling L0B, the largest mmad the L0 buffers hold. HBM is read in K chunks
# of MM_KC = MM_KSTEPS steps, which are double-buffered in L1 (two chunks of A and B fill
# it). Edge tiles, chunks and steps are smaller (the cube's mm_m/mm_k/mm_n follow them).
#   mte2: per K chunk: A(tm x kc) and B(kc x tn) HBM -> L1 buffer p (strided rows)
#   mte1: per K step: A(tm x tk) (strided in the chunk) and B(tk x tn) L1 -> L0A / L0B
#   m:    per K step: mmad into L0C (overwrite on the first step of a tile, then accumulate)
# and per C tile, in MM_TO-row pieces that fit UB twice:
#   mte3: L0C -> UB buffer u; v: bias (row by row), ReLU, requantize; mte3: UB -> HBM.
# With DOUBLE_BUFFER the L1 buffers p alternate, so the HBM reads of the next chunk overlap
# the cube on this one; L0A/L0B/L0C are single buffers handed between mte1, m and mte3 by
# one flag per direction (L1 -> L0 moves are short next to the mmad they feed), and L0C is
# freed as soon as its last piece is in UB, so the UB -> HBM writes and the vector work
# overlap the next tile. The pieces alternate between two UB buffers, each piece's HBM
# write issued after the next piece's L0C read. Without DOUBLE_BUFFER one L1 buffer is used
# and a barrier ends every K step and tile (the serial reference the timing test compares).
# Xnpu instructions of an M x N x K product without options, in tiles T = ceil(M/MM_TM) *
# ceil(N/MM_TN), chunks C = T * ceil(K/MM_KC), steps S = T * ceil(K/MM_TK), pieces
# P = T * ceil(MM_TM/MM_TO) for full tiles: per chunk 2 DMAs and 4 flags, per step 2 DMAs,
# 1 mmad and 4 flags, per tile 4 flags and 2 cfg (mm_flags = overwrite, then accumulate;
# one when K is a single step), per piece 2 DMAs; 8 flags, 1 cfg (mm_dtype) and a barrier
# around the whole, and mm_m, mm_n, mm_k written only when they change (the first tile, an
# edge tile or step). tests/firmware/test_matmul_tiling.py derives the counts from these.
#
# Checks, in order: dtype (BAD_PARAM; int8 without matmul_int8: UNSUPPORTED), opts (unknown
# bits, requant with fp16: BAD_PARAM), requant scale finite and zero_point in -128..127
# (BAD_PARAM), then matmul_common's: m, n, k > 0 (BAD_SIZE), size products without
# overflow (SIZE_OVERFLOW), buffers in HBM and aligned, C disjoint from A, B and bias
# (OVERLAP).

.ifndef MM_TM
.equ MM_TM, 256                         # C tile rows
.endif
.ifndef MM_TN
.equ MM_TN, 256                         # C tile columns
.endif
.ifndef MM_TK
.equ MM_TK, 128                         # K step depth (one mmad)
.endif
.ifndef MM_KSTEPS
.equ MM_KSTEPS, 4                       # K steps per L1 chunk
.endif
.equ MM_KC, MM_TK * MM_KSTEPS           # K chunk depth (one HBM read of A and of B)
.equ MM_A_SLOT, MM_TM * MM_KC * 2       # bytes of an A chunk in L1 (fp16)
.equ MM_B_SLOT, MM_KC * MM_TN * 2       # bytes of a B chunk in L1
.equ MM_L1_A, MEM_L1_BASE               # two A chunks, then two B chunks
.equ MM_L1_B, MEM_L1_BASE + 2 * MM_A_SLOT
.equ MM_BIAS_SLOT, MM_TN * 4            # a bias slice in UB, two of them after the C pieces
.equ MM_UB_ROOM, OPS_UB_PARAMS - MEM_UB_BASE - 2 * MM_BIAS_SLOT
.ifndef MM_TO
.if MM_UB_ROOM / (2 * MM_TN * 4) >= MM_TM
.equ MM_TO, MM_TM                       # rows of C per write-back piece: a whole tile fits
.else
.equ MM_TO, (MM_UB_ROOM / (2 * MM_TN * 4)) / 8 * 8      # else as many rows of 8 as fit twice
.endif
.endif
.equ MM_O_SLOT, MM_TO * MM_TN * 4       # bytes of a write-back piece in UB (fp32 / int32)
.equ MM_UB_C, MEM_UB_BASE
.equ MM_UB_BIAS, MEM_UB_BASE + 2 * MM_O_SLOT
.if (MM_TM * MM_TK * 2 > MEM_L0A_SIZE) || (MM_TK * MM_TN * 2 > MEM_L0B_SIZE) || (MM_TM * MM_TN * 4 > MEM_L0C_SIZE)
        .error "matmul tiles do not fit L0"
.endif
.if (MM_TO < 1) || (MM_TO > MM_TM) || (MM_UB_BIAS + 2 * MM_BIAS_SLOT > OPS_UB_PARAMS) || (2 * (MM_A_SLOT + MM_B_SLOT) > MEM_L1_SIZE)
        .error "matmul tiles do not fit UB / L1"
.endif
.if (MM_TM > 0xffff) || (MM_KC > 0xffff)
        .error "matmul tile rows exceed the DMA descriptor's rows field"
.endif
.if (MM_TK % 2) || (MM_TN % 2)
        .error "int4 needs even K steps and tile columns (two elements per byte)"
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
.equ MM_CFG_M, 52                       # the cube's mm_m, mm_k, mm_n, mm_flags as last written by
.equ MM_CFG_K, 56                       # this command (-1 before the first write): matmul_step
.equ MM_CFG_N, 60                       # writes a cfg register only when its value changes
.equ MM_CFG_FLAGS, 64
.equ MM_SIZE, 68

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
        SAVE_S  5
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
99:     RESTORE_S 5
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

        .include "ops_matmul_tiles.S"

        .bss
        .balign 4
mm_ctx:         .space MM_SIZE
