"""Host checks from psutil: CPU, memory, swap, load, disk space and inodes per mount, disk fill
forecast, temperature (where the hardware reports it) and clock sanity."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import statistics
from datetime import timedelta
from pathlib import Path

import psutil

from appliance.config import Settings

from ..models import Sample, StateChange
from . import Check, CheckContext, Result, ok, unknown

# cpu_percent(None) measures since the previous call: prime it so the first check sees a real figure.
psutil.cpu_percent(None)

MiB = 1024 * 1024


def cpu(ctx: CheckContext) -> Result:
    percent = psutil.cpu_percent(None)
    return Result(ctx.grade(percent), percent, f"CPU {percent:.0f}% busy since the last check")


def memory(ctx: CheckContext) -> Result:
    mem = psutil.virtual_memory()
    return Result(ctx.grade(mem.percent), mem.percent,
                  f"memory {mem.percent:.0f}% used ({mem.available // MiB} MiB available)")


def swap(ctx: CheckContext) -> Result:
    sw = psutil.swap_memory()
    if sw.total == 0:
        return ok(0.0, "no swap configured")
    return Result(ctx.grade(sw.percent), sw.percent, f"swap {sw.percent:.0f}% used")


def load(ctx: CheckContext) -> Result:
    # The 5-minute average per core: short bursts are normal, a sustained queue is not.
    per_core = os.getloadavg()[1] / (psutil.cpu_count() or 1)
    return Result(ctx.grade(per_core), round(per_core, 2), f"5-minute load {per_core:.2f} per core")


def watched_mounts(settings: Settings) -> list[str]:
    """Mount points of the home folder, every local disk and the configured extra paths, once each."""
    candidates = [str(settings.home), *[p.mountpoint for p in psutil.disk_partitions(all=False)],
                  *settings.monitors.disk_paths]
    mounts: dict[int, str] = {}
    for path in candidates:
        mount = _mount_of(Path(path))
        if mount is not None:
            mounts.setdefault(os.stat(mount).st_dev, str(mount))
    return sorted(mounts.values())


def _mount_of(path: Path) -> Path | None:
    path = path.resolve()
    while not path.exists():
        if path == path.parent:
            return None
        path = path.parent
    while not os.path.ismount(path):
        path = path.parent
    return path


def disk(ctx: CheckContext) -> Result:
    worst = None
    for mount in watched_mounts(ctx.settings):
        usage = psutil.disk_usage(mount)
        if worst is None or usage.percent > worst[1].percent:
            worst = (mount, usage)
    mount, usage = worst
    return Result(ctx.grade(usage.percent), usage.percent,
                  f"{mount} {usage.percent:.0f}% full ({usage.free // MiB} MiB free of {usage.total // MiB} MiB)")


def inodes(ctx: CheckContext) -> Result:
    worst = None
    for mount in watched_mounts(ctx.settings):
        st = os.statvfs(mount)
        if st.f_files == 0:  # file systems without an inode limit (btrfs) report 0
            continue
        percent = 100.0 * (st.f_files - st.f_ffree) / st.f_files
        if worst is None or percent > worst[1]:
            worst = (mount, percent, st.f_ffree)
    if worst is None:
        return ok(0.0, "no watched file system has an inode limit")
    mount, percent, free = worst
    return Result(ctx.grade(percent), round(percent, 1), f"{mount} {percent:.0f}% of inodes used ({free} free)")


FORECAST_WINDOW = timedelta(days=7)
FORECAST_MIN_SPAN = timedelta(hours=1)


def disk_forecast(ctx: CheckContext) -> Result:
    """Days until the fullest-growing watched mount fills, from a straight line through a week of samples."""
    soonest = None
    for mount in watched_mounts(ctx.settings):
        usage = psutil.disk_usage(mount)
        series = f"disk_used_bytes:{mount}"
        Sample.create(series=series, at=ctx.now, value=float(usage.used))
        days = _days_until_full(series, usage.free, ctx)
        if days is not None and (soonest is None or days < soonest[1]):
            soonest = (mount, days)
    if soonest is None:
        return unknown(f"collecting the usage trend (needs {FORECAST_MIN_SPAN.seconds // 3600} h of samples)")
    mount, days = soonest
    if days == float("inf"):
        return ok(None, "no watched disk is filling up")
    return Result(ctx.grade(days, higher_is_worse=False), round(days, 1), f"{mount} full in about {days:.1f} days at the current rate")


def _days_until_full(series: str, free_bytes: int, ctx: CheckContext) -> float | None:
    rows = list(Sample.select(Sample.at, Sample.value)
                .where((Sample.series == series) & (Sample.at >= ctx.now - FORECAST_WINDOW)).order_by(Sample.at))
    if len(rows) < 3 or rows[-1].at - rows[0].at < FORECAST_MIN_SPAN:
        return None
    seconds = [(r.at - rows[0].at).total_seconds() for r in rows]
    slope, _ = statistics.linear_regression(seconds, [r.value for r in rows])
    if slope <= 0:
        return float("inf")
    return free_bytes / slope / 86400


def _has_temperature_sensors(settings: Settings) -> bool:
    return bool(getattr(psutil, "sensors_temperatures", lambda: {})())


def temperature(ctx: CheckContext) -> Result:
    hottest = None
    for chip, readings in psutil.sensors_temperatures().items():
        for r in readings:
            # The sensor's own limits are better than ours when the hardware declares them.
            state = ("crit" if r.critical and r.current >= r.critical else
                     "warn" if r.high and r.current >= r.high else ctx.grade(r.current))
            label = f"{chip} {r.label}".strip()
            if hottest is None or r.current > hottest[1]:
                hottest = (label, r.current, state)
    if hottest is None:
        return unknown("the hardware reports no temperature")
    label, current, state = hottest
    return Result(state, current, f"{label} at {current:.0f} °C")


TIME_ERROR = 5  # adjtimex(2): the kernel's clock is not synchronised


def clock(ctx: CheckContext) -> Result:
    """A clock that jumped back would corrupt every 'since' and 'overdue'; an unsynchronised one drifts."""
    latest = StateChange.select(StateChange.at).order_by(StateChange.at.desc()).first()
    if latest is not None and latest.at - ctx.now > timedelta(minutes=5):
        behind = (latest.at - ctx.now).total_seconds()
        return Result("crit", round(behind), f"clock is {behind:.0f} s behind the latest recorded event")
    if _kernel_clock_unsynchronised():
        return Result("warn", None, "the kernel reports the clock is not synchronised (NTP not running?)")
    return ok(0, "clock synchronised")


class _Timex(ctypes.Structure):
    # struct timex is 208 bytes on 64-bit Linux; only `modes` (0 = read only) is written.
    _fields_ = [("modes", ctypes.c_uint), ("_rest", ctypes.c_byte * 204)]


def _kernel_clock_unsynchronised() -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        return libc.adjtimex(ctypes.byref(_Timex())) == TIME_ERROR
    except (OSError, AttributeError):  # not Linux: cannot tell, do not warn
        return False


CHECKS = [
    Check("cpu", "host", cpu, "CPU busy percent", 60, "host-overloaded", warn=90, crit=98),
    Check("memory", "host", memory, "memory used percent", 60, "host-overloaded", warn=90, crit=97),
    Check("swap", "host", swap, "swap used percent", 60, "host-overloaded", warn=50, crit=90),
    Check("load", "host", load, "5-minute load per core", 60, "host-overloaded", warn=2, crit=4),
    Check("disk", "host", disk, "fullest watched mount, percent", 60, "disk-full", warn=85, crit=95),
    Check("inodes", "host", inodes, "most used inode table, percent", 300, "disk-full", warn=85, crit=95),
    Check("disk_forecast", "host", disk_forecast, "days until the first watched mount is full", 600, "disk-full",
          warn=14, crit=3, confirm_count=1),
    Check("temperature", "host", temperature, "hottest sensor, °C", 60, "host-overheating", warn=80, crit=90,
          applies=_has_temperature_sensors),
    Check("clock", "host", clock, "clock sanity", 300, "clock-wrong", confirm_count=1),
]
