"""The user-space driver for the emulated NPU.

    import driver
    with driver.open() as dev:            # newest firmware image, the current driver release
        c = dev.matmul(a16, b16)

`open()` takes its transport from `driver.transport` (a debugger installs its own
there); everything else is reached through the returned `Device`. Imports stay
light: the device model, pyelftools and the register map load on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driver.bus import Bus, Transport
    from driver.device import Device
    from driver.policy import Policy

__all__ = ["Buffer", "CompatibilityWarning", "Context", "Device", "open"]
_LAZY = {"Device": "driver.device", "CompatibilityWarning": "driver.device", "Buffer": "driver.memory",
         "Context": "driver.memory"}


def open(firmware: str | Path | bytes | None = None, release: str | None = None, *,
         transport: Transport | Bus | None = None, policy: Policy | None = None, force: bool = False,
         irq: bool = True, **options: Any) -> Device:
    """Open the NPU: reset, load and verify `firmware`, boot, apply the version policy, handshake.

    `firmware`: None (the default the transport context names, else the newest release's
    image), a release version ("1.3.0"), a path
    or the bytes of an ELF. `release`: the driver release profile to act as (default:
    this driver). `transport`: a transport, or a `Bus` whose observers should see
    bring-up too (default: `driver.transport`'s provider, which may also return a Bus).
    A pair that runs at the edge, degraded or forced warns (CompatibilityWarning).
    Raises ImageRejected, Incompatible, HandshakeRefused, DeviceTimeout.
    """
    from driver import transport as _transport
    from driver.device import Device

    chosen = _transport.defaults()
    firmware = chosen.get("firmware") if firmware is None else firmware
    release = chosen.get("release") if release is None else release
    return Device(transport or _transport.open_transport(), firmware, release, policy=policy, force=force,
                  irq=irq, **options)


def __getattr__(name: str) -> Any:
    """The public classes, imported on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'driver' has no attribute {name!r}")
