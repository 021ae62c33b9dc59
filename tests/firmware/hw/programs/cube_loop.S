# Sustained cube load: issue SIZE x SIZE x SIZE fp16 mmads back to back, forever.
        .text
        .globl _start
_start:
        li      t0, SIZE
        npu.cfg x0, t0, mm_m
        npu.cfg x0, t0, mm_k
        npu.cfg x0, t0, mm_n
        li      t0, 1
        npu.cfg x0, t0, mm_flags
        li      a2, REGION_L0A
        li      a3, REGION_L0B
        li      a4, REGION_L0C
loop:   npu.mmad a4, a2, a3
        j       loop
