# Report a fatal error through fw_err (cause fw_trap, address 0xbad0), then sleep.
        .text
        .globl _start
_start:
        li      t0, REG_FW_ERR_CAUSE
        li      t1, ERR_FW_TRAP
        sw      t1, 0(t0)
        li      t0, REG_FW_ERR_ADDR
        li      t1, 0xbad0
        sw      t1, 0(t0)
        li      t0, REG_FW_ERR_REPORT
        li      t1, 1
report: sw      t1, 0(t0)
done:   wfi
        j       done
