"""The debugger from Python: trace one CHECKSUM command's memory traffic with the Session API.

`debugger.Session` is what the shell runs on; a script can drive it directly, and
anything a command does is a method call or an `execute` line.

Run: python examples/trace_session.py
"""

from __future__ import annotations

import debugger.session
from debugger.trace import tracer


def main() -> None:
    s = debugger.session.Session(workload="checksum")
    s.execute("trace mem on crc32_table +1024")  # the CRC table the firmware's loop reads
    s.execute("run")
    rows = list(tracer(s).mem_rows())
    reads = sum(1 for r in rows if r["dir"] == "read")
    print(f"{reads} reads of crc32_table while the firmware checksummed 16 KiB")
    s.close()
    if reads < 16 * 1024:
        raise SystemExit("expected at least one table read per byte")


if __name__ == "__main__":
    main()
