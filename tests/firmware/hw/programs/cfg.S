# npu.cfg: swap a value in, read it back, then two faulting forms; each result lands in a register.
        .text
        .globl _start
_start:
        li      t0, 40
        npu.cfg a0, t0, mm_m            # a0 = reset value, mm_m = 40
        npu.cfg a1, x0, mm_m            # a1 = 40
        li      t0, 5
bad_ro: npu.cfg a2, t0, status          # read-only: faults, a2 unchanged
        npu.cfg a3, x0, status          # a3 = the fault code
bad_ix: npu.cfg a4, x0, 5               # no cfg register 5: faults
        npu.cfg a5, x0, fault_pc        # a5 = pc of the last fault
done:   wfi
        j       done
