"""The driver × firmware version policy: one verdict for bring-up, compat checks and the matrix.

The rules (issue 7 §2), each named in every reason it produces:

| rule | when | outcome |
| --- | --- | --- |
| `abi` | no ABI generation in common | incompatible, never forceable (else: newest common one) |
| `driver_range` | driver outside the firmware's declared driver range | incompatible, never forceable |
| `distance` | more than `max_distance` releases apart | incompatible, forceable with `force=True` |
| `distance` | exactly `max_distance` apart | compatible with a warning ("at the edge") |
| `features` | the driver needs a feature the firmware lacks | degraded: its ops raise FeatureMissing |
| `handshake` | the live handshake register shows a refusal or failure | incompatible, never forceable |
| `live` | live registers contradict the manifest | incompatible, never forceable |
| `force` | a forceable refusal and `force=True` | runs, with a warning |

The two release lines share version numbers; the distance of a pair is how many
releases apart the two versions are in the sorted union of both release tables
(the two versions themselves included, so an unlisted version still has a place).

A firmware is described by its manifest (keys in `firmware.releases.MANIFEST_KEYS`),
optionally updated with live register values (`FirmwareDescription.with_live`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from driver.errors import FeatureMissing, Incompatible
from driver.releases import DriverRelease, driver_line
from firmware.abi import abi
from firmware.releases import MANIFEST_KEYS, Release, Version, release_line
from isa.errors import NpuError

STATUSES = ("compatible", "compatible_with_warning", "degraded", "incompatible")  # best first
SEVERITIES = ("info", "warning", "degraded", "incompatible")
# Handshake states (npu.rdl handshake_e) that mean the firmware will serve this driver.
HANDSHAKE_OK = ("none", "ready", "accepted")


@dataclass(frozen=True)
class FirmwareDescription:
    """What the policy knows of a firmware: its manifest, and live register values once read."""

    version: Version
    abi: tuple[int, ...]
    driver_min: Version
    driver_max: Version
    features: tuple[str, ...]  # names; a bit the ABI table does not name reads `bitN`
    handshake: str | None = None  # handshake register status (npu.rdl handshake_e name), when read live
    mismatches: tuple[str, ...] = ()  # live values that contradict the manifest

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, str]) -> FirmwareDescription:
        """Parse the image's manifest entries; raises NpuError naming a missing or malformed key."""
        missing = [k for k in MANIFEST_KEYS if k not in manifest]
        if missing:
            raise NpuError(f"firmware manifest: missing key {', '.join(missing)}")
        try:
            gens = tuple(sorted(int(g) for g in manifest["abi"].split(",")))
            mask = int(manifest["features"], 16)
        except ValueError as exc:
            raise NpuError(f"firmware manifest: malformed abi or features value ({exc})") from None
        return cls(Version.parse(manifest["version"]), gens, Version.parse(manifest["driver_min"]),
                   Version.parse(manifest["driver_max"]), abi().feature_names(mask))

    @classmethod
    def from_release(cls, release: Release) -> FirmwareDescription:
        return cls.from_manifest(release.manifest())

    def with_live(self, *, fw_version: int | None = None, abi_supported: int | None = None,
                  fw_features: int | None = None, handshake: str | None = None) -> FirmwareDescription:
        """The description after reading the version registers (raw values, npu.rdl encodings).

        The manifest stays the reference; a register that disagrees with it is
        recorded as a mismatch, which the `live` rule refuses.
        """
        found = []
        if fw_version is not None and fw_version != self.version.packed:
            live = f"{fw_version >> 16 & 0xFF}.{fw_version >> 8 & 0xFF}.{fw_version & 0xFF}"
            found.append(f"the manifest says version {self.version}, version.fw_version reads {live}")
        if abi_supported is not None:
            gens = tuple(g for g in range(32) if abi_supported >> g & 1)
            if gens != self.abi:
                found.append(f"the manifest says ABI {_gens(self.abi)}, "
                             f"version.abi_supported reads {_gens(gens)}")
        if fw_features is not None:
            names = abi().feature_names(fw_features)
            if names != self.features:
                found.append(f"the manifest says features {', '.join(self.features) or 'none'}, "
                             f"version.fw_features reads {', '.join(names) or 'none'}")
        return replace(self, handshake=handshake if handshake is not None else self.handshake,
                       mismatches=self.mismatches + tuple(found))


