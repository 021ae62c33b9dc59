"""Renderings of a matrix report: a terminal table, Markdown, JSON and JUnit XML.

The table and Markdown show one symbol per cell (colour on a terminal), a legend
and the findings under the matrix with their details; JUnit XML makes every cell
a test case (a finding is a failure, a known one is skipped as an expected failure)
so CI systems list the cells like a test suite.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from debugger.compat.report import MatrixReport

# outcome → (symbol, ANSI colour, legend)
STYLE: dict[str, tuple[str, str, str]] = {
    "works": ("✓", "32", "works as declared"),
    "known": ("!", "33", "declared compatible but fails: known issue (accepted)"),
    "fails": ("✗", "31", "declared compatible but fails (finding)"),
    "refused": ("·", "2", "declared incompatible and refused cleanly"),
    "unclean_refusal": ("‼", "35", "declared incompatible but the refusal was not clean (finding)"),
    "image_invalid": ("?", "31;1", "firmware image failed validation (finding)"),
    "missing": (" ", "0", "not run (interrupted, or in another shard)"),
}
FORMATS = ("table", "markdown", "json", "junit")


def _key(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "missing"
    if cell["outcome"] == "fails" and cell["known"]:
        return "known"
    return cell["outcome"]


def _mark(cell: dict[str, Any] | None) -> str:
    """The cell's symbol, plus a degraded/at-the-edge/forced hint from the verdict."""
    symbol = STYLE[_key(cell)][0]
    status = ((cell or {}).get("verdict") or {}).get("status", "")
    if cell is not None and cell["outcome"] in ("works", "fails"):
        hint = {"degraded": "d", "compatible_with_warning": "w"}.get(status, "")
        if (cell.get("verdict") or {}).get("forced"):
            hint = "f"
        return symbol + hint
    return symbol


def _known_lines(ids: list[str]) -> list[str]:
    """What firmware/known_issues.toml says of each known issue id."""
    from firmware.releases import release_line

    rows = {i.id: i for i in release_line().issues}
    return [f"known issue {i}: {rows[i].operator} when {rows[i].condition}; fixed in {rows[i].fixed_in}"
            for i in ids if i in rows]


def _finding_lines(cell: dict[str, Any]) -> list[str]:
    head = f"driver {cell['driver']} × firmware {cell['column']}: {STYLE[_key(cell)][2]}"
    if cell["known"]:
        head += f" [{', '.join(cell['known'])}]"
    lines = [head, f"    declared: {cell['declared'] or 'no verdict'}"]
    lines += [f"    {text}" for text in _known_lines(cell["known"])]
    failed = [w for w in cell["workloads"] if w["status"] == "fail"]
    for w in failed:
        lines.append(f"    workload {w['name']}: {w['detail']}")
        for m in w.get("mismatches", []):
            if m.get("expected"):
                lines.append(f"      {m['what']}: expected {m['expected']}, actual {m['actual']}")
        if w.get("errlog"):
            lines.append(f"      device error log: {'; '.join(w['errlog'])}")
        elif w["name"] != "bring-up":
            lines.append("      device error log: empty")
    if not failed:
        lines.append(f"    {cell['detail']}")
    return lines


