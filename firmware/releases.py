"""The firmware release line (`releases.toml`) and its known defects (`known_issues.toml`).

This module owns the release model and what the firmware build derives from
each release: the `--defsym` symbols for conditional assembly (`defsyms`) and
the manifest entries written into the image's note (`manifest`, keys
`MANIFEST_KEYS`). The driver's version policy reads the same manifest keys.

Validation (one line per problem, `firmware/releases.toml: error: …`): versions well
formed, unique and ascending; ABI generations and feature names known to
`abi.toml`; driver range ordered; image path `images/npu-fw-<version>.elf`;
every release sets the same build flags. Known issues name a release, an ABI
opcode and a later `fixed_in`, and their build flag is 1 exactly in the
releases they affect.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from firmware.abi import Abi, TomlProblems, abi
from isa.errors import NpuError

RELEASES_FILE = "releases.toml"
RELEASES_NAME = "firmware/releases.toml"  # as errors name it
ISSUES_FILE = "known_issues.toml"
ISSUES_NAME = "firmware/known_issues.toml"
# The manifest note's entries, in the order the build writes them (all values are strings).
MANIFEST_KEYS: dict[str, str] = {
    "version": "firmware version, MAJOR.MINOR.PATCH",
    "abi": "ABI generations the firmware speaks, comma-separated ascending, e.g. 1,2",
    "driver_min": "oldest supported driver version, inclusive",
    "driver_max": "newest supported driver version, inclusive",
    "features": "feature bit mask as 0x%08x (bits from abi.toml; the value version.fw_features shows)",
}
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_FLAG = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True, order=True)
class Version:
    """A release version MAJOR.MINOR.PATCH, ordered numerically."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _VERSION.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise NpuError(f"bad version {text!r} (expected MAJOR.MINOR.PATCH)")
        parts = tuple(int(p) for p in match.groups())
        if any(p > 255 for p in parts):
            raise NpuError(f"bad version {text!r} (each part at most 255)")
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def packed(self) -> int:
        """As the version.fw_version register (npu.rdl) holds it: major[23:16] minor[15:8] patch[7:0]."""
        return self.major << 16 | self.minor << 8 | self.patch


def abi_mask(generations: tuple[int, ...]) -> int:
    """Bit g set for each ABI generation g, as the version.abi_supported register (npu.rdl) holds it."""
    mask = 0
    for g in generations:
        mask |= 1 << g
    return mask


@dataclass(frozen=True)
class Release:
    version: Version
    abi: tuple[int, ...]
    driver_min: Version
    driver_max: Version
    features: tuple[str, ...]
    flags: tuple[tuple[str, int], ...]
    image: str  # relative to the firmware package
    notes: str

    @property
    def feature_mask(self) -> int:
        return abi().feature_mask(self.features)

    def defsyms(self, table: Abi | None = None) -> dict[str, int]:
        """Symbols the build passes as --defsym: versions, ABI and feature switches, build flags."""
        table = table or abi()
        syms = {"FW_VERSION": self.version.packed, "FW_VERSION_MAJOR": self.version.major,
                "FW_VERSION_MINOR": self.version.minor, "FW_VERSION_PATCH": self.version.patch,
                "FW_ABI_MASK": abi_mask(self.abi), "FW_FEATURES": table.feature_mask(self.features)}
        syms |= {f"SPEAKS_ABI{g}": int(g in self.abi) for g in table.generations}
        syms |= {f"HAS_{f.name.upper()}": int(f.name in self.features) for f in table.features}
        return syms | dict(self.flags)

    def manifest(self) -> dict[str, str]:
        """The manifest note entries the build writes for this release (see MANIFEST_KEYS)."""
        return {"version": str(self.version), "abi": ",".join(map(str, self.abi)),
                "driver_min": str(self.driver_min), "driver_max": str(self.driver_max),
                "features": f"{self.feature_mask:#010x}"}

    def image_path(self) -> Any:
        """The image as an importlib resource path (a `pathlib.Path` in a source checkout)."""
        return resources.files("firmware").joinpath(self.image)


@dataclass(frozen=True)
class KnownIssue:
    id: str
    release: Version
    operator: str
    condition: str
    symptom: str
    fixed_in: Version
    flag: str
    workaround: str

    def affects(self, version: Version) -> bool:
        return self.release <= version < self.fixed_in


@dataclass(frozen=True)
class ReleaseLine:
    releases: tuple[Release, ...]
    issues: tuple[KnownIssue, ...]

    @property
    def versions(self) -> tuple[Version, ...]:
        return tuple(r.version for r in self.releases)

    @property
    def newest(self) -> Release:
        return self.releases[-1]

    def release(self, version: str | Version) -> Release:
        wanted = Version.parse(version) if isinstance(version, str) else version
        for r in self.releases:
            if r.version == wanted:
                return r
        known = ", ".join(str(v) for v in self.versions)
        raise NpuError(f"no firmware release {wanted} (releases: {known})")

    def issues_for(self, version: str | Version, operator: str | None = None) -> tuple[KnownIssue, ...]:
        v = Version.parse(version) if isinstance(version, str) else version
        return tuple(i for i in self.issues if i.affects(v) and operator in (None, i.operator))


def parse_toml(text: str, problems: TomlProblems) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.add(str(exc))
        return {}


def _str(row: Mapping[str, Any], key: str, where: str, problems: TomlProblems) -> str:
    value = row.get(key)
    if not isinstance(value, str):
        problems.add(f"{where}: '{key}' must be a string" if key in row else f"{where}: missing '{key}'")
        return ""
    return value


