# One large mmad, then the core reads C back with scalar loads the moment the cube is done
# (the test fills L0A, L0B and a sentinel in L0C first). The loads must see the finished
# tile however the host computes it (the cube may still be writing it on another thread).
# Defines: M, K, N (fp16 shape; C is M x N fp32 at REGION_L0C).
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
        li      a2, REGION_L0A
        li      a3, REGION_L0B
        li      a4, REGION_L0C
        npu.mmad a4, a2, a3
        npu.barrier m                   # the mmad has completed: C is its result from here on
        lw      a0, 0(a4)               # C[0][0]
        li      t1, (M * N - 1) * 4
        add     t1, a4, t1
        lw      a1, 0(t1)               # C[M-1][N-1]: the last element the cube writes
        li      t2, 0x7fc00001
        sw      t2, 4(a4)               # C[0][1] overwritten by the core after the cube
done:   wfi
        j       done
