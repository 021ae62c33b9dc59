# The cube waits for a flag nothing will set, then the core waits for every pipe.
        .text
        .globl _start
_start:
        npu.waitflag mte2, m, 5
        li      a2, REGION_L0A
        li      a3, REGION_L0B
        li      a4, REGION_L0C
        npu.mmad a4, a2, a3
wait:   npu.barrier all
        j       wait
