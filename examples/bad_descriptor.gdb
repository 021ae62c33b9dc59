# Find where the firmware rejects a bad descriptor.
#   npudbg --batch --workload examples/bad_descriptor.py -x examples/bad_descriptor.gdb
#
# Every command ends in `complete` (firmware/src/ring.S) with the status in a1 and the
# detail in a2 (the offending address, or a rejected field's byte offset in the
# descriptor). Stop only when the status is not OK:
break complete if $a1 != 0
run
# Who decided? The backtrace goes back to the handler's caller, and `info queue`
# decodes the descriptor the firmware took, field by field:
bt
info queue 0
print $a1
print/x $a2
# The firmware's copy of the descriptor it served, in DTCM:
x/8wx cmd_desc
check $a1 != 0
continue
