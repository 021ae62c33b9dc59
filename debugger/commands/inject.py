"""Fault injection on the device's hooks: inject KIND [at TICK | on EVENT], info inject.

The device arms the fault and fires it deterministically in virtual time
(`firmware.hw.inject`), so a driver engineer can watch recovery step by step and
the same script gives the same run. The names people type map onto the device's.
"""

from __future__ import annotations

from debugger.commands import command, parser
from debugger.errors import UsageError

# What people type -> the device's injection kind.
KINDS = {"hang": "hang", "irq-loss": "lost_irq", "dma-error": "dma_error", "trap": "trap",
         "bad-completion": "corrupt_completion"}
TYPED = {v: k for k, v in KINDS.items()}

_inject = parser("inject", "Arm a device fault, triggered at a tick or on the next event (default: now).\n"
                 "  hang            the firmware spins: no progress, no watchdog pets\n"
                 "  irq-loss        the next host interrupt is dropped\n"
                 "  dma-error       the next npu.dma fails with a DMA device error\n"
                 "  trap            the next Xnpu instruction traps as illegal\n"
                 "  bad-completion  the next completion entry the firmware publishes is corrupted\n"
                 "Events: doorbell, xnpu, dma, completion, irq. `at +N` is N ticks from now.")
_inject.add_argument("kind", choices=tuple(KINDS), help="the fault")
_inject.add_argument("when", nargs="*", default=[], help="at TICK | at +TICKS | on EVENT")


def _when(session, words: list[str]) -> tuple[int | None, str | None]:
    now = session.target.device.now
    if not words:
        return now, None
    if len(words) != 2 or words[0] not in ("at", "on"):
        raise UsageError("inject: say when as 'at TICK', 'at +TICKS' or 'on EVENT'")
    if words[0] == "on":
        return None, words[1]
    text = words[1]
    tick = now + session.eval(text[1:]) if text.startswith("+") else session.eval(text)
    return tick, None


@command("inject", _inject, category="device")
def inject(session, args) -> None:
    at, on = _when(session, args.when)
    inj = session.target.device.inject(KINDS[args.kind], at=at, on=on)
    when = f"at tick {at}" if at is not None else f"on the next {on}"
    session.out.line(f"Injection {inj.id}: {args.kind} {when}.")


_info_inject = parser("info inject", "Injections waiting for their trigger or to fire, and the log of what "
                      "was triggered\nand fired, with ticks.")


@command("info inject", _info_inject, category="device", aliases=("info injections",))
def info_inject(session, args) -> None:
    injector = session.target.device.injector
    out = session.out
    waiting, armed = injector.waiting, injector.armed
    if not (waiting or armed or injector.log):
        out.line("No injections.")
        return
    for inj in waiting:
        when = f"at tick {inj.at}" if inj.at is not None else f"on {inj.on}"
        out.line(f"{inj.id:>3}  {TYPED[inj.kind]:<15} waiting for its trigger ({when})")
    for inj in armed:
        out.line(f"{inj.id:>3}  {TYPED[inj.kind]:<15} triggered, fires at its next opportunity")
    for entry in injector.log:
        kind = TYPED[entry.injection.kind]
        out.line(f"     tick {entry.tick:>12}: injection {entry.injection.id} ({kind}) {entry.what}")
