"""The NPU's compute and data-movement units, as numpy on zero-copy views of device memory.

One module per job: `memory` (views and bounds), `faults` (the device error), `descriptor`
(the DMA descriptor layout), `layout` (tensor layout transforms), `costs` (the cycle model),
`convert` (fast fp16 conversion), and one module per unit: `dma`, `cube`, `vector`.
Every unit splits an instruction into a `Plan` (validated at issue, with the byte ranges it
reads and writes and its cycle cost) and the plan's `execute()` (the numpy work), so that
the pipe model decides when results become visible.
"""
