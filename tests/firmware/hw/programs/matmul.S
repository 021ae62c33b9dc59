# DMA A and B from HBM into L0A/L0B, multiply on the cube, move C to UB and back to HBM.
# Defines: M, K, N (shape), FLAG (1 = order the DMAs and the cube with a flag, 0 = forget it).
# The test fills the four descriptors before the core starts.
        .text
        .globl _start
_start:
        li      t0, M
        npu.cfg x0, t0, mm_m
        li      t0, K
        npu.cfg x0, t0, mm_k
        li      t0, N
        npu.cfg x0, t0, mm_n
        li      t0, 1
        npu.cfg x0, t0, mm_flags        # overwrite C
        li      a1, PIPE_MTE2
        la      a0, desc_a
dma_a:  npu.dma a0, a1
        la      a0, desc_b
dma_b:  npu.dma a0, a1
        .if FLAG
        npu.setflag mte2, m, 0
        npu.waitflag mte2, m, 0
        .endif
        li      a2, REGION_L0A
        li      a3, REGION_L0B
        li      a4, REGION_L0C
mmad:   npu.mmad a4, a2, a3
        npu.setflag m, mte3, 1
        npu.waitflag m, mte3, 1
        li      a1, PIPE_MTE3
        la      a0, desc_c
        npu.dma a0, a1
        la      a0, desc_out
        npu.dma a0, a1
        npu.barrier all
        npu.cfg a5, x0, status
done:   wfi
        j       done

        .data
        .balign 4
desc_a:   .space 32
desc_b:   .space 32
desc_c:   .space 32
desc_out: .space 32
