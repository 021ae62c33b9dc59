"""The device at a glance: info device (npu-smi style), info queue (rings decoded), info pipes, catch race.

Everything here reads registers with `peek` and memory through the session's views,
so looking never changes the device. Descriptors and completions are decoded by
name with the ABI table (`firmware.abi`), in the generation the handshake selected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from debugger.commands import Expr, command, parser
from debugger.errors import DebuggerError

if TYPE_CHECKING:
    from debugger.session import Session

TAKEN_SHOWN = 4  # descriptors the firmware already took, shown before the pending ones


def _peek(session: Session, path: str) -> int:
    return session.target.device.regs.peek(path)


def _field(session: Session, path: str) -> int:
    return session.target.device.regs.field(path)


def _enum(session: Session, path: str) -> str:
    f = session.target.device.regs.map.field(path)
    value = f.extract(_peek(session, f.register))
    return (f.enum.name_of(value) if f.enum else None) or str(value)


def _version(value: int) -> str:
    return f"{value >> 16 & 0xFF}.{value >> 8 & 0xFF}.{value & 0xFF}"


def _gens(mask: int) -> str:
    return ",".join(str(g) for g in range(32) if mask >> g & 1) or "none"


# ---------------------------------------------------------------- info device


def _versions(session: Session) -> list[str]:
    from driver.releases import driver_line

    target = session.target
    driver = target.driver_version or str(driver_line().newest.version)
    manifest = target.release or "?"
    live = _peek(session, "version.fw_version")
    drv_live = _peek(session, "version.driver_version")
    supported = _gens(_peek(session, "version.abi_supported"))
    handshake = _enum(session, "version.handshake.status")
    return [f"Driver      {driver} (release profile)    Firmware  {manifest} ({target.image_path.name})",
            f"Live        fw_version {_version(live)}  ABI supported {supported}"
            f"  selected {_field(session, 'version.abi_selected') or '-'}  driver "
            f"{_version(drv_live) if drv_live else '-'}  handshake {handshake}"]


def _queue_depths(session: Session) -> str:
    parts = []
    for q in _queues(session):
        if not _peek(session, f"{q}.enable"):
            parts.append(f"{q} off")
            continue
        size = _peek(session, f"{q}.sq_size") or 1
        pending = (_field(session, f"{q}.sq_tail") - _field(session, f"{q}.sq_head")) % size
        unread = (_field(session, f"{q}.cq_tail") - _field(session, f"{q}.cq_head")) % (
            _peek(session, f"{q}.cq_size") or 1)
        parts.append(f"{q} {pending}/{size} pending, {unread} completions unread")
    return "; ".join(parts)


def _queues(session: Session) -> list[str]:
    return [b.name for b in session.target.device.regs.map.blocks if b.name.startswith("queue")]


def device_summary(session: Session) -> list[str]:
    """The lines of `info device`."""
    dev = session.target.device
    regs = dev.regs
    rev = regs.map.decode("id.hw_rev", _peek(session, "id.hw_rev"))
    rev_text = ".".join(str(f.value) for f in reversed(rev))
    core = f"pc 0x{dev.core.pc:08x} <{session.code.symbolic(dev.core.pc)}>"
    temp = _field(session, "thermal.temp") / 10
    limit = _field(session, "thermal.throttle_temp") / 10
    throttled = "THROTTLED" if _field(session, "thermal.throttle") else "no"
    busy = "  ".join(f"{p} {_peek(session, f'perf.busy_{p}')}" for p in dev.pipes.names)
    wdog = "on" if _field(session, "wdog.enable") else "off"
    lines = [f"NPU {dev.config.name}  device id 0x{_peek(session, 'id.device_id'):08x}  hw rev {rev_text}"
             f"  tick {dev.now}",
             *_versions(session),
             f"State       {_enum(session, 'ctrl.state.state')} (debugger: {session.runner.state()}),  "
             f"core {core}",
             f"Thermal     {temp:.1f} C  throttle {throttled} (above {limit:.1f} C)  clock "
             f"{_field(session, 'thermal.freq')} MHz",
             f"Queues      {_queue_depths(session)}",
             f"Counters    commands done {_peek(session, 'perf.cmd_done')}  core cycles {dev.core.cycles}  "
             f"instructions {dev.core.instret}",
             f"Busy        {busy}  (unit cycles)",
             f"Watchdog    {wdog}  timeout {_peek(session, 'wdog.timeout')}  "
             f"expired {_field(session, 'wdog.expired')}",
             f"Races       {len(dev.races) + dev.races_dropped}   "
             f"Errors  {len(dev.errors) + dev.errors_dropped}"
             f" (error log: {_peek(session, 'errlog.count')}, lost {_peek(session, 'errlog.lost')})"]
    for err in dev.errors[-3:]:
        lines.append(f"  last: {err}")
    return lines


_info_device = parser("info device", "An npu-smi style summary of the device: versions, state, "
                      "temperature, clock,\nthrottling, queue depths, counters and the last errors.")


@command("info device", _info_device, category="device")
def info_device(session, args) -> None:
    session.out.lines(device_summary(session))


# ---------------------------------------------------------------- info queue


def _generation(session: Session, queue: str) -> int:
    """The ABI generation of a queue's entries: the one selected, else the one its entry size matches."""
    from firmware.abi import abi

    selected = _field(session, "version.abi_selected")
    table = abi()
    if selected in table.generations:
        return selected
    size = _field(session, f"{queue}.entry_size.sq")
    for n in sorted(table.generations):
        if table.generation(n).descriptor_size == size:
            return n
    return max(table.generations)


