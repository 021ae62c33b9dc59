"""The XML documents gdb reads with qXfer: the target description and the memory map.

Both are derived, never written by hand: `target.xml` from the register table
(`isa/registers.tbl`, through `debugger.stops.gdb_registers`) — the general registers
and pc in `org.gnu.gdb.riscv.cpu`, the CSRs in `org.gnu.gdb.riscv.csr` at gdb's
numbers (65 + CSR number) — and the memory map from `isa/memmap.tbl` for the
session's device configuration. `xfer_chunk` serves a piece of either as qXfer
asks for it (`m` more to come, `l` last).
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from debugger.gdb.rsp import escape
from debugger.stops import gdb_registers
from isa.registers import GDB_PC, register_table

ARCHITECTURE = "riscv:rv32"
XLEN = 32
# gdb's own RISC-V descriptions type the pointer registers so `p $sp` and `x/i $pc` look right.
_TYPES = {"pc": "code_ptr", "ra": "code_ptr", "sp": "data_ptr", "gp": "data_ptr", "tp": "data_ptr",
          "s0": "data_ptr"}


def _reg(name: str, number: int, kind: str = "int", group: str | None = None) -> str:
    extra = f" group={quoteattr(group)}" if group else ""
    return f'    <reg name={quoteattr(name)} bitsize="{XLEN}" type="{kind}" regnum="{number}"{extra}/>'


def target_xml() -> str:
    """The target description: architecture, the cpu feature (x0..x31, pc) and the csr feature."""
    table = register_table()
    csr_numbers = {c.gdb_number for c in table.csrs}
    cpu = [_reg(name, n, _TYPES.get(name, "int")) for n, name in gdb_registers() if n <= GDB_PC]
    csr = [_reg(name, n, "int", "csr") for n, name in gdb_registers() if n in csr_numbers]
    return "\n".join([
        '<?xml version="1.0"?>',
        '<!DOCTYPE target SYSTEM "gdb-target.dtd">',
        "<!-- GENERATED from isa/registers.tbl by debugger.gdb.tdesc -->",
        '<target version="1.0">',
        f"  <architecture>{ARCHITECTURE}</architecture>",
        '  <feature name="org.gnu.gdb.riscv.cpu">',
        *cpu,
        "  </feature>",
        '  <feature name="org.gnu.gdb.riscv.csr">',
        *csr,
        "  </feature>",
        "</target>",
        "",
    ])


def memory_map_xml(config: str = "default") -> str:
    """gdb's memory map: every region of the device map (gdb refuses accesses outside them)."""
    from isa.memmap import memory_map

    rows = []
    for r in memory_map(config):
        rows.append(f"  <!-- {r.name} ({r.kind}, {r.perms}) -->")
        rows.append(f'  <memory type="ram" start="0x{r.base:x}" length="0x{r.size:x}"/>')
    return "\n".join([
        '<?xml version="1.0"?>',
        '<!DOCTYPE memory-map PUBLIC "+//IDN gnu.org//DTD GDB Memory Map V1.0//EN" '
        '"http://sourceware.org/gdb/gdb-memory-map.dtd">',
        f"<!-- GENERATED from isa/memmap.tbl ({config} configuration) by debugger.gdb.tdesc -->",
        "<memory-map>",
        *rows,
        "</memory-map>",
        "",
    ])


def xfer_chunk(document: str, offset: int, length: int) -> bytes:
    """The qXfer reply for `length` bytes at `offset`: `m` + data when more follows, else `l` + data."""
    data = document.encode("utf-8")
    piece = data[offset:offset + length]
    more = offset + length < len(data)
    return (b"m" if more else b"l") + escape(piece)
