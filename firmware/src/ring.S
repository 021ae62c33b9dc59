# The command loop: sleep until a doorbell, drain the submission rings, complete.
#
# Ring registers (queue0 / queue1 blocks of npu.rdl) are re-read for every descriptor,
# so the driver may set up or move its rings between commands. A ring is served when its
# queue is enabled, its size is non-zero and both rings lie inside HBM, aligned to 4.
# ABI 1 serves queue0 only; ABI 2 serves queue1 (high priority) before queue0, one
# descriptor at a time, so a high-priority command waits for at most one other.
#
# Per descriptor: copy it to cmd_desc (DTCM), consume it (sq_head), check the header,
# dispatch, then write the completion entry (command id, status, opcode, modeled
# cycles from mcycle, value / detail), advance cq_tail and raise the queue's host IRQ
# (ABI 1: always; ABI 2: when the descriptor's irq flag is set). A command during which
# the device logged an error (errlog.count moved) completes with DEVICE_ERROR.
#
# Every failed command also gets an entry in cmd_errlog (DTCM, CMD_LOG_ENTRIES entries
# of CL_SIZE bytes, oldest overwritten; cmd_errlog_count counts them all): command id,
# status | opcode << 16, detail, queue | generation << 8. With feature cmd_errlog, a
# command the firmware rejected (any failure but DEVICE_ERROR, whose device error is
# logged already) also gets a device error-log entry through fw_err.log, which does not
# interrupt the host: cause cmd_rejected, status its status code, addr its detail. The
# entry is written after the command's errlog.count check, so it never turns the command
# (or the next one) into DEVICE_ERROR.
#
# ABI 2's fence flag needs no work: commands run one at a time, each drained before it
# completes, so every command taken earlier (from either queue) is done when one starts.

.equ Q_STRIDE, R_QUEUE1_SQ_BASE - R_QUEUE0_SQ_BASE
.equ Q_SQ_BASE, R_QUEUE0_SQ_BASE - R_QUEUE0_SQ_BASE
.equ Q_SQ_SIZE, R_QUEUE0_SQ_SIZE - R_QUEUE0_SQ_BASE
.equ Q_SQ_HEAD, R_QUEUE0_SQ_HEAD - R_QUEUE0_SQ_BASE
.equ Q_SQ_TAIL, R_QUEUE0_SQ_TAIL - R_QUEUE0_SQ_BASE
.equ Q_CQ_BASE, R_QUEUE0_CQ_BASE - R_QUEUE0_SQ_BASE
.equ Q_CQ_SIZE, R_QUEUE0_CQ_SIZE - R_QUEUE0_SQ_BASE
.equ Q_CQ_HEAD, R_QUEUE0_CQ_HEAD - R_QUEUE0_SQ_BASE
.equ Q_CQ_TAIL, R_QUEUE0_CQ_TAIL - R_QUEUE0_SQ_BASE
.equ Q_ENABLE, R_QUEUE0_ENABLE - R_QUEUE0_SQ_BASE
.equ CMD_LOG_ENTRIES, 16
.equ CL_ID, 0
.equ CL_STATUS, 4
.equ CL_DETAIL, 8
.equ CL_QUEUE, 12
.equ CL_SIZE, 16
.equ FC_OK, 0
.equ FC_ERR, 4
.equ FC_BUSY, 8
.equ DESC_MAX, 64                       # the largest descriptor of any generation
.equ DESC2_FLAGS_KNOWN, DESC_FLAGS_IRQ | DESC_FLAGS_FENCE

        .text
# main_loop: the firmware's idle loop; never returns.
# Assumes: boot done (mtvec, mie.MEIE, core_irq.enable set).
# Guarantees: sleeps only with irq_events empty and the watchdog just petted; a handshake
# event is handled before any ring; the rings are drained only after an accepted handshake.
FUNC main_loop
        li      s0, 0                   # the outermost frame
1:      csrci   mstatus, MSTATUS_MIE
        la      t0, irq_events
        lw      s1, 0(t0)
        sw      x0, 0(t0)
        bnez    s1, 2f
        PET_WDOG t0, t1
        wfi                             # wakes on a pending enabled interrupt even with MIE clear
        csrsi   mstatus, MSTATUS_MIE    # take it now: trap_entry fills irq_events
        j       1b
2:      andi    t0, s1, F_CORE_IRQ_PENDING_HANDSHAKE_MASK
        beqz    t0, 3f
        call    handshake
3:      la      t0, fw_abi
        lw      t0, 0(t0)
        beqz    t0, 1b                  # no accepted ABI: doorbells wait for the handshake
        call    drain_rings
        j       1b

