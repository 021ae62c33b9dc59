# Shared helpers of the operator handlers (ops_*.S): argument access, DMA descriptors,
# and the streaming engine that pipes a tensor through UB in chunks.
#
# Every function follows the firmware calling convention (dispatch.S): arguments in
# a0-a7, results in a0/a1, s1-s11 preserved, a frame with ra and s0 (ENTER / LEAVE).
# The DMA helpers fill the one descriptor buffer ops_dma_desc; that is safe because
# npu.dma reads its descriptor when it is issued, not when the pipe runs it.
#
# Flags: the operators use flag events OPS_EV_* below, always as pairs (base, base + 1)
# for ping-pong buffer 0 and 1 (the SETFLAG_P / WAITFLAG_P macros of xnpu.inc). Every
# operator primes the flags it waits on at its start and consumes every flag it set
# before it returns, so that a command leaves no flag set behind it.

# ---------------------------------------------------------------- flag events
.equ OPS_EV_L1, 0                       # mte1 -> mte2: L1 buffer p may be refilled
.equ OPS_EV_L0, 2                       # m -> mte1 / m -> mte2 (L0A/L0B p free), mte1 -> m (p loaded)
.equ OPS_EV_C, 4                        # mte3 -> m (L0C q free), m -> mte3 (C tile q done)
.equ OPS_EV_V, 6                        # mte3 -> v (tile q in UB), v -> mte3 (tile q ready)
.equ OPS_EV_BIAS, 8                     # v -> mte2: the bias slice q in UB may be refilled
.equ OPS_EV_IN, 10                      # mte2 -> v (stream chunk p), mte2 -> m (conv step p): loaded
.equ OPS_EV_OUT, 12                     # mte3 -> mte2: output of chunk p written, buffers free

# ---------------------------------------------------------------- stream engine layout
# A stream moves SC_COUNT elements through UB in chunks of STREAM_CHUNK elements, with two
# buffer sets (ping-pong) when DOUBLE_BUFFER is set. Each set holds the chunk of operand A,
# of operand B and a work area, each STREAM_CHUNK * 4 bytes (the widest element).
.ifndef STREAM_CHUNK
.equ STREAM_CHUNK, 4096                 # elements per chunk
.endif
.equ STREAM_SLOT, STREAM_CHUNK * 4
.equ STREAM_SET, 3 * STREAM_SLOT
.equ STREAM_UB_A, 0
.equ STREAM_UB_B, STREAM_SLOT
.equ STREAM_UB_W, 2 * STREAM_SLOT
.equ STREAM_UB, MEM_UB_BASE
.equ OPS_UB_PARAMS, MEM_UB_BASE + MEM_UB_SIZE - 256    # small vector parameters (scale, bias)
.if 2 * STREAM_SET > MEM_UB_SIZE - 256
        .error "STREAM_CHUNK too large for UB"
.endif

# stream control block (filled by the caller, read by stream_run)
.equ SC_A, 0                            # HBM address of operand A
.equ SC_B, 4                            # HBM address of operand B, 0 for a unary operation
.equ SC_OUT, 8                          # HBM address of the result
.equ SC_COUNT, 12                       # elements
.equ SC_AES, 16                         # bytes per input element (A and B)
.equ SC_OES, 20                         # bytes per output element
.equ SC_BODY, 24                        # vector body (see stream_run)
.equ SC_SIZE, 28

# BUF_SLOT rd, base, slot, preg: rd = base + preg * slot, the address of ping-pong buffer
# preg (0 or 1) of `slot` bytes at `base`. Clobbers t6.
.macro BUF_SLOT rd, base, slot, preg
        li      \rd, \slot
        mul     \rd, \rd, \preg
        li      t6, \base
        add     \rd, \rd, t6
.endm

        .text
