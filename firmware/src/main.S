# NPU control-core firmware: the top file of the build.
#
# Assembled once per release by scripts/build_firmware.py, which passes the release's
# facts as --defsym symbols (firmware/releases.py: Release.defsyms): FW_VERSION (and
# _MAJOR/_MINOR/_PATCH), FW_ABI_MASK, SPEAKS_ABI<g>, FW_FEATURES, HAS_<FEATURE>,
# FW_DRIVER_MIN/FW_DRIVER_MAX (packed like the version register) and every build flag of
# releases.toml (DOUBLE_BUFFER, ELTWISE_MAX_TAIL_BUG, ...). This file turns them into the
# image's manifest note and includes the rest of the firmware in a fixed order:
# start.S first, so that _start sits at the reset address (ITCM base).

        .include "abi_gen.inc"
        .include "regs_gen.inc"
        .include "dma_gen.inc"
        .include "cmd_gen.inc"
        .include "xnpu.inc"

        .bss
        .balign 16
bss_start:                              # start.S clears bss_start .. bss_end

        .include "start.S"
        .include "trap.S"
        .include "ring.S"
        .include "validate.S"
        .include "cmd_basic.S"
        .include "cmd_copy.S"

# Operator handlers, one file per operator family (ops_*.S), listed here as they land.
# dispatch.S comes after them: it answers UNSUPPORTED for any handler none defines.
        .include "ops_common.S"
        .include "ops_matmul.S"
        .include "ops_conv2d.S"
        .include "ops_eltwise.S"
        .include "ops_quant.S"

        .include "dispatch.S"

        .bss
        .balign 16
bss_end:

        .entry  _start

# ---------------------------------------------------------------- manifest
# The note's entries, in the order of firmware/releases.py MANIFEST_KEYS, formatted from
# the --defsym values by the macros below (the assembler has no number-to-text operator,
# so the digits are picked one at a time by recursive macros).

# _MF_DEC key, acc, value, div, started, next, v: append the decimal digits of `value`
# (0..255) to the text `acc`, from the place `div` (100) down, without leading zeros;
# then continue with the macro _MF_NEXT_<next> key, acc, v.
.macro _MF_DEC key, acc, value, div, started, next, v
.if (\div) == 0
        _MF_NEXT_\next \key, \acc, \v
.elseif ((((\value) / (\div)) % 10) == 0) && ((\started) == 0) && ((\div) != 1)
        _MF_DEC \key, \acc, \value, (\div)/10, 0, \next, \v
.else
        _MF_DIGIT \key, \acc, \value, \div, \next, \v, ((\value)/(\div))%10
.endif
.endm

.macro _MF_DIGIT key, acc, value, div, next, v, d
.irp digit, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
.if (\d) == \digit
        _MF_DEC \key, \acc\()\digit, \value, (\div)/10, 1, \next, \v
.endif
.endr
.endm

# A packed version (major[23:16] minor[15:8] patch[7:0]) as MAJOR.MINOR.PATCH.
.macro MANIFEST_VERSION key, v
        _MF_DEC \key, , ((\v)>>16)&255, 100, 0, minor, \v
.endm
.macro _MF_NEXT_minor key, acc, v
        _MF_DEC \key, \acc\().,((\v)>>8)&255, 100, 0, patch, \v
.endm
.macro _MF_NEXT_patch key, acc, v
        _MF_DEC \key, \acc\().,(\v)&255, 100, 0, done, \v
.endm
.macro _MF_NEXT_done key, acc, v
        .manifest \key, "\acc"
.endm

# A 32-bit mask as 0x%08x: eight hex digits, most significant first.
.macro MANIFEST_HEX key, v, places=8, acc=0x
.if (\places) == 0
        .manifest \key, "\acc"
.else
.irp digit, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, a, b, c, d, e, f
.if (((\v) >> (4 * ((\places) - 1))) & 15) == 0x\digit
        MANIFEST_HEX \key, \v, (\places)-1, \acc\()\digit
.endif
.endr
.endif
.endm

.if FW_ABI_MASK & ~((1 << ABI_GEN1) | (1 << ABI_GEN2))
        .error "manifest: a new ABI generation; list it in the abi entry below"
.endif
        MANIFEST_VERSION version, FW_VERSION
.if SPEAKS_ABI1 && SPEAKS_ABI2
        .manifest abi, "1,2"
.elseif SPEAKS_ABI1
        .manifest abi, "1"
.else
        .manifest abi, "2"
.endif
        MANIFEST_VERSION driver_min, FW_DRIVER_MIN
        MANIFEST_VERSION driver_max, FW_DRIVER_MAX
        MANIFEST_HEX features, FW_FEATURES