# drain_rings(): serve descriptors until every served ring is empty.
# Clobbers a0-a7, t0-t6.
FUNC drain_rings
        ENTER   16
1:      la      t0, fw_abi
        lw      t0, 0(t0)
        li      t1, ABI_GEN2
        bne     t0, t1, 2f
.if HAS_PRIORITY_QUEUE
        li      a0, 1                   # ABI 2: the high-priority queue first
        call    serve_one
        bnez    a0, 1b
.endif
2:      li      a0, 0
        call    serve_one
        bnez    a0, 1b
        LEAVE   16

# serve_one(a0 = queue index) -> a0 = 1 when a descriptor was served, 0 when the ring is
# empty, disabled or not set up. Clobbers a1-a7, t0-t6.
FUNC serve_one
        ENTER   48
        SAVE_S  8
        mv      s7, a0                  # s7 = queue index
        li      t0, Q_STRIDE
        mul     t0, t0, a0
        li      s1, R_QUEUE0_SQ_BASE
        add     s1, s1, t0              # s1 = this queue's register block
        li      a0, 0
        lw      t0, Q_ENABLE(s1)
        andi    t0, t0, F_QUEUE0_ENABLE_ENABLE_MASK
        beqz    t0, 9f
        lw      s2, Q_SQ_HEAD(s1)       # s2 = head
        lw      t1, Q_SQ_TAIL(s1)
        beq     s2, t1, 9f
        la      t0, fw_abi
        lw      s8, 0(t0)               # s8 = ABI generation
        li      s3, DESC1_SIZE          # s3 = descriptor size
        li      t0, ABI_GEN1
        beq     s8, t0, 1f
        li      s3, DESC2_SIZE
1:      lw      a0, Q_SQ_BASE(s1)
        lw      a1, Q_SQ_SIZE(s1)
        bgeu    s2, a1, 8f              # covers size 0 as well
        bgeu    t1, a1, 8f
        mv      a2, s3
        call    check_ring
        bnez    a0, 8f
        lw      a0, Q_CQ_BASE(s1)
        lw      a1, Q_CQ_SIZE(s1)
        lw      t1, Q_CQ_TAIL(s1)
        bgeu    t1, a1, 8f
        li      a2, CQE1_SIZE
        li      t0, ABI_GEN1
        beq     s8, t0, 2f
        li      a2, CQE2_SIZE
2:      call    check_ring
        bnez    a0, 8f
        lw      t0, Q_SQ_BASE(s1)       # copy the descriptor to DTCM
        mul     t1, s2, s3
        add     t0, t0, t1
        la      t2, cmd_desc
        add     t3, t2, s3
3:      lw      t1, 0(t0)
        sw      t1, 0(t2)
        addi    t0, t0, 4
        addi    t2, t2, 4
        bltu    t2, t3, 3b
        addi    s2, s2, 1               # consume it
        lw      t0, Q_SQ_SIZE(s1)
        bltu    s2, t0, 4f
        li      s2, 0
4:      sw      s2, Q_SQ_HEAD(s1)
        PET_WDOG t0, t1
        REG_RD  s6, R_ERRLOG_COUNT      # s6 = device errors so far
5:      csrr    s5, mcycleh             # s4:s5 = mcycle at the start (lo:hi)
        csrr    s4, mcycle
        csrr    t0, mcycleh
        bne     t0, s5, 5b
        la      a0, cmd_desc
        mv      a1, s8
        mv      a2, s7
        call    run_command             # a0 = status, a1 = value or detail
        mv      s2, a0
        mv      s3, a1
6:      csrr    t1, mcycleh             # cycles = now - start (64 bits) -> a4:a5
        csrr    t0, mcycle
        csrr    t2, mcycleh
        bne     t1, t2, 6b
        sub     a4, t0, s4
        sltu    t3, t0, s4
        sub     a5, t1, s5
        sub     a5, a5, t3
        bnez    s2, 7f                  # an OK command during which a unit faulted failed
        REG_RD  t0, R_ERRLOG_COUNT
        beq     t0, s6, 7f
        li      s2, ST_DEVICE_ERROR
        REG_RD  t0, R_ERRLOG_WRITE_IDX  # detail: the address of the newest error-log entry
        addi    t0, t0, -1
        andi    t0, t0, 7
        li      t1, R_ERRLOG_ENTRY1_ADDR - R_ERRLOG_ENTRY0_ADDR
        mul     t0, t0, t1
        li      t1, R_ERRLOG_ENTRY0_ADDR
        add     t0, t0, t1
        lw      s3, 0(t0)
7:      mv      a0, s1
        mv      a1, s2
        mv      a2, s3
        mv      a3, s7
        call    complete
        li      a0, 1
        j       9f
