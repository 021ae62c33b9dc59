# Shared checks of descriptor arguments. Never trust a descriptor: every address a
# command touches is checked to lie inside HBM and be aligned, every size product is
# checked for 32-bit overflow, outputs are checked not to overlap inputs.
#
# All functions follow the calling convention: arguments in a0-a3, status in a0 (an ST_*
# code), detail in a1 (the offending address, or the descriptor byte offset the caller
# named); they clobber only a0-a3 and t0-t2.

        .text
# check_hbm_range(a0 = addr, a1 = size) -> a0 = ST_OK when [addr, addr + size) lies inside
# HBM (size 0: addr inside HBM), else ST_BAD_ADDRESS; a1 = addr. The HBM size is the
# device's (fw_hbm_size, read at boot), not the default configuration's.
FUNC check_hbm_range
        ENTER   16
        li      t0, MEM_HBM_BASE
        sub     t0, a0, t0              # offset into HBM (wraps to a huge value below it)
        la      t1, fw_hbm_size
        lw      t1, 0(t1)
        bgeu    t0, t1, 1f
        sub     t1, t1, t0              # room left after addr
        bgtu    a1, t1, 1f
        mv      a1, a0
        li      a0, ST_OK
        LEAVE   16
1:      mv      a1, a0
        li      a0, ST_BAD_ADDRESS
        LEAVE   16

# check_buffer(a0 = addr, a1 = size, a2 = descriptor offset of the size field) -> a0 status,
# a1 detail. In order: size 0 -> BAD_SIZE (detail a2); addr not a multiple of ADDR_ALIGN ->
# MISALIGNED (detail addr); not inside HBM -> BAD_ADDRESS (detail addr); else OK.
FUNC check_buffer
        ENTER   16
        bnez    a1, 1f
        li      a0, ST_BAD_SIZE
        mv      a1, a2
        LEAVE   16
1:      andi    t0, a0, ADDR_ALIGN - 1
        beqz    t0, 2f
        mv      a1, a0
        li      a0, ST_MISALIGNED
        LEAVE   16
2:      call    check_hbm_range
        LEAVE   16

# check_disjoint(a0 = a, a1 = a_size, a2 = b, a3 = b_size) -> a0 = ST_OK when the ranges do
# not overlap, else ST_OVERLAP; a1 = b. Both ranges must already be inside HBM.
FUNC check_disjoint
        ENTER   16
        add     t0, a0, a1              # a_end (no wrap: inside HBM)
        add     t1, a2, a3              # b_end
        bgeu    a2, t0, 1f              # b starts after a ends
        bgeu    a0, t1, 1f              # a starts after b ends
        mv      a1, a2
        li      a0, ST_OVERLAP
        LEAVE   16
1:      mv      a1, a2
        li      a0, ST_OK
        LEAVE   16

# mul_checked(a0 = x, a1 = y) -> a0 = x * y (low 32 bits), a1 = 1 when the product needs
# more than 32 bits, else 0.
FUNC mul_checked
        ENTER   16
        mulhu   t0, a0, a1
        mul     a0, a0, a1
        snez    a1, t0
        LEAVE   16

# arg_detail(a0 = argument offset) -> a0 = its byte offset in the current descriptor
# (the argument area's start for the generation in use, plus a0).
FUNC arg_detail
        la      t0, cmd_args_off
        lw      t0, 0(t0)
        add     a0, a0, t0
        ret
