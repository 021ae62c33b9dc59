"""Section placement: which memory region each section goes to, and at what address.

The rules live in `isa/layout.tbl`, the regions in `isa/memmap.tbl`; this module
only applies them. A section that does not fit its region is an error naming
the section, its size and the room left.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from isa.memmap import memory_map
from isa.tables import Problems, read_rows

TABLE_FILE = "layout.tbl"


@dataclass(frozen=True)
class Rule:
    pattern: str
    region: str
    align: int
    flags: str
    nobits: bool

    def matches(self, name: str) -> bool:
        if self.pattern.endswith("*"):
            return name.startswith(self.pattern[:-1])
        return name == self.pattern


def load(text: str, filename: str = TABLE_FILE) -> tuple[Rule, ...]:
    problems = Problems(filename)
    regions = {r.name for r in memory_map()}
    rules: list[Rule] = []
    for row in read_rows(text, {"sections"}, problems):
        tokens = row.tokens()
        if len(tokens) != 5:
            problems.add(row.line, "", "rule needs: pattern region align flags nobits")
            continue
        pattern, region, align, flags, nobits = tokens
        if region not in regions:
            problems.add(row.line, pattern, f"no memory region named '{region}'")
        if not align.isdigit() or int(align) & (int(align) - 1) or int(align) == 0:
            problems.add(row.line, pattern, f"align '{align}' is not a power of two")
            continue
        rules.append(Rule(pattern, region, int(align), flags, nobits == "yes"))
    problems.raise_if_any()
    return tuple(rules)


@cache
def rules() -> tuple[Rule, ...]:
    text = resources.files("isa").joinpath(TABLE_FILE).read_text(encoding="utf-8")
    return load(text)


def rule_for(name: str) -> Rule:
    for rule in rules():
        if rule.matches(name):
            return rule
    return Rule("*", "dtcm", 4, "aw", False)


def place(sections: list[tuple[str, int, int, bool]], config: str = "default"
          ) -> tuple[dict[str, int], list[str]]:
    """Addresses for (name, size, align, nobits) sections in first-use order; also overflow messages."""
    regions = {r.name: r for r in memory_map(config)}
    order = {rule.pattern: i for i, rule in enumerate(rules())}
    keyed = sorted(enumerate(sections),
                   key=lambda item: (item[1][3], order.get(rule_for(item[1][0]).pattern, 99), item[0]))
    cursor: dict[str, int] = {}
    addrs: dict[str, int] = {}
    problems: list[str] = []
    for _, (name, size, align, _nobits) in keyed:
        rule = rule_for(name)
        region = regions[rule.region]
        here = cursor.get(region.name, region.base)
        step = max(align, rule.align)
        here = (here + step - 1) // step * step
        addrs[name] = here
        end = here + size
        if end > region.end:
            room = max(region.end - here, 0)
            problems.append(f"section {name} ({size} bytes) does not fit region {region.name} "
                            f"({region.size} bytes at {region.base:#x}; {room} bytes left at {here:#x})")
        cursor[region.name] = end
    return addrs, problems