def _version(row: Mapping[str, Any], key: str, where: str, problems: TomlProblems) -> Version | None:
    text = _str(row, key, where, problems)
    try:
        return Version.parse(text) if text else None
    except NpuError as exc:
        problems.add(f"{where}: {key}: {exc}")
        return None


def _release(row: Mapping[str, Any], table: Abi, problems: TomlProblems) -> Release | None:
    where = f"release {row.get('version', '?')}"
    version = _version(row, "version", where, problems)
    lo, hi = (_version(row, k, where, problems) for k in ("driver_min", "driver_max"))
    gens, features, flags = row.get("abi"), row.get("features"), row.get("flags", {})
    if not isinstance(gens, list) or not gens or not all(isinstance(g, int) for g in gens):
        problems.add(f"{where}: 'abi' must be a non-empty list of generation numbers")
        gens = []
    for g in gens:
        if g not in table.generations:
            problems.add(f"{where}: unknown ABI generation {g}")
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        problems.add(f"{where}: 'features' must be a list of feature names")
        features = []
    known = {f.name for f in table.features}
    for f in features:
        if f not in known:
            problems.add(f"{where}: unknown feature '{f}' (abi.toml declares {', '.join(sorted(known))})")
    if len(set(features)) != len(features):
        problems.add(f"{where}: a feature is listed twice")
    if not isinstance(flags, dict) or not all(isinstance(v, int) and _FLAG.match(k)
                                              for k, v in flags.items()):
        problems.add(f"{where}: 'flags' must map UPPER_CASE names to integers")
        flags = {}
    image = _str(row, "image", where, problems)
    if version and image != f"images/npu-fw-{version}.elf":
        problems.add(f"{where}: image must be 'images/npu-fw-{version}.elf', not '{image}'")
    if lo and hi and lo > hi:
        problems.add(f"{where}: driver_min {lo} is newer than driver_max {hi}")
    if version is None or lo is None or hi is None:
        return None
    return Release(version, tuple(sorted(g for g in gens if g in table.generations)), lo, hi,
                   tuple(f for f in features if f in known), tuple(sorted(flags.items())), image,
                   str(row.get("notes", "")))


def _check_line(releases: list[Release], problems: TomlProblems) -> None:
    versions = [r.version for r in releases]
    if len(set(versions)) != len(versions):
        problems.add("a release version is listed twice")
    elif versions != sorted(versions):
        problems.add("releases must be listed oldest first")
    names = {tuple(k for k, _ in r.flags) for r in releases}
    if len(names) > 1:
        problems.add(f"every release must set the same build flags; found sets {sorted(names)}")
    if releases:
        first = releases[0]
        derived = set(Release(first.version, first.abi, first.driver_min, first.driver_max, first.features,
                              (), first.image, "").defsyms())
        for k in sorted(derived & {k for r in releases for k, _ in r.flags}):
            problems.add(f"flag {k} clashes with a symbol derived from the tables")


def _issue(row: Mapping[str, Any], line: ReleaseLine, table: Abi,
           problems: TomlProblems) -> KnownIssue | None:
    where = f"issue {row.get('id', '?')}"
    fields = {k: _str(row, k, where, problems) for k in ("id", "operator", "condition", "symptom", "flag")}
    release, fixed = (_version(row, k, where, problems) for k in ("release", "fixed_in"))
    ops = {o.name for o in table.opcodes}
    if fields["operator"] and fields["operator"] not in ops:
        problems.add(f"{where}: unknown operator '{fields['operator']}' (not an opcode in abi.toml)")
    for key, v in (("release", release), ("fixed_in", fixed)):
        if v is not None and v not in line.versions:
            problems.add(f"{where}: {key} {v} is not a release in releases.toml")
    if release and fixed and fixed <= release:
        problems.add(f"{where}: fixed_in {fixed} is not after release {release}")
    if release is None or fixed is None:
        return None
    issue = KnownIssue(fields["id"], release, fields["operator"], fields["condition"], fields["symptom"],
                       fixed, fields["flag"], str(row.get("workaround", "")))
    for r in line.releases:
        value = dict(r.flags).get(issue.flag)
        if value is None:
            problems.add(f"{where}: flag '{issue.flag}' is not a build flag of release {r.version}")
            break
        if bool(value) != issue.affects(r.version):
            problems.add(f"{where}: flag {issue.flag} is {value} in release {r.version}, which the issue "
                         f"{'affects' if issue.affects(r.version) else 'does not affect'}")
    return issue


def load(releases_text: str, issues_text: str, table: Abi | None = None) -> ReleaseLine:
    """Parse and validate both tables; raises SpecError listing every problem."""
    table = table or abi()
    rp, ip = TomlProblems(RELEASES_NAME), TomlProblems(ISSUES_NAME)
    rows = parse_toml(releases_text, rp).get("release", [])
    releases = [r for r in (_release(row, table, rp) for row in rows) if r is not None]
    if not rows:
        rp.add("no [[release]] rows")
    _check_line(releases, rp)
    rp.raise_if_any()
    line = ReleaseLine(tuple(releases), ())
    issues = [_issue(row, line, table, ip) for row in parse_toml(issues_text, ip).get("issue", [])]
    ip.raise_if_any()
    return ReleaseLine(tuple(releases), tuple(i for i in issues if i is not None))


@cache
def release_line() -> ReleaseLine:
    """The project's firmware releases and known issues, loaded once."""
    files = resources.files("firmware")
    return load(files.joinpath(RELEASES_FILE).read_text(encoding="utf-8"),
                files.joinpath(ISSUES_FILE).read_text(encoding="utf-8"))
