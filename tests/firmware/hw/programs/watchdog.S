# Enable the watchdog, pet it PETS times with a short busy loop between pets, then
# either sleep in wfi (SLEEP=1) or spin without petting (SLEEP=0).
        .text
        .globl _start
_start:
        li      t0, REG_WDOG_TIMEOUT
        li      t1, TIMEOUT
        sw      t1, 0(t0)
        li      t0, REG_WDOG_ENABLE
        li      t1, 1
        sw      t1, 0(t0)
enabled:
        li      s0, PETS
        li      s1, REG_WDOG_PET
pet_loop:
        beqz    s0, after
        li      t1, 1
        sw      t1, 0(s1)
        li      t2, 100
1:      addi    t2, t2, -1
        bnez    t2, 1b
        addi    s0, s0, -1
        j       pet_loop
after:
        .if SLEEP
sleep:  wfi
        j       sleep
        .else
spin:   j       spin
        .endif