# ops_args(a0 = descriptor copy) -> a0 = address of its argument area (cmd_args_off added).
# Clobbers t0.
FUNC ops_args
        ENTER   16
        la      t0, cmd_args_off
        lw      t0, 0(t0)
        add     a0, a0, t0
        LEAVE   16

# ops_fail(a0 = status, a1 = argument offset) -> a0 = status, a1 = the argument's byte
# offset in the descriptor (the error detail of a bad parameter or size).
FUNC ops_fail
        ENTER   16
        SAVE    s1, 1
        mv      s1, a0
        mv      a0, a1
        call    arg_detail
        mv      a1, a0
        mv      a0, s1
        RESTORE s1, 1
        LEAVE   16

# ops_check_f32_param(a0 = fp32 bit pattern, a1 = 1 to require > 0) -> a0 = 0 when the value
# is finite (and positive when asked), else 1. Clobbers t0-t1.
FUNC ops_check_f32_param
        ENTER   16
        srli    t0, a0, 23
        andi    t0, t0, 0xff
        li      t1, 0xff
        beq     t0, t1, 1f                      # inf or NaN
        beqz    a1, 2f
        blez    a0, 1f                          # sign set, or +0
2:      li      a0, 0
        LEAVE   16
1:      li      a0, 1
        LEAVE   16

# dma_2d(a0 = src, a1 = dst, a2 = row bytes, a3 = rows, a4 = src stride, a5 = dst stride,
# a6 = pipe): queue a plain strided copy on the pipe (strides 0 = packed). Clobbers t0.
FUNC dma_2d
        ENTER   16
        la      t0, ops_dma_desc
        sw      a0, DMA_SRC(t0)
        sw      a1, DMA_DST(t0)
        sw      a2, DMA_ROW_BYTES(t0)
        sh      a3, DMA_ROWS(t0)
        sh      x0, DMA_XFORM(t0)               # xform none, esize 0
        sw      a4, DMA_SRC_STRIDE(t0)
        sw      a5, DMA_DST_STRIDE(t0)
        sw      x0, DMA_CHAN(t0)                # chan, kh, kw
        sh      x0, DMA_STRIDE(t0)              # stride, pad
        li      t1, DMA_FLAG_VALID
        sh      t1, DMA_FLAGS(t0)
        npu.dma t0, a6
        LEAVE   16

# dma_1d(a0 = src, a1 = dst, a2 = bytes, a3 = pipe): queue a flat copy. Clobbers t0-t1, a3-a6.
FUNC dma_1d
        ENTER   16
        mv      a6, a3
        li      a3, 1
        li      a4, 0
        li      a5, 0
        call    dma_2d
        LEAVE   16

# dma_xform(a0 = src, a1 = dst, a2 = image bytes, a3 = images, a4 = transform (DMA_XFORM_*),
# a5 = element size, a6 = channels): queue a layout transform on mte2 (packed images).
# Clobbers t0-t1.
FUNC dma_xform
        ENTER   16
        la      t0, ops_dma_desc
        sw      a0, DMA_SRC(t0)
        sw      a1, DMA_DST(t0)
        sw      a2, DMA_ROW_BYTES(t0)
        sh      a3, DMA_ROWS(t0)
        sb      a4, DMA_XFORM(t0)
        sb      a5, DMA_ESIZE(t0)
        sw      x0, DMA_SRC_STRIDE(t0)
        sw      x0, DMA_DST_STRIDE(t0)
        sw      x0, DMA_CHAN(t0)
        sh      a6, DMA_CHAN(t0)
        sh      x0, DMA_STRIDE(t0)
        li      t1, DMA_FLAG_VALID
        sh      t1, DMA_FLAGS(t0)
        li      t1, PIPE_MTE2
        npu.dma t0, t1
        LEAVE   16

