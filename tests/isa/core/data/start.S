/* Start file for bare-metal C test programs run by `python -m isa.run`.
   The runner starts here with sp at the top of DTCM; this clears .bss,
   calls main and exits with its return value through ecall 93. */
    .section .text.start, "ax"
    .globl _start
_start:
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sw      zero, 0(t0)
    addi    t0, t0, 4
    j       1b
2:  call    main
    li      a7, 93
    ecall
3:  j       3b
