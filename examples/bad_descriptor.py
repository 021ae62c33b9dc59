"""A host program with a bug: it asks COPY for 64 MiB between two 4 KiB buffers.

The source and destination ranges then overlap, and the firmware must reject the
descriptor with a status and the offending address; `bad_descriptor.gdb` finds where.
"""

from __future__ import annotations

import driver
from driver.errors import CommandFailed


def main() -> None:
    with driver.open() as dev:
        src = dev.ctx.alloc(4096)
        dst = dev.ctx.alloc(4096)
        cmd = dev.submit("COPY", src=src.addr, dst=dst.addr, size=64 << 20)  # 64 MiB: the bug
        try:
            cmd.wait()
        except CommandFailed as exc:
            print(f"the device refused the copy: {exc}")


if __name__ == "__main__":
    main()
