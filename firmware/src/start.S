# Boot: reset vector, C-style runtime set-up, version registers, self-test, READY,
# and the handshake with the driver.
#
# _start runs once per reset, from the ITCM base, with every register at its reset
# value. It never returns: it ends in main_loop (ring.S), or parks in boot_failed when
# the self-test fails.

.equ F_SELFTEST_STATUS_LSB, F_VERSION_SELFTEST_STATUS_LSB
.equ F_SELFTEST_DETAIL_LSB, F_VERSION_SELFTEST_DETAIL_LSB
.equ MIE_MEIE, 1 << 11                  # mie.MEIE (privileged spec)
.equ MSTATUS_MIE, 1 << 3                # mstatus.MIE

        .text
# _start: reset vector.
# Assumes: nothing (the core comes out of reset; DTCM holds the loaded .data).
# Guarantees: sp at the top of DTCM, s0 = 0 (the end of the frame chain), mtvec = trap_entry,
# .bss zeroed, fw_hbm_size read, version registers and self-test result published, handshake = ready
# (or failed), doorbell and handshake interrupts enabled; then jumps to main_loop.
FUNC _start
        li      sp, MEM_DTCM_BASE + MEM_DTCM_SIZE
        li      s0, 0
        li      ra, 0
        la      t0, trap_entry
        csrw    mtvec, t0
        la      t0, bss_start           # clear .bss (both ends are 16-byte aligned)
        la      t1, bss_end
1:      bgeu    t0, t1, 2f
        sw      x0, 0(t0)
        addi    t0, t0, 4
        j       1b
2:
        li      t1, FW_VERSION          # what this image is
        REG_WR  R_VERSION_FW_VERSION, t1, t0
        li      t1, FW_ABI_MASK
        REG_WR  R_VERSION_ABI_SUPPORTED, t1, t0
        li      t1, FW_FEATURES
        REG_WR  R_VERSION_FW_FEATURES, t1, t0
        call    read_hbm_size
        call    crc32_init
        call    boot_selftest
        bnez    a0, boot_failed
        li      t1, (1 << F_SELFTEST_STATUS_LSB) * E_SELFTEST_PASSED
        REG_WR  R_VERSION_SELFTEST, t1, t0
        li      t1, F_CORE_IRQ_ENABLE_SQ0_MASK | F_CORE_IRQ_ENABLE_SQ1_MASK | F_CORE_IRQ_ENABLE_HANDSHAKE_MASK
        REG_WR  R_CORE_IRQ_ENABLE, t1, t0
        li      t0, MIE_MEIE
        csrw    mie, t0                 # external interrupt only; mstatus.MIE stays 0 until main_loop sleeps
        li      a0, E_HANDSHAKE_READY
        call    set_handshake
        j       main_loop

# boot_failed: a0 = number of the failing self-test. Publishes selftest = failed with
# that detail and handshake = failed, then parks: the firmware serves nothing.
boot_failed:
        slli    t1, a0, F_SELFTEST_DETAIL_LSB
        ori     t1, t1, (1 << F_SELFTEST_STATUS_LSB) * E_SELFTEST_FAILED
        REG_WR  R_VERSION_SELFTEST, t1, t0
        li      a0, E_HANDSHAKE_FAILED
        call    set_handshake
        j       park

# set_handshake(a0 = handshake status): publish it and raise the host's handshake IRQ.
# Clobbers t0, t1.
FUNC set_handshake
        REG_WR  R_VERSION_HANDSHAKE, a0, t0
        HOST_IRQ F_HOST_IRQ_RAISE_HANDSHAKE_MASK, t0, t1
        ret

