"""Versions: info version (driver release, firmware manifest, live registers) and compat check.

The verdict is the driver's own (`driver.policy.evaluate`): the debugger only chooses
what to compare — a driver release profile, and a firmware described by its
manifest, updated with the live version registers when it is the image running in
the session's device.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from debugger.commands import Text, command, parser
from debugger.errors import DebuggerError

if TYPE_CHECKING:
    from debugger.session import Session
    from driver.loader import FirmwareImage
    from driver.policy import FirmwareDescription, Verdict
    from driver.releases import DriverRelease


def _peek(session: Session, path: str) -> int:
    return session.target.device.regs.peek(path)


def _version(value: int) -> str:
    return f"{value >> 16 & 0xFF}.{value >> 8 & 0xFF}.{value & 0xFF}"


def _handshake(session: Session) -> str:
    return session.target.handshake_state()


def _image(session: Session, firmware: str | None) -> FirmwareImage:
    from driver.loader import image_for

    return image_for(str(session.target.image_path) if firmware is None else firmware)


def _driver(session: Session, version: str | None) -> DriverRelease:
    from driver.releases import driver_line

    return driver_line().release(version or session.target.driver_version)


def live_description(session: Session, base: FirmwareDescription) -> FirmwareDescription:
    """The manifest's description updated with what the running firmware published."""
    state = _handshake(session)
    if state == "none":
        return base  # not booted far enough to have published anything
    return base.with_live(fw_version=_peek(session, "version.fw_version"),
                          abi_supported=_peek(session, "version.abi_supported"),
                          fw_features=_peek(session, "version.fw_features"), handshake=state)


def verdict(session: Session, driver: str | None = None, firmware: str | None = None,
            live: bool | None = None, force: bool = False) -> Verdict:
    """The policy's verdict for a driver release and a firmware (default: the session's own pair).

    `live` (default: when the firmware is the session's image) adds the live registers.
    """
    from driver.policy import evaluate

    release = _driver(session, driver)
    if firmware is not None and not _is_session_image(session, firmware):
        desc = _image(session, firmware).description
        if live:
            raise DebuggerError(f"compat check --live: firmware {firmware} is not the image running in this "
                                "session")
    else:
        desc = _image(session, None).description
        if live is None or live:
            desc = live_description(session, desc)
    return evaluate(release, desc, force=force)


def _is_session_image(session: Session, firmware: str) -> bool:
    target = session.target
    return firmware in (target.release, str(target.image_path))


_info_version = parser("info version", "Versions: the driver release profile, the firmware image's "
                       "manifest, and what the\nrunning firmware published in its version registers.")


@command("info version", _info_version, category="device", aliases=("info versions",))
def info_version(session, args) -> None:
    from debugger.cli import package_version

    out = session.out
    release = _driver(session, None)
    image = _image(session, None)
    m = image.description
    out.line(f"npudbg {package_version()}")
    ops = ", ".join(op.name for op in release.ops)
    out.line(f"Driver release   {release.version}: ABI {', '.join(map(str, release.abi))}; ops {ops}")
    out.line(f"Firmware image   {image.name}: version {m.version}, ABI {', '.join(map(str, m.abi))}, "
             f"drivers {m.driver_min}..{m.driver_max}")
    out.line(f"                 features {', '.join(m.features) or 'none'}; "
             f"sha256 {image.program.manifest.sha256[:16]}…")
    state = _handshake(session)
    if state == "none":
        out.line("Live registers   not published yet (the firmware has not booted to READY)")
        return
    from firmware.abi import abi

    supported = ",".join(str(g) for g in range(32) if _peek(session, "version.abi_supported") >> g & 1)
    features = ", ".join(abi().feature_names(_peek(session, "version.fw_features"))) or "none"
    drv = _peek(session, "version.driver_version")
    selected = session.target.device.regs.field("version.abi_selected")
    out.line(f"Live registers   fw_version {_version(_peek(session, 'version.fw_version'))}, ABI supported "
             f"{supported}, selected {selected or '-'}, driver {_version(drv) if drv else '-'}, "
             f"handshake {state}")
    out.line(f"                 features {features}")


_compat = parser("compat check", "The driver's compatibility verdict for a driver release and a firmware, "
                 "with every\nreason and the rule behind it (driver/policy.py). By default: the session's "
                 "driver\nrelease and firmware, including the live version registers.")
_compat.add_argument("--driver", type=Text, default=None, help="driver release version (default: the "
                     "session's, else the newest)")
_compat.add_argument("--firmware", type=Text, default=None, help="firmware image path or release version "
                     "(default: the session's image)")
_compat.add_argument("--force", action="store_true", help="as the driver's force=True would decide")
_compat.add_argument("--manifest-only", action="store_true", help="ignore the live registers")
_compat.add_argument("--json", action="store_true", help="print the verdict as one JSON object")


@command("compat check", _compat, category="device")
def compat_check(session, args) -> None:
    v = verdict(session, args.driver, args.firmware, live=False if args.manifest_only else None,
                force=args.force)
    session.out.line(v.to_json() if args.json else str(v))
