"""Build every firmware release from the one source tree.

Usage: python scripts/build_firmware.py [--check] [VERSION ...]

For each release of `firmware/releases.toml` (or only the versions named), assembles
`firmware/src/main.S` with the release's `--defsym` symbols (`Release.defsyms()`: version,
ABI mask, feature bits, build flags) plus the supported driver range (`FW_DRIVER_MIN`,
`FW_DRIVER_MAX`, packed like the version register), and writes
`firmware/images/npu-fw-<version>.elf`. The assembly runs from the repository root with
repository-relative paths, so DWARF names no machine path and the bytes are the same on
every machine. `--check` writes nothing and exits 1 when an image differs or is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from firmware.releases import Release, release_line  # noqa: E402
from isa.asm import assemble_elf  # noqa: E402
from isa.errors import NpuError  # noqa: E402

MAIN = "firmware/src/main.S"


def defines(release: Release) -> dict[str, int]:
    """Everything the source's conditional assembly and manifest read, for one release."""
    return release.defsyms() | {"FW_DRIVER_MIN": release.driver_min.packed,
                                "FW_DRIVER_MAX": release.driver_max.packed}


def build_image(release: Release) -> bytes:
    """The release's ELF image, as bytes."""
    with contextlib.chdir(ROOT):
        return assemble_elf(path=MAIN, defines=defines(release))


def image_file(release: Release) -> Path:
    return ROOT / "firmware" / release.image


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/build_firmware.py",
                                     description="Build every firmware release image.")
    parser.add_argument("--check", action="store_true",
                        help="compare with the checked-in images, write nothing")
    parser.add_argument("versions", nargs="*", help="release versions to build (default: all)")
    args = parser.parse_args(argv)
    releases = release_line().releases
    wanted = [r for r in releases if not args.versions or str(r.version) in args.versions]
    unknown = set(args.versions) - {str(r.version) for r in releases}
    if unknown:
        sys.stderr.write(f"build_firmware: unknown release(s) {', '.join(sorted(unknown))}\n")
        return 2
    stale = []
    for release in wanted:
        try:
            data = build_image(release)
        except NpuError as exc:
            sys.stderr.write(f"{exc}\n")
            return 1
        path = image_file(release)
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(f"firmware/{release.image}")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    if stale:
        sys.stderr.write(f"out of date: {', '.join(stale)} (run python scripts/build_firmware.py)\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
