# Watch a queue pointer: stop each time the firmware takes a descriptor off queue 0
# (it advances QUEUE0.SQ_HEAD), with the old and new value and the instruction that
# wrote it.
#   npudbg --batch --workload nop -x examples/watch_queue.gdb
watch QUEUE0.SQ_HEAD
run
bt
info queue 0
continue
continue
info queue 0