def table(report: MatrixReport, colour: bool = False) -> str:
    """Rows = drivers, columns = firmware; legend and findings below."""
    def paint(text: str, key: str) -> str:
        return f"\x1b[{STYLE[key][1]}m{text}\x1b[0m" if colour else text

    width = max([8] + [len(f) for f in report.firmware]) + 1
    lines = ["driver \\ firmware".ljust(18) + "".join(f.rjust(width) for f in report.firmware)]
    for d in report.drivers:
        row = d.ljust(18)
        for f in report.firmware:
            cell = report.cell(d, f)
            row += " " * (width - len(_mark(cell))) + paint(_mark(cell), _key(cell))
        lines.append(row)
    lines.append("")
    lines.append("legend: " + "  ".join(f"{paint(s, k)} {text}" for k, (s, _c, text) in STYLE.items()
                                         if k != "missing"))
    lines.append("        suffix: d degraded (declared ops unavailable), w at the policy's edge, f forced")
    s = report.summary()
    lines.append(f"{s['cells']}/{s['expected_cells']} cells: " +
                 ", ".join(f"{s[k]} {k}" for k in ("works", "fails", "known", "refused", "unclean_refusal",
                                                   "image_invalid")))
    if report.incomplete:
        lines.append("INCOMPLETE: the run was interrupted (or shards are missing); missing cells are blank")
    if report.shard:
        lines.append(f"shard {report.shard}: the other shards' cells are blank")
    findings = report.findings()
    if findings:
        lines += ["", "findings:"]
        for cell in findings:
            lines += ["  " + x for x in _finding_lines(cell)]
    return "\n".join(lines) + "\n"


def markdown(report: MatrixReport) -> str:
    lines = ["| driver \\ firmware | " + " | ".join(report.firmware) + " |",
             "|---|" + "---|" * len(report.firmware)]
    for d in report.drivers:
        lines.append(f"| {d} | " + " | ".join(_mark(report.cell(d, f)) for f in report.firmware) + " |")
    lines += ["", "| symbol | meaning |", "|---|---|"]
    lines += [f"| `{s.strip() or '(blank)'}` | {text} |" for s, _c, text in STYLE.values()]
    lines.append("")
    lines.append("Suffix `d`: degraded; `w`: at the edge of the policy; `f`: forced.")
    if report.incomplete:
        lines += ["", "**Incomplete run**: missing cells are blank."]
    findings = report.findings()
    if findings:
        lines += ["", "## Findings", ""]
        for cell in findings:
            first, *rest = _finding_lines(cell)
            lines.append(f"- **{first}**")
            lines += [f"  - {x.strip()}" for x in rest]
    return "\n".join(lines) + "\n"


def junit(report: MatrixReport) -> str:
    """One <testsuite> per driver, one <testcase> per cell (a finding fails, a known one is skipped)."""
    root = ET.Element("testsuites", name="npudbg compat matrix")
    total = failures = skipped = 0
    for d in report.drivers:
        suite = ET.SubElement(root, "testsuite", name=f"driver {d}")
        n = fails = skips = 0
        for f in report.firmware:
            cell = report.cell(d, f)
            if cell is None:
                continue
            n += 1
            case = ET.SubElement(suite, "testcase", classname=f"compat.driver_{d}", name=f"firmware {f}",
                                 time=f"{cell['seconds']:.3f}")
            text = "\n".join(_finding_lines(cell)) if cell["outcome"] != "works" else ""
            if cell["outcome"] == "fails" and cell["known"]:
                skips += 1
                ET.SubElement(case, "skipped", message=f"known issue {', '.join(cell['known'])}").text = text
            elif cell["outcome"] in ("fails", "unclean_refusal", "image_invalid"):
                fails += 1
                failure = ET.SubElement(case, "failure", message=STYLE[cell["outcome"]][2],
                                        type=cell["outcome"])
                failure.text = text
            detail = f"; {cell['detail']}" if cell["detail"] else ""
            out = ET.SubElement(case, "system-out")
            out.text = f"declared {cell['declared']}; outcome {cell['outcome']}{detail}"
        suite.set("tests", str(n))
        suite.set("failures", str(fails))
        suite.set("skipped", str(skips))
        suite.set("errors", "0")
        total, failures, skipped = total + n, failures + fails, skipped + skips
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("skipped", str(skipped))
    root.set("errors", "0")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def render(report: MatrixReport, fmt: str, colour: bool = False) -> str:
    if fmt == "table":
        return table(report, colour)
    if fmt == "markdown":
        return markdown(report)
    if fmt == "json":
        return report.to_json() + "\n"
    if fmt == "junit":
        return junit(report)
    raise ValueError(f"unknown format {fmt}")