@dataclass(frozen=True)
class Policy:
    """The configurable product rule; the defaults are the shipped policy."""

    max_distance: int = 2
    warn_at_edge: bool = True
    check_driver_range: bool = True

    def __post_init__(self) -> None:
        if self.max_distance < 0:
            raise NpuError(f"policy: max_distance must be at least 0, not {self.max_distance}")


@dataclass(frozen=True)
class Reason:
    rule: str
    severity: str  # one of SEVERITIES
    message: str
    forceable: bool = False


@dataclass(frozen=True)
class Verdict:
    """The policy's answer for one driver/firmware pair, with every reason and the rule behind it."""

    driver: str
    firmware: str
    status: str  # one of STATUSES
    forceable: bool  # an incompatible verdict that force=True would run
    forced: bool  # force=True overrode a forceable refusal
    abi: int | None  # the ABI generation chosen, None when there is none in common
    distance: int
    missing_features: tuple[str, ...]
    unavailable_ops: tuple[tuple[str, tuple[str, ...]], ...]  # (op, the missing features it needs), by op
    reasons: tuple[Reason, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """The driver may use this firmware (possibly degraded or with a warning)."""
        return self.status != "incompatible"

    def blocking(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.severity == "incompatible")

    def check(self) -> Verdict:
        """Raises Incompatible unless the pair may run; returns self for chaining."""
        if not self.ok:
            raise Incompatible(self)
        return self

    def require(self, op: str) -> None:
        """Raises FeatureMissing when `op` needs a feature this firmware lacks (before submitting)."""
        for name, features in self.unavailable_ops:
            if name == op:
                raise FeatureMissing(op, features, self.firmware)

    def __str__(self) -> str:
        head = f"driver {self.driver} × firmware {self.firmware}: {self.status.replace('_', ' ')}"
        if self.forced:
            head += " (forced)"
        elif self.forceable:
            head += " (forceable with force=True)"
        lines = [head]
        lines += [f"  {r.severity:<12} [{r.rule}] {r.message}" for r in self.reasons]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"driver": self.driver, "firmware": self.firmware, "status": self.status,
                "forceable": self.forceable, "forced": self.forced, "abi": self.abi,
                "distance": self.distance, "missing_features": list(self.missing_features),
                "unavailable_ops": {op: list(fs) for op, fs in self.unavailable_ops},
                "reasons": [{"rule": r.rule, "severity": r.severity, "message": r.message,
                             "forceable": r.forceable} for r in self.reasons]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        return cls(data["driver"], data["firmware"], data["status"], data["forceable"], data["forced"],
                   data["abi"], data["distance"], tuple(data["missing_features"]),
                   tuple((op, tuple(fs)) for op, fs in data["unavailable_ops"].items()),
                   tuple(Reason(**r) for r in data["reasons"]))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def _gens(gens: Iterable[int]) -> str:
    return ", ".join(map(str, gens)) or "none"


def _apart(n: int) -> str:
    return f"{n} release{'' if n == 1 else 's'} apart"


def shipped_versions() -> tuple[Version, ...]:
    """The sorted union of both shipped release tables."""
    return tuple(sorted(set(release_line().versions) | set(driver_line().versions)))


def release_distance(a: Version, b: Version, versions: Iterable[Version]) -> int:
    """How many releases apart `a` and `b` are in the sorted union of `versions` and themselves."""
    ordered = sorted(set(versions) | {a, b})
    return abs(ordered.index(a) - ordered.index(b))


def _rules(driver: DriverRelease, fw: FirmwareDescription, policy: Policy,
           distance: int) -> tuple[int | None, list[Reason], tuple[str, ...]]:
    d, f = f"driver {driver.version}", f"firmware {fw.version}"
    reasons: list[Reason] = []
    if fw.handshake is not None and fw.handshake not in HANDSHAKE_OK:
        reasons.append(Reason("handshake", "incompatible", f"{f} answered the handshake with {fw.handshake}"))
    reasons += [Reason("live", "incompatible", m) for m in fw.mismatches]
    common = sorted(set(driver.abi) & set(fw.abi))
    chosen = common[-1] if common else None
    if chosen is None:
        reasons.append(Reason("abi", "incompatible", f"{d} speaks ABI {_gens(driver.abi)}, {f} speaks ABI "
                                                     f"{_gens(fw.abi)}: no generation in common"))
    else:
        reasons.append(Reason("abi", "info", f"ABI {chosen} chosen ({d} speaks {_gens(driver.abi)}, "
                                             f"{f} speaks {_gens(fw.abi)})"))
    span = f"{fw.driver_min}..{fw.driver_max}"
    if policy.check_driver_range:
        inside = fw.driver_min <= driver.version <= fw.driver_max
        where = "inside" if inside else "outside"
        reasons.append(Reason("driver_range", "info" if inside else "incompatible",
                              f"{d} is {where} {f}'s supported driver range {span}"))
    if distance > policy.max_distance:
        reasons.append(Reason("distance", "incompatible", f"{d} and {f} are {_apart(distance)}; "
                                                          f"at most {policy.max_distance} allowed", True))
    elif distance == policy.max_distance and policy.warn_at_edge and distance > 0:
        reasons.append(Reason("distance", "warning", f"{d} and {f} are {_apart(distance)}: at the edge "
                                                     f"of the {policy.max_distance} allowed"))
    else:
        reasons.append(Reason("distance", "info", f"{d} and {f} are {_apart(distance)}"))
    missing = tuple(sorted(driver.needs - set(fw.features)))
    for feature in missing:
        users = ", ".join(op.name for op in driver.ops if feature in op.features)
        reasons.append(Reason("features", "degraded", f"{f} lacks {feature}, needed by {users}"))
    if not missing:
        reasons.append(Reason("features", "info", f"{f} has every feature {d} needs"))
    return chosen, reasons, missing


def evaluate(driver: DriverRelease, firmware: FirmwareDescription, policy: Policy | None = None,
             force: bool = False, versions: Iterable[Version] | None = None) -> Verdict:
    """The verdict for running `driver` against `firmware`.

    `versions` is the union of both release tables the distance counts in
    (default: the shipped tables).
    """
    policy = policy or Policy()
    distance = release_distance(driver.version, firmware.version,
                                shipped_versions() if versions is None else versions)
    chosen, reasons, missing = _rules(driver, firmware, policy, distance)
    blocking = [r for r in reasons if r.severity == "incompatible"]
    forceable = bool(blocking) and all(r.forceable for r in blocking)
    forced = forceable and force
    if forced:
        reasons.append(Reason("force", "warning", "running anyway because force=True: "
                                                  + "; ".join(r.message for r in blocking)))
    elif force and blocking:
        reasons.append(Reason("force", "info", "force=True ignored: a refusal that cannot be forced"))
    counted = [r.severity for r in reasons if not (forced and r.severity == "incompatible")]
    worst = max((SEVERITIES.index(s) for s in counted), default=0)
    status = STATUSES[worst]
    unavailable = tuple(sorted((op.name, tuple(x for x in op.features if x in missing))
                               for op in driver.ops if set(op.features) & set(missing)))
    return Verdict(str(driver.version), str(firmware.version), status, forceable, forced, chosen, distance,
                   missing, unavailable, tuple(reasons))
