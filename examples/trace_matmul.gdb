# Trace the MMIO traffic of one matmul, from the driver's doorbell to the completion
# interrupt, on both sides (host BAR0 accesses with their call sites, firmware accesses
# with their pc), and save it as an mmiotrace log, JSON lines and a Perfetto timeline.
#   npudbg --batch --workload examples/matmul.py -x examples/trace_matmul.gdb
#
# Stop when the driver rings the doorbell: the descriptor is in the ring, the firmware
# has not been told yet.
catch mmio write QUEUE0.SQ_DOORBELL host
run
info queue 0
# From here on record every register access, then let the matmul run to the end.
trace mmio on
delete
continue
trace show 25
trace save matmul.mmiotrace
trace save matmul.jsonl
# Open matmul-timeline.json in ui.perfetto.dev: one track per pipe, the driver's calls,
# and arrows from the doorbell to the firmware and from its interrupt to the host.
timeline save matmul-timeline.json