# boot_selftest() -> a0 = 0 when every test passed, else the number of the first failure:
#   1 device id is not the one this firmware was built for
#   2 DMA (MTE2) L1 -> L0A copy of a word pattern
#   3 cube: int8 1x4 . 4x1 dot product into L0C
#   4 MTE3 L0C -> UB and the vector unit: int32 add
# Uses the first bytes of L1, L0A, L0B, L0C and UB; puts the npu.cfg registers it set back
# to their reset values, so that commands start from the documented state. Clobbers t0-t3, a1.
FUNC boot_selftest
        ENTER   16
        li      a0, 1
        REG_RD  t0, R_ID_DEVICE_ID
        li      t1, RESET_ID_DEVICE_ID
        bne     t0, t1, 9f
        li      a0, 2                   # --- DMA
        li      t0, MEM_L1_BASE
        li      t1, 0x5a0f3c01
        sw      t1, 0(t0)
        not     t2, t1
        sw      t2, 4(t0)
        li      t3, MEM_L0A_BASE
        sw      x0, 0(t3)
        sw      x0, 4(t3)
        la      a1, boot_dma_desc
        li      t2, 8
        li      t1, 1
        DMA_FILL a1, t0, t3, t2, t1, DMA_XFORM_NONE, 0, t1
        DMA_GO  a1, PIPE_MTE2, t1
        BARRIER_ALL
        lw      t1, 0(t3)
        li      t2, 0x5a0f3c01
        bne     t1, t2, 9f
        lw      t1, 4(t3)
        not     t2, t2
        bne     t1, t2, 9f
        li      a0, 3                   # --- cube: [1 2 3 4] . [5 6 7 8]^T = 70
        li      t1, 0x04030201
        sw      t1, 0(t3)               # A at L0A
        li      t0, MEM_L0B_BASE
        li      t1, 0x08070605
        sw      t1, 0(t0)               # B at L0B (4 x 1)
        CFG_SETI mm_m, 1, t1
        CFG_SETI mm_k, 4, t1
        CFG_SETI mm_n, 1, t1
        CFG_SETI mm_dtype, MM_DTYPE_INT8, t1
        CFG_SETI mm_flags, MM_FLAG_OVERWRITE, t1
        li      t2, MEM_L0C_BASE
        npu.mmad t2, t3, t0
        BARRIER_ALL
        lw      t1, 0(t2)
        li      t0, 70
        bne     t1, t0, 9f
        li      a0, 4                   # --- L0C -> UB, then 70 + 70 on the vector unit
        li      t3, MEM_UB_BASE
        sw      x0, 0(t3)
        li      t0, 4
        li      t1, 1
        DMA_FILL a1, t2, t3, t0, t1, DMA_XFORM_NONE, 0, t1
        DMA_GO  a1, PIPE_MTE3, t1
        CFG_SETI v_len, 1, t1
        CFG_SETI v_dtype, V_DTYPE_INT32, t1
        npu.setflag mte3, v, 0
        npu.waitflag mte3, v, 0
        addi    t0, t3, 16
        npu.vadd t0, t3, t3
        BARRIER_ALL
        lw      t1, 16(t3)
        li      t0, 140
        bne     t1, t0, 9f
        li      a0, 0
9:      CFG_SETI mm_m, CFG_MM_M_RESET, t1
        CFG_SETI mm_k, CFG_MM_K_RESET, t1
        CFG_SETI mm_n, CFG_MM_N_RESET, t1
        CFG_SETI mm_dtype, CFG_MM_DTYPE_RESET, t1
        CFG_SETI mm_flags, CFG_MM_FLAGS_RESET, t1
        CFG_SETI v_len, CFG_V_LEN_RESET, t1
        CFG_SETI v_dtype, CFG_V_DTYPE_RESET, t1
        LEAVE   16

        .bss
        .balign 32
boot_dma_desc:  .space DMA_DESC_SIZE

        .text
# read_hbm_size: fw_hbm_size = the configuration's HBM bytes (features.memory.hbm_mib),
# at most the 2 GiB from MEM_HBM_BASE to the end of the address space; MEM_HBM_SIZE
# when the register reads 0. Every descriptor address is checked against it
# (check_hbm_range). Clobbers t0-t2.
FUNC read_hbm_size
        REG_RD  t0, R_FEATURES_MEMORY
        li      t1, F_FEATURES_MEMORY_HBM_MIB_MASK
        and     t0, t0, t1
        srli    t0, t0, F_FEATURES_MEMORY_HBM_MIB_LSB
        li      t1, MEM_HBM_SIZE
        beqz    t0, 2f
        li      t2, (0x100000000 - MEM_HBM_BASE) >> 20
        bleu    t0, t2, 1f
        mv      t0, t2
1:      slli    t1, t0, 20
2:      la      t0, fw_hbm_size
        sw      t1, 0(t0)
        ret

        .bss
        .balign 4
        .globl  fw_hbm_size
fw_hbm_size:    .word 0                 # bytes of HBM (read_hbm_size)

        .text
# handshake: the driver wrote version.abi_selected (core_irq.handshake).
# Accepts the selected generation when this firmware speaks it and the driver's version
# (version.driver_version, when the driver wrote one) lies in the release's driver range;
# else refuses (refused_abi / refused_driver) and serves nothing until a new selection.
# Guarantees: fw_abi = the accepted generation or 0; handshake status published with a
# host IRQ; ctrl.state = ready on acceptance. Clobbers a0, t0-t3.
FUNC handshake
        ENTER   16
        la      t3, fw_abi
        sw      x0, 0(t3)
        REG_RD  t0, R_VERSION_ABI_SELECTED
        andi    t0, t0, F_VERSION_ABI_SELECTED_GEN_MASK
        li      a0, E_HANDSHAKE_REFUSED_ABI
        li      t1, 31
        bgtu    t0, t1, 8f
        li      t1, FW_ABI_MASK
        srl     t1, t1, t0
        andi    t1, t1, 1
        beqz    t1, 8f
        li      a0, E_HANDSHAKE_REFUSED_DRIVER
        REG_RD  t1, R_VERSION_DRIVER_VERSION
        li      t2, 0xffffff
        and     t1, t1, t2
        beqz    t1, 1f                  # the driver did not say: nothing to check
        li      t2, FW_DRIVER_MIN
        bltu    t1, t2, 8f
        li      t2, FW_DRIVER_MAX
        bgtu    t1, t2, 8f
1:      sw      t0, 0(t3)
        li      t1, E_DEVICE_STATE_READY << F_CTRL_STATE_STATE_LSB
        REG_WR  R_CTRL_STATE, t1, t2
        li      a0, E_HANDSHAKE_ACCEPTED
8:      call    set_handshake
        LEAVE   16
