"""May this box write now? The write gate every write transaction, the order writer and /readyz ask.

A neutral extension point: the core knows no failover, no etcd. Two things answer:

- **The write permit** (`fence/permit.json` in the home). Absent: this box needs no permit (a single
  box). Present: writes are allowed only while it says `granted` and its deadline, on this boot's
  CLOCK_BOOTTIME, has not passed. Whoever holds the box's right to write (failover's lease holder)
  rewrites it after each confirmed renewal with a deadline that ends before its authority can end.
  Nobody has to notice that the deadline passed: every writer compares the clock with it itself,
  right before each COMMIT, so a renewing process that stalls, is stopped or dies fences the box all
  the same. A file, not a variable: the order writer, the web workers and the CLI are separate
  processes, and the order writer loads only the core. CLOCK_BOOTTIME, not time.monotonic(): it keeps
  counting through a suspend (the lease does), and the boot id makes a permit of an earlier boot void.
- **Registered gates** (`register`): callables of this process that may refuse with a reason.

A refusal is `errors.ServiceUnavailable` (503) with one sentence: "This box is fenced: <reason>."
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from .errors import ServiceUnavailable

PERMIT_FILE = Path("fence") / "permit.json"

Gate = Callable[["Permit | None"], "str | None"]
_gates: dict[str, Gate] = {}
_home: Path | None = None
_permit_file: str | None = None      # str(permit_path(_home)): a stat per check, no pathlib work
_cache: tuple[tuple, "Permit | None"] | None = None
_cache_lock = threading.Lock()


def boot_clock() -> float:
    """Seconds since boot, counting suspends; the same number in every process of the box."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:  # not Linux: CLOCK_BOOTTIME would not exist either
        return "unknown"


def fenced_error(reason: str) -> ServiceUnavailable:
    """A plain ServiceUnavailable (the order writer sends errors to the web workers by class name)."""
    return ServiceUnavailable(f"This box is fenced: {reason.rstrip('.')}.", [{"fenced": True, "reason": reason}])


@dataclass(frozen=True)
class Permit:
    granted: bool
    until: float                 # boot_clock() deadline; writes stop at this instant
    boot_id: str
    epoch: int = 0
    holder: str = ""
    reason: str = ""             # why writes are refused (not granted), or what authority granted them

    def refusal(self, now: float | None = None, current_boot: str | None = None) -> str | None:
        if not self.granted:
            return self.reason or "it does not hold the right to write"
        if self.boot_id != (current_boot or _BOOT_ID):
            return "its write permit is from an earlier boot"
        now = boot_clock() if now is None else now
        if now >= self.until:
            return (f"its write permit (epoch {self.epoch}) ran out {now - self.until:.1f} s ago: "
                    f"the lease was not renewed in time")
        return None


_BOOT_ID = boot_id()


def permit_path(home: Path) -> Path:
    return Path(home) / PERMIT_FILE


def write_permit(home: Path, permit: Permit) -> None:
    """Atomically replaces the permit (a reader sees the old one or the new one, never half)."""
    path = permit_path(home)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(permit), f)
    os.replace(tmp, path)


def remove_permit(home: Path) -> None:
    permit_path(home).unlink(missing_ok=True)


def read_permit(home: Path | str) -> Permit | None:
    """The permit, or None when there is none; an unreadable one refuses (fail closed)."""
    return _read(str(permit_path(Path(home))))


def _read(path: str) -> Permit | None:
    """One stat when the file did not change since it was last read (the file is always replaced,
    never edited in place, so a new inode or mtime says it changed)."""
    global _cache
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    key = (path, st.st_ino, st.st_mtime_ns, st.st_size)
    with _cache_lock:
        if _cache is not None and _cache[0] == key:
            return _cache[1]
    try:
        with open(path) as f:
            data = json.load(f)
        permit = Permit(**data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):
        permit = Permit(False, 0.0, "", reason="its write permit file is unreadable")
    with _cache_lock:
        _cache = (key, permit)
    return permit


def watch(home: Path | str) -> None:
    """Which home's permit this process obeys (set when the database is initialised)."""
    global _home, _permit_file
    _home = Path(home)
    _permit_file = str(permit_path(_home))


def watched_home() -> Path | None:
    return _home


def register(name: str, gate: Gate) -> None:
    """Adds a gate of this process: gate(permit) gets the permit read for this check (None: no permit
    file) and returns None (may write) or the reason it may not."""
    _gates[name] = gate


def unregister(name: str) -> None:
    _gates.pop(name, None)


def refusal() -> str | None:
    """Why this box may not write now, or None."""
    permit = _read(_permit_file) if _permit_file is not None else None
    if permit is not None:
        reason = permit.refusal()
        if reason:
            return reason
    for gate in list(_gates.values()):
        reason = gate(permit)
        if reason:
            return reason
    return None


def permits_writes(home: Path | str) -> bool:
    """Whether `home`'s permit exists and lets the box write now (failover: it holds the lease)."""
    permit = read_permit(home)
    return permit is not None and permit.refusal() is None


def writing_epoch() -> int | None:
    """The epoch of the permit this process writes under (failover), or None (a single box)."""
    permit = _read(_permit_file) if _permit_file is not None else None
    return permit.epoch if permit is not None and permit.granted and permit.epoch else None


def check() -> None:
    """Raises ServiceUnavailable (503, "This box is fenced: …") when this box may not write now."""
    reason = refusal()
    if reason:
        raise fenced_error(reason)
