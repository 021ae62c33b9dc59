# Command dispatch: opcode checks and the call of handle_<command>.
#
# Handler calling convention (every handle_* follows it):
#   a0 = DTCM address of the copy of the descriptor (cmd_desc; header already checked),
#   a1 = the ABI generation in use (ABI_GEN1 / ABI_GEN2).
#   Returns a0 = status (ST_*), a1 = the value (CHECKSUM's CRC; 0 otherwise) or, on an
#   error, the detail: the offending address or descriptor byte offset.
#   Standard RISC-V convention: s0-s11 preserved, ra saved in the handler's frame, s0
#   the frame pointer (ENTER / LEAVE). Handlers pet the watchdog in long loops and wait
#   for their units (npu.barrier) before returning: the command is complete on return.
#   Argument offsets: cmd_args_off holds the argument area's offset for the generation;
#   ARG_<OP>_<FIELD> (cmd_gen.inc) are relative to it.

        .text
# dispatch(a0 = descriptor copy, a1 = generation) -> a0 = status, a1 = value or detail.
# BAD_OPCODE when the opcode is not defined in this generation (detail: the opcode field's
# offset); UNSUPPORTED when it needs a feature this release lacks; else the handler's result.
FUNC dispatch
        ENTER   16
        li      t2, DESC_ARGS_ABI1
        lbu     t0, DESC1_OPCODE(a0)
        li      t3, DESC1_OPCODE
        li      t1, ABI_GEN1
        beq     a1, t1, 1f
        li      t2, DESC_ARGS_ABI2
        lhu     t0, DESC2_OPCODE(a0)
        li      t3, DESC2_OPCODE
1:      la      t1, cmd_args_off
        sw      t2, 0(t1)
        li      t1, OP_COUNT
        bgeu    t0, t1, 8f
        li      t1, CMD_ROW_BYTES
        mul     t1, t0, t1
        la      t2, cmd_table
        add     t2, t2, t1              # t2 = the opcode's row
        lw      t1, 4(t2)               # generations that define it
        srl     t1, t1, a1
        andi    t1, t1, 1
        beqz    t1, 8f
        lw      t1, 8(t2)               # features it needs
        li      t4, FW_FEATURES
        and     t4, t4, t1
        bne     t4, t1, 7f
        lw      t1, 0(t2)
        jalr    t1
        LEAVE   16
7:      li      a0, ST_UNSUPPORTED
        mv      a1, t3
        LEAVE   16
8:      li      a0, ST_BAD_OPCODE
        mv      a1, t3
        LEAVE   16

# handle_bad_opcode: a hole in the opcode numbering.
FUNC handle_bad_opcode
        li      a0, ST_BAD_OPCODE
        li      a1, 0
        ret

# Stubs for the commands no included file implements yet: UNSUPPORTED.
.macro CMD_STUB name
.ifndef handle_\name
FUNC handle_\name
        li      a0, ST_UNSUPPORTED
        li      a1, 0
        ret
.endif
.endm
        CMD_EACH CMD_STUB

        .rodata
        .balign 4
        .globl  cmd_table
cmd_table:                              # per opcode: handler, generation mask, feature mask
        CMD_TABLE_ROWS

        .bss
        .balign 4
        .globl  cmd_args_off
cmd_args_off:   .word 0                 # DESC_ARGS_ABI<g> of the command being served