def _describe(session: Session, gen: int, addr: int, size: int, completion: bool) -> str:
    from firmware.abi import abi

    try:
        data = session.read_memory(addr, size)
    except DebuggerError as exc:
        return f"<unreadable: {exc}>"
    if not any(data):
        return "(empty)"
    return abi().describe(gen, data, completion=completion)


def queue_lines(session: Session, queue: str) -> list[str]:
    """The lines of `info queue` for one queue."""
    from firmware.abi import abi

    if not _peek(session, f"{queue}.enable") and not _peek(session, f"{queue}.sq_base"):
        return [f"{queue.upper()}: disabled (not programmed)"]
    gen = _generation(session, queue)
    g = abi().generation(gen)
    sq_base, cq_base = _peek(session, f"{queue}.sq_base"), _peek(session, f"{queue}.cq_base")
    sq_size, cq_size = _peek(session, f"{queue}.sq_size") or 1, _peek(session, f"{queue}.cq_size") or 1
    head, tail = _field(session, f"{queue}.sq_head"), _field(session, f"{queue}.sq_tail")
    cq_head, cq_tail = _field(session, f"{queue}.cq_head"), _field(session, f"{queue}.cq_tail")
    state = "enabled" if _peek(session, f"{queue}.enable") else "disabled"
    lines = [f"{queue.upper()} ({state}, ABI {gen}): submission ring 0x{sq_base:08x} x{sq_size} "
             f"({g.descriptor_size} B)  head {head} tail {tail}; completion ring 0x{cq_base:08x} "
             f"x{cq_size} ({g.completion_size} B)  head {cq_head} tail {cq_tail}"]
    done_ids = set()
    for i in range(cq_size):
        data = session.read_memory(cq_base + i * g.completion_size, g.completion_size) if cq_base else b""
        if data and any(data):
            done_ids.add(int.from_bytes(data[0:4], "little"))
    taken = min(TAKEN_SHOWN, sq_size - 1)
    for k in range(-taken, (tail - head) % sq_size):
        slot = (head + k) % sq_size
        addr = sq_base + slot * g.descriptor_size
        text = _describe(session, gen, addr, g.descriptor_size, False)
        if text == "(empty)":
            continue
        if k >= 0:
            status = "pending"
        else:
            values = abi().decode_descriptor(gen, session.read_memory(addr, g.descriptor_size), raw=True)
            status = "done" if values.get("command_id") in done_ids else "IN FLIGHT"
        lines.append(f"  sq[{slot:>2}] {status:<9} {text}")
    for k in range((cq_tail - cq_head) % cq_size):
        slot = (cq_head + k) % cq_size
        text = _describe(session, gen, cq_base + slot * g.completion_size, g.completion_size, True)
        lines.append(f"  cq[{slot:>2}] unread    {text}")
    if head == tail and cq_head == cq_tail:
        lines.append("  nothing pending, nothing unread")
    return lines


