# Store MAGIC into version.scratch[0], then sleep.
        .text
        .globl _start
_start:
        li      t0, REG_VERSION_SCRATCH_0
        li      t1, MAGIC
store:  sw      t1, 0(t0)
done:   wfi
        j       done
