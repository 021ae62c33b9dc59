# The simple commands: NOP, FENCE, GET_INFO and CHECKSUM (COPY is in cmd_copy.S). See
# dispatch.S for the handler calling convention; every handler here returns with all
# pipes drained.

.equ WDOG_CHUNK, 0x10000                # bytes the CRC loop hashes between watchdog pets

        .text
# handle_nop: OK, value 0.
FUNC handle_nop
        ENTER   16
        li      a0, ST_OK
        li      a1, 0
        LEAVE   16

# handle_fence: OK once every pipe has drained. Commands run one at a time and each
# drains its pipes before completing, so every earlier command (either queue) is done.
FUNC handle_fence
        ENTER   16
        BARRIER_ALL
        li      a0, ST_OK
        li      a1, 0
        LEAVE   16

# handle_get_info: writes the INFO_SIZE-byte info block to dst (size >= INFO_SIZE, else
# BAD_SIZE). Counters are those before this command.
FUNC handle_get_info
        ENTER   16
        SAVE_S  2
        la      t0, cmd_args_off
        lw      t0, 0(t0)
        add     s1, a0, t0              # s1 = argument area
        mv      s2, a1                  # s2 = generation
        li      a0, ARG_GET_INFO_SIZE
        call    arg_detail
        mv      a2, a0
        lw      a0, ARG_GET_INFO_DST(s1)
        lw      a1, ARG_GET_INFO_SIZE(s1)
        call    check_buffer
        bnez    a0, 9f
        lw      t0, ARG_GET_INFO_SIZE(s1)
        li      t1, INFO_SIZE
        bgeu    t0, t1, 1f
        li      a0, ARG_GET_INFO_SIZE
        call    arg_detail
        mv      a1, a0
        li      a0, ST_BAD_SIZE
        j       9f
1:      lw      t0, ARG_GET_INFO_DST(s1)
        li      t1, FW_VERSION
        sw      t1, INFO_FW_VERSION(t0)
        li      t1, FW_ABI_MASK
        sw      t1, INFO_ABI_MASK(t0)
        li      t1, FW_FEATURES
        sw      t1, INFO_FEATURES(t0)
        li      t1, HW_CUBE_UNITS
        sb      t1, INFO_CUBE_UNITS(t0)
        li      t1, HW_VECTOR_UNITS
        sb      t1, INFO_VECTOR_UNITS(t0)
        li      t1, HW_DMA_ENGINES
        sb      t1, INFO_DMA_ENGINES(t0)
        li      t1, QUEUES1
        li      t2, ABI_GEN1
        beq     s2, t2, 2f
        li      t1, QUEUES2
2:      sb      t1, INFO_QUEUES(t0)
        li      t1, MEM_L1_SIZE
        sw      t1, INFO_L1_SIZE(t0)
        li      t1, MEM_L0A_SIZE
        sw      t1, INFO_L0A_SIZE(t0)
        li      t1, MEM_L0B_SIZE
        sw      t1, INFO_L0B_SIZE(t0)
        li      t1, MEM_L0C_SIZE
        sw      t1, INFO_L0C_SIZE(t0)
        li      t1, MEM_UB_SIZE
        sw      t1, INFO_UB_SIZE(t0)
        la      t1, fw_hbm_size         # the device's, read at boot
        lw      t1, 0(t1)
        sw      t1, INFO_HBM_SIZE(t0)
        la      t2, fw_counters
        lw      t1, FC_OK(t2)
        sw      t1, INFO_COMMANDS_OK(t0)
        lw      t1, FC_ERR(t2)
        sw      t1, INFO_COMMANDS_ERR(t0)
        lw      t1, FC_BUSY(t2)
        sw      t1, INFO_BUSY_CYCLES(t0)
        lw      t1, FC_BUSY + 4(t2)
        sw      t1, INFO_BUSY_CYCLES + 4(t0)
        addi    t1, t0, INFO_BUSY_CYCLES + 8    # the reserved tail of the block reads 0
        addi    t2, t0, INFO_SIZE
3:      bgeu    t1, t2, 4f
        sw      x0, 0(t1)
        addi    t1, t1, 4
        j       3b
4:      li      a0, ST_OK
        li      a1, 0
9:      RESTORE_S 2
        LEAVE   16

# handle_checksum: CRC-32 (IEEE 802.3, reflected, as zlib.crc32(data, seed)) of size bytes
# at src, computed by the core with a 256-entry table, a word at a time; value = the CRC.
FUNC handle_checksum
        ENTER   32
        SAVE_S  4
        la      t0, cmd_args_off
        lw      t0, 0(t0)
        add     s1, a0, t0
        li      a0, ARG_CHECKSUM_SIZE
        call    arg_detail
        mv      a2, a0
        lw      a0, ARG_CHECKSUM_SRC(s1)
        lw      a1, ARG_CHECKSUM_SIZE(s1)
        call    check_buffer
        bnez    a0, 9f
        lw      s2, ARG_CHECKSUM_SRC(s1)        # s2 = next byte
        lw      s3, ARG_CHECKSUM_SIZE(s1)
        add     s3, s3, s2                      # s3 = end
        lw      s4, ARG_CHECKSUM_SEED(s1)
        not     s4, s4                          # s4 = running CRC register
        la      t6, crc32_table
1:      li      t5, WDOG_CHUNK                  # one chunk between pets
        add     t5, t5, s2
        bltu    t5, s3, 2f
        mv      t5, s3
2:      sub     t4, t5, s2                      # the chunk's whole words end at t4
        andi    t4, t4, ~3                      # (s2 is word aligned: src is ADDR_ALIGN aligned)
        add     t4, t4, s2
3:      bgeu    s2, t4, 5f                      # --- the hot loop: 4 bytes per word
        lw      t0, 0(s2)
        xor     s4, s4, t0
        .rept 4
        andi    t1, s4, 0xff
        slli    t1, t1, 2
        add     t1, t1, t6
        lw      t1, 0(t1)
        srli    s4, s4, 8
        xor     s4, s4, t1
        .endr
        addi    s2, s2, 4
        j       3b
5:      bgeu    s2, t5, 6f                      # bytes left in the chunk
        lbu     t0, 0(s2)
        xor     t1, s4, t0
        andi    t1, t1, 0xff
        slli    t1, t1, 2
        add     t1, t1, t6
        lw      t1, 0(t1)
        srli    s4, s4, 8
        xor     s4, s4, t1
        addi    s2, s2, 1
        j       5b
6:      PET_WDOG t0, t1
        bltu    s2, s3, 1b
        not     a1, s4
        li      a0, ST_OK
9:      RESTORE_S 4
        LEAVE   32

# crc32_init(): fill crc32_table (polynomial 0xEDB88320, reflected), once at boot.
# Clobbers a0, t0-t4 (a0 = 0 on return).
FUNC crc32_init
        la      t0, crc32_table
        li      t1, 0                           # t1 = index
        li      t4, 0xEDB88320
1:      mv      t2, t1
        li      t3, 8
2:      andi    a0, t2, 1                       # a0 is free here: restored below
        srli    t2, t2, 1
        beqz    a0, 3f
        xor     t2, t2, t4
3:      addi    t3, t3, -1
        bnez    t3, 2b
        sw      t2, 0(t0)
        addi    t0, t0, 4
        addi    t1, t1, 1
        li      t3, 256
        bltu    t1, t3, 1b
        li      a0, 0
        ret

        .bss
        .balign 4
        .globl  crc32_table
crc32_table:    .space 256 * 4
