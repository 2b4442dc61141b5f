"""Progress of long operations as short lines on stderr: bytes, rate and ETA, at most once a second."""
from __future__ import annotations

import sys
import time
from typing import TextIO


def _mib(n: float) -> str:
    return f"{n / 1048576:.1f} MiB"


class Progress:
    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None,
                 interval: float = 1.0, enabled: bool = True):
        self.label, self.total, self.done_bytes = label, total, 0
        self._stream = stream or sys.stderr
        self._interval, self._enabled = interval, enabled
        self._start = self._last = time.monotonic()

    def __call__(self, n: int) -> None:
        self.done_bytes += n
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._print(now)

    def finish(self) -> float:
        """Prints the final line; returns the elapsed seconds."""
        now = time.monotonic()
        if now - self._start >= self._interval:  # quick operations stay silent
            self._print(now, final=True)
        return now - self._start

    def _print(self, now: float, final: bool = False) -> None:
        if not self._enabled:
            return
        elapsed = max(now - self._start, 1e-6)
        rate = self.done_bytes / elapsed
        line = f"{self.label}: {_mib(self.done_bytes)}"
        if self.total:
            line += f" of {_mib(self.total)}"
        line += f", {_mib(rate)}/s"
        if self.total and not final and rate > 0:
            line += f", ETA {max(self.total - self.done_bytes, 0) / rate:.0f}s"
        if final:
            line += f", done in {elapsed:.1f}s"
        print(line, file=self._stream, flush=True)


def quiet(_n: int) -> None:
    """A progress callback that reports nothing."""
