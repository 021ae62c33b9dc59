"""The cycle model of the units, in one place: what each instruction costs in unit cycles.

- DMA: a fixed start-up latency per route plus bytes moved / bandwidth (bytes per cycle).
  HBM is the slow side; on-chip buffer moves are wide. Transforms move at the same rate
  (im2col is charged for the bytes it writes, since patches repeat input bytes).
- Cube: one 16x16x16 fractal per cycle for fp16, two for int8 and four for int4 (the
  same multiplier array packs narrower operands), plus a pipeline fill latency; every
  dimension is rounded up to a whole fractal.
- Vector: 256 bytes of the widest operand per cycle (64 fp32, 128 fp16, 256 int8
  elements) plus a start-up latency.
Costs are in cycles of the unit clock; the pipe model turns them into ticks.
"""

from __future__ import annotations

FRACTAL = 16

# route (source region, destination region) -> (start-up cycles, bytes per cycle)
DMA_ROUTE_COST: dict[tuple[str, str], tuple[int, int]] = {
    ("hbm", "l1"): (200, 64),
    ("hbm", "l0a"): (200, 64),
    ("hbm", "l0b"): (200, 64),
    ("hbm", "ub"): (200, 64),
    ("l1", "l1"): (20, 128),
    ("l1", "l0a"): (20, 256),
    ("l1", "l0b"): (20, 256),
    ("l1", "ub"): (20, 128),
    ("l0c", "ub"): (20, 256),
    ("ub", "hbm"): (200, 64),
    ("ub", "l1"): (20, 128),
}

CUBE_FRACTALS_PER_CYCLE = {"fp16": 1, "int8": 2, "int4": 4}
CUBE_FILL_CYCLES = 16

VECTOR_BYTES_PER_CYCLE = 256
VECTOR_START_CYCLES = 8


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def dma_cycles(route: tuple[str, str], nbytes: int) -> int:
    start, width = DMA_ROUTE_COST[route]
    return start + _ceil_div(nbytes, width)


def cube_cycles(m: int, k: int, n: int, dtype: str) -> int:
    fractals = _ceil_div(m, FRACTAL) * _ceil_div(k, FRACTAL) * _ceil_div(n, FRACTAL)
    return CUBE_FILL_CYCLES + _ceil_div(fractals, CUBE_FRACTALS_PER_CYCLE[dtype])


def vector_cycles(count: int, widest_element_bytes: int) -> int:
    return VECTOR_START_CYCLES + _ceil_div(count * widest_element_bytes, VECTOR_BYTES_PER_CYCLE)