8:      li      a0, 0                   # a ring outside HBM: not served (the driver's bug)
9:      RESTORE_S 8
        LEAVE   48

# check_ring(a0 = base, a1 = entries, a2 = entry size) -> a0 = 0 when the ring lies inside
# HBM with base aligned to 4 and at least one entry, else 1. Clobbers a1, t0.
FUNC check_ring
        ENTER   16
        beqz    a1, 1f
        andi    t0, a0, 3
        bnez    t0, 1f
        mulhu   t0, a1, a2
        bnez    t0, 1f
        mul     a1, a1, a2
        call    check_hbm_range
        snez    a0, a0
        LEAVE   16
1:      li      a0, 1
        LEAVE   16

# run_command(a0 = descriptor copy, a1 = generation, a2 = queue) -> a0 = status, a1 = value
# or detail. Checks what the ring knows about the header (ABI 2: queue field, flags,
# reserved bytes; ABI 1: reserved bytes), then calls dispatch.
FUNC run_command
        ENTER   16
        li      t0, ABI_GEN1
        bne     a1, t0, 2f
        lbu     t0, 1(a0)               # ABI 1: bytes 1..3 are reserved
        li      t1, 1
        bnez    t0, 7f
        lhu     t0, 2(a0)
        li      t1, 2
        bnez    t0, 7f
        j       5f
2:      lbu     t0, DESC2_QUEUE(a0)
        li      t1, DESC2_QUEUE
        bne     t0, a2, 7f
        lbu     t0, DESC2_QUEUE + 1(a0)
        li      t1, DESC2_QUEUE + 1
        bnez    t0, 7f
        lw      t0, DESC2_FLAGS(a0)
        li      t1, DESC2_FLAGS
        andi    t0, t0, ~DESC2_FLAGS_KNOWN
        bnez    t0, 7f
        lw      t0, DESC2_FLAGS + 4(a0)
        li      t1, DESC2_FLAGS + 4
        bnez    t0, 7f
5:      call    dispatch
        LEAVE   16
7:      li      a0, ST_BAD_PARAM
        mv      a1, t1
        LEAVE   16

# complete(a0 = queue register block, a1 = status, a2 = value or detail, a3 = queue index,
# a4:a5 = cycles) writes the completion entry for cmd_desc, advances cq_tail, counts the
# command and raises the host IRQ. Waits (petting the watchdog) while the completion
# ring is full. Clobbers a0-a7, t0-t6.
FUNC complete
        ENTER   16
        mv      a6, a0
1:      lw      t0, Q_CQ_TAIL(a6)       # t0 = tail, t1 = next tail
        lw      t2, Q_CQ_SIZE(a6)
        addi    t1, t0, 1
        bltu    t1, t2, 2f
        li      t1, 0
2:      lw      t3, Q_CQ_HEAD(a6)
        bne     t1, t3, 3f
        PET_WDOG t3, t4                 # full: wait for the host to take entries
        j       1b
3:      la      t4, fw_abi
        lw      t4, 0(t4)
        la      a7, cmd_desc
        lw      t5, Q_CQ_BASE(a6)
        li      t6, ABI_GEN1
        bne     t4, t6, 5f
        slli    t6, t0, 4               # ABI 1 entry (CQE1_SIZE = 16)
        .if CQE1_SIZE != 16
        .error "complete: ABI 1 completion size changed"
        .endif
        add     t5, t5, t6
        lw      t6, DESC1_COMMAND_ID(a7)
        sw      t6, CQE1_COMMAND_ID(t5)
        lbu     t6, DESC1_OPCODE(a7)
        slli    t6, t6, 16
        or      t6, t6, a1              # status u16 @4, opcode u8 @6, reserved byte @7
        sw      t6, CQE1_STATUS(t5)
        sw      a4, CQE1_CYCLES(t5)
        sw      a2, CQE1_VALUE(t5)
        li      t6, 1                   # ABI 1 always raises the queue's IRQ
        j       6f
5:      slli    t6, t0, 5               # ABI 2 entry (CQE2_SIZE = 32)
        .if CQE2_SIZE != 32
        .error "complete: ABI 2 completion size changed"
        .endif
        add     t5, t5, t6
        lw      t6, DESC2_COMMAND_ID(a7)
        sw      t6, CQE2_COMMAND_ID(t5)
        lhu     t6, DESC2_OPCODE(a7)
        slli    t6, t6, 16
        or      t6, t6, a1
        sw      t6, CQE2_STATUS(t5)     # status u16 @4, opcode u16 @6
        sw      a4, CQE2_CYCLES(t5)
        sw      a5, CQE2_CYCLES + 4(t5)
        mv      t6, a2                  # value on success, detail on an error
        li      t4, 0
        beqz    a1, 4f
        mv      t4, a2
        li      t6, 0