_info_queue = parser("info queue", "Decode the submission and completion rings: head, tail, each "
                     "descriptor's fields\nby name (from the ABI table), what is pending, in flight, "
                     "and completed but unread.")
_info_queue.add_argument("queue", type=Expr, nargs="?", help="queue number (default: every queue)")


@command("info queue", _info_queue, category="device", aliases=("info queues",))
def info_queue(session, args) -> None:
    queues = _queues(session)
    if args.queue is not None:
        if not 0 <= args.queue < len(queues):
            raise DebuggerError(f"no queue {args.queue} (queues 0..{len(queues) - 1})")
        queues = [queues[args.queue]]
    for q in queues:
        session.out.lines(queue_lines(session, q))


# ---------------------------------------------------------------- info pipes


def pipe_lines(session: Session) -> list[str]:
    from firmware.hw.pipes import flag_name

    dev = session.target.device
    pipes = dev.pipes
    now = dev.now
    lines = [f"{'pipe':<5} {'state':<9} {'queued':>6}  now"]
    for name in pipes.names:
        cur = pipes.current[name]
        queued = pipes.queues[name]
        if cur is not None:
            entry, start, end = cur
            state, what = "busy", f"{entry.describe()} ticks {start}..{end} ({max(0, end - now)} left)"
        elif name in pipes.blocked:
            since = pipes.blocked_since.get(name, now)
            state, what = "waiting", f"waits for {flag_name(pipes.blocked[name])} since tick {since}"
        else:
            state, what = "idle", ""
        lines.append(f"{name.upper():<5} {state:<9} {len(queued):>6}  {what}".rstrip())
        for entry in list(queued)[:4]:
            lines.append(f"{'':<24}queued: {entry.describe()}")
        if len(queued) > 4:
            lines.append(f"{'':<24}... {len(queued) - 4} more")
    flags = ", ".join(sorted(flag_name(f) for f in pipes.flags)) or "none"
    lines.append(f"Flags set: {flags}")
    w = dev.wait
    if w is not None:
        what = f"barrier {w.pipe or 'all'}" if w.entry is None else f"room in pipe {w.entry.pipe}"
        lines.append(f"Core waits for {what} since tick {w.since} (pc 0x{w.pc:08x})")
    if dev.races or dev.races_dropped:
        lines.append(f"Races reported: {len(dev.races) + dev.races_dropped}; last: {dev.races[-1]}")
    return lines


_info_pipes = parser("info pipes", "Each pipe's queue and current instruction, the flags set, and what "
                     "each waiting pipe\n(or the core at a barrier) waits for.")


@command("info pipes", _info_pipes, category="device")
def info_pipes(session, args) -> None:
    session.out.lines(pipe_lines(session))


# ---------------------------------------------------------------- catch race


_catch_race = parser("catch race", "Stop when the device reports a race: two pipes touching the same "
                     "bytes with no flag\nordering them (the hazard report names both instructions).")


@command("catch race", _catch_race, category="breakpoints")
def catch_race(session, args) -> None:
    from debugger.catch import RaceCatch

    point = session.points.add(RaceCatch(session.points.number()))
    session.out.line(f"Catchpoint {point.number} (race)")