# stream_run(a0 = stream control block): apply a vector body to SC_COUNT (> 0) elements.
# Per chunk of up to STREAM_CHUNK elements, buffer set p (ping-pong with DOUBLE_BUFFER):
#   mte2: wait OUT(p) [set p free]; A (and B) HBM -> UB; set IN(p)
#   v:    wait IN(p); v_len = chunk; the body; set V(p)
#   mte3: wait V(p); result UB -> HBM; set OUT(p)
# so the DMA of chunk i+1 overlaps the vector work of chunk i. Without DOUBLE_BUFFER
# one set is used and a barrier ends each chunk.
# The body is called by the core as body(a0 = UB A, a1 = UB B, a2 = UB work, a3 = elements)
# and returns a0 = the UB address of the result (SC_OES bytes per element); it only issues
# vector instructions (cfg registers other than v_len are the caller's to set) and may
# clobber a0-a7, t0-t6.
# Guarantees: on return every pipe has drained and no flag is left set. Pets the watchdog
# once per chunk. Uses s1-s8 (saved).
FUNC stream_run
        ENTER   48
        SAVE_S  8
        mv      s1, a0
        lw      s2, SC_A(s1)
        lw      s3, SC_B(s1)
        lw      s4, SC_OUT(s1)
        lw      s5, SC_COUNT(s1)
        li      s6, 0                           # s6 = buffer set p
        npu.setflag mte3, mte2, OPS_EV_OUT      # both sets start free
        npu.setflag mte3, mte2, OPS_EV_OUT + 1
1:      beqz    s5, 9f
        li      s7, STREAM_CHUNK                # s7 = elements in this chunk
        bleu    s7, s5, 2f
        mv      s7, s5
2:      li      t0, STREAM_SET                  # s8 = UB buffer set p
        mul     s8, s6, t0
        li      t0, STREAM_UB
        add     s8, s8, t0
        WAITFLAG_P mte3, mte2, OPS_EV_OUT, s6
        lw      t0, SC_AES(s1)
        mul     a2, s7, t0
        mv      a0, s2
        addi    a1, s8, STREAM_UB_A
        li      a3, PIPE_MTE2
        call    dma_1d
        beqz    s3, 3f
        lw      t0, SC_AES(s1)
        mul     a2, s7, t0
        mv      a0, s3
        li      a1, STREAM_UB_B
        add     a1, a1, s8
        li      a3, PIPE_MTE2
        call    dma_1d
3:      SETFLAG_P mte2, v, OPS_EV_IN, s6
        WAITFLAG_P mte2, v, OPS_EV_IN, s6
        CFG_SET v_len, s7
        addi    a0, s8, STREAM_UB_A
        li      a1, STREAM_UB_B
        add     a1, a1, s8
        li      a2, STREAM_UB_W
        add     a2, a2, s8
        mv      a3, s7
        lw      t0, SC_BODY(s1)
        jalr    t0
        SETFLAG_P v, mte3, OPS_EV_V, s6
        WAITFLAG_P v, mte3, OPS_EV_V, s6
        lw      t0, SC_OES(s1)
        mul     a2, s7, t0
        mv      a1, s4
        add     s4, s4, a2
        li      a3, PIPE_MTE3
        call    dma_1d
        SETFLAG_P mte3, mte2, OPS_EV_OUT, s6
.if DOUBLE_BUFFER
        xori    s6, s6, 1
.else
        BARRIER_ALL
.endif
        lw      t0, SC_AES(s1)
        mul     t0, s7, t0
        add     s2, s2, t0
        beqz    s3, 4f
        add     s3, s3, t0
4:      sub     s5, s5, s7
        PET_WDOG t0, t1
        j       1b
9:      npu.waitflag mte3, mte2, OPS_EV_OUT     # consume both sets' flags
        npu.waitflag mte3, mte2, OPS_EV_OUT + 1
        BARRIER_ALL
        RESTORE_S 8
        LEAVE   48

        .bss
        .balign 32
ops_dma_desc:   .space DMA_DESC_SIZE    # the DMA descriptor the helpers fill
        .balign 4
ops_stream:     .space SC_SIZE          # the stream control block of the running command