4:      sw      t6, CQE2_VALUE(t5)
        sw      t4, CQE2_DETAIL(t5)
        sw      a3, CQE2_QUEUE(t5)      # queue u8 @24, reserved bytes 25..31 zero
        sw      x0, CQE2_QUEUE + 4(t5)
        lw      t6, DESC2_FLAGS(a7)
        andi    t6, t6, DESC_FLAGS_IRQ
6:      sw      t1, Q_CQ_TAIL(a6)       # publish
        la      t2, fw_counters         # commands_ok / commands_err / busy cycles
        li      t3, FC_OK
        beqz    a1, 5f
        li      t3, FC_ERR
5:      add     t3, t3, t2
        lw      t4, 0(t3)
        addi    t4, t4, 1
        sw      t4, 0(t3)
        lw      t4, FC_BUSY(t2)
        lw      t5, FC_BUSY + 4(t2)
        add     a4, t4, a4
        sltu    t4, a4, t4
        add     a5, t5, a5
        add     a5, a5, t4
        sw      a4, FC_BUSY(t2)
        sw      a5, FC_BUSY + 4(t2)
        beqz    a1, 7f
        mv      a4, t6                  # a failed command: log it (a4 keeps the IRQ decision)
        call    log_cmd_error
        mv      t6, a4
7:      beqz    t6, 8f
        li      t0, F_HOST_IRQ_RAISE_CQ0_MASK
        sll     t0, t0, a3              # cq1 is the next bit
        REG_WR  R_HOST_IRQ_RAISE, t0, t1
8:      LEAVE   16

# log_cmd_error(a1 = status, a2 = detail, a3 = queue): append the failed command in
# cmd_desc to cmd_errlog (and, with cmd_errlog, a rejection to the device error log).
# Clobbers t0-t5.
FUNC log_cmd_error
        ENTER   16
        la      t0, cmd_errlog_count
        lw      t1, 0(t0)
        addi    t2, t1, 1
        sw      t2, 0(t0)
        andi    t1, t1, CMD_LOG_ENTRIES - 1
        slli    t1, t1, 4
        .if CL_SIZE != 16
        .error "log_cmd_error: entry size changed"
        .endif
        la      t0, cmd_errlog
        add     t0, t0, t1              # t0 = the entry
        la      t1, fw_abi
        lw      t1, 0(t1)
        la      t2, cmd_desc
        li      t3, ABI_GEN1
        bne     t1, t3, 1f
        lw      t4, DESC1_COMMAND_ID(t2)
        lbu     t5, DESC1_OPCODE(t2)
        j       2f
1:      lw      t4, DESC2_COMMAND_ID(t2)
        lhu     t5, DESC2_OPCODE(t2)
2:      sw      t4, CL_ID(t0)
        slli    t5, t5, 16
        or      t5, t5, a1
        sw      t5, CL_STATUS(t0)
        sw      a2, CL_DETAIL(t0)
        slli    t1, t1, 8
        or      t1, t1, a3
        sw      t1, CL_QUEUE(t0)
.if HAS_CMD_ERRLOG
        li      t0, ST_DEVICE_ERROR
        beq     a1, t0, 3f
        REG_WR  R_FW_ERR_ADDR, a2, t0   # device error log: cause cmd_rejected, status, detail
        slli    t1, a1, F_FW_ERR_CAUSE_STATUS_LSB
        li      t2, F_FW_ERR_CAUSE_STATUS_MASK
        and     t1, t1, t2
        ori     t1, t1, E_DEVICE_ERROR_CMD_REJECTED << F_FW_ERR_CAUSE_CAUSE_LSB
        REG_WR  R_FW_ERR_CAUSE, t1, t0
        li      t1, F_FW_ERR_LOG_TRIGGER_MASK
        REG_WR  R_FW_ERR_LOG, t1, t0    # no host IRQ: the completion tells the host
3:
.endif
        LEAVE   16

        .bss
        .balign 16
        .globl  cmd_desc
cmd_desc:       .space DESC_MAX         # the descriptor being served (handlers get its address)
        .globl  fw_abi
fw_abi:         .word 0                 # the accepted ABI generation, 0 before a handshake
        .balign 8
        .globl  fw_counters
fw_counters:    .space 16               # commands ok, commands failed, busy cycles (u64)
        .globl  cmd_errlog_count
cmd_errlog_count: .word 0               # failed commands since boot
        .balign 16
        .globl  cmd_errlog
cmd_errlog:     .space CMD_LOG_ENTRIES * CL_SIZE
