"""The static and live compatibility checks of one driver release against one firmware image.

Static: the image's manifest (pyelftools, no execution) and the driver release
profile give the driver's own verdict (`driver.policy.evaluate`); the image itself
is validated by the driver's loader (`driver.loader.verify`, remembered per file: digest, segments in
ITCM/DTCM, entry point). A damaged image still gets a verdict when its manifest
can be read. Live: the image boots on a fresh emulated device with the driver
acting as that release; the report says what was observed, whether or not the
driver accepted the pair.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from driver.policy import FirmwareDescription, Verdict, evaluate
from driver.releases import DriverRelease, driver_line
from isa.errors import NpuError


@dataclass
class StaticReport:
    driver: str
    firmware: str  # the firmware's version from its manifest, else the file's name
    image: str  # the image file
    verdict: Verdict | None  # None when the manifest cannot be read
    problems: list[str] = field(default_factory=list)  # image validation failures, one line each
    loaded: Any = field(default=None, repr=False)  # the verified driver.loader.FirmwareImage, when valid

    @property
    def image_ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"driver": self.driver, "firmware": self.firmware, "image": self.image,
                "image_ok": self.image_ok, "problems": list(self.problems),
                "verdict": self.verdict.to_dict() if self.verdict else None}

    def __str__(self) -> str:
        lines = [f"firmware image {self.image}: " + ("valid (digest, segments in ITCM/DTCM, entry point)"
                                                     if self.image_ok else "INVALID")]
        lines += [f"  {p}" for p in self.problems]
        lines.append(str(self.verdict) if self.verdict else "no verdict: the manifest cannot be read")
        return "\n".join(lines)


def image_path(firmware: str | Path) -> Path:
    """A release version ("1.2.0") names the shipped image; anything else is a path."""
    from firmware.releases import release_line

    text = str(firmware)
    if not Path(text).exists():
        try:
            return Path(str(release_line().release(text).image_path()))
        except NpuError:
            raise NpuError(f"firmware {text!r}: neither a file nor a firmware release version") from None
    return Path(text)


def _manifest_description(path: Path) -> FirmwareDescription | None:
    """The manifest's description even when the image fails validation (None if unreadable)."""
    from isa.elfread import load_elf

    try:
        program = load_elf(path)
        if program.manifest is None:
            return None
        return FirmwareDescription.from_manifest(program.manifest.entries)
    except NpuError:
        return None


def static_check(driver: str | DriverRelease | None, firmware: str | Path,
                 force: bool = False) -> StaticReport:
    """The policy verdict from the manifest and the release profile, and the image's validation."""
    from driver.loader import image_for

    release = driver if isinstance(driver, DriverRelease) else driver_line().release(driver)
    path = image_path(firmware)
    problems: list[str] = []
    loaded = None
    try:
        loaded = image_for(str(path))
        desc = loaded.description
    except NpuError as exc:
        problems.append(str(exc))
        desc = _manifest_description(path)
    verdict = evaluate(release, desc, force=force) if desc is not None else None
    label = str(desc.version) if desc is not None else path.name
    return StaticReport(str(release.version), label, str(path), verdict, problems, loaded)


@dataclass
class LiveReport:
    """What a fresh device showed when the driver brought this image up."""

    driver: str
    firmware: str
    booted: bool = False
    accepted: bool = False  # the driver opened the device (policy and handshake passed)
    handshake: str | None = None  # version.handshake.status as the device left it
    registers: dict[str, str] = field(default_factory=dict)  # fw_version, abi_supported, … as read
    features: list[str] = field(default_factory=list)
    abi: int | None = None
    verdict: dict[str, Any] | None = None  # the driver's verdict (live registers and handshake)
    error: str | None = None  # what open() raised, as one line
    error_type: str | None = None
    workloads: list[dict[str, Any]] = field(default_factory=list)
    errlog: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        lines = [f"live: driver {self.driver} × firmware {self.firmware}: "
                 f"{'booted' if self.booted else 'did not boot'}, "
                 f"{'accepted' if self.accepted else 'not accepted'} (handshake {self.handshake or '-'})"]
        if self.registers:
            lines.append("  registers " + ", ".join(f"{k} {v}" for k, v in self.registers.items()))
        if self.features:
            lines.append(f"  features {', '.join(self.features)}")
        if self.abi is not None:
            lines.append(f"  ABI {self.abi} selected")
        if self.error:
            lines.append(f"  error ({self.error_type}) {self.error}")
        for w in self.workloads:
            detail = f" — {w['detail']}" if w.get("detail") else ""
            lines.append(f"  workload {w['name']}: {w['status']}{detail}")
        lines += [f"  errlog {e}" for e in self.errlog]
        return "\n".join(lines)


def read_live(transport: Any) -> tuple[dict[str, str], list[str], str | None, bool, list[str]]:
    """The version registers, features, handshake state, whether it booted, and the error log."""
    from driver.bus import Bus
    from driver.recovery import read_errlog
    from driver.registers import Registers
    from firmware.abi import abi

    regs = Registers(Bus(transport))
    handshake = regs.enum("version.handshake.status")
    v = regs.read("version.fw_version")
    gens = regs.read("version.abi_supported")
    feats = regs.read("version.fw_features")
    registers = {"fw_version": f"{v >> 16 & 0xFF}.{v >> 8 & 0xFF}.{v & 0xFF}",
                 "abi_supported": ",".join(str(g) for g in range(32) if gens >> g & 1) or "none",
                 "selftest": regs.enum("version.selftest.status") or "?"}
    booted = handshake not in (None, "none")
    return registers, list(abi().feature_names(feats)), handshake, booted, [str(e) for e in read_errlog(regs)]


def open_device(release: DriverRelease, image: Any, force: bool) -> tuple[Any, Any, BaseException | None]:
    """(device or None, transport, what open() raised); compatibility warnings are the verdict's job."""
    import driver
    from driver.transport import InProcess

    transport = InProcess()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return driver.open(image, release, transport=transport, force=force), transport, None
    except Exception as exc:
        return None, transport, exc


def live_check(driver: str | DriverRelease | None, firmware: str | Path, force: bool = False,
               smoke: bool = True) -> LiveReport:
    """Boot, handshake and (when accepted) run the smoke workload on a fresh device."""
    from debugger.compat.cell import run_workload
    from debugger.compat.workloads import SMOKE, select

    release = driver if isinstance(driver, DriverRelease) else driver_line().release(driver)
    path = image_path(firmware)
    static = static_check(release, path, force)
    report = LiveReport(str(release.version), static.firmware)
    if not static.image_ok:
        report.error, report.error_type = static.problems[0], "ImageRejected"
        return report
    dev, transport, exc = open_device(release, static.loaded, force)
    try:
        if exc is not None:
            report.error, report.error_type = str(exc).splitlines()[0], type(exc).__name__
            verdict = getattr(exc, "verdict", None)
            report.verdict = verdict.to_dict() if verdict is not None else None
        else:
            report.accepted, report.abi, report.verdict = True, dev.abi, dev.verdict.to_dict()
            if smoke:
                report.workloads.append(run_workload(dev, select([SMOKE])[0]))
        live = read_live(transport)
        report.registers, report.features, report.handshake, report.booted, report.errlog = live
    finally:
        if dev is not None:
            with contextlib.suppress(NpuError):
                dev.close()
    return report
