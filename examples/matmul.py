"""A host program: one fp16 matmul through the driver, checked against numpy.

It is an ordinary driver program: run it alone (`python examples/matmul.py`, a fresh
emulated device) or under the debugger, unmodified, where `driver.open()` attaches to
the session's device (`npudbg --workload examples/matmul.py`).
"""

from __future__ import annotations

import numpy as np

import driver


def main() -> None:
    rng = np.random.default_rng(7)
    a = rng.standard_normal((32, 48)).astype(np.float16)
    b = rng.standard_normal((48, 16)).astype(np.float16)
    with driver.open() as dev:
        c = dev.matmul(a, b)
    want = a.astype(np.float32) @ b.astype(np.float32)
    err = float(np.max(np.abs(c - want)))
    print(f"matmul 32x48 @ 48x16 on the NPU: max |error| vs numpy {err:.3g}")
    if err > 1e-2:
        raise SystemExit(f"matmul result differs from numpy by {err}")


if __name__ == "__main__":
    main()
