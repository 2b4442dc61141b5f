"""Long operations print progress lines: bytes done (of the total, when known), rate and ETA, and a
last line with the time taken; a quick operation prints nothing."""
from __future__ import annotations

import io
import re

from backup.progress import Progress

MIB = 1024 * 1024


def test_a_known_total_gives_bytes_of_total_rate_and_eta():
    out = io.StringIO()
    progress = Progress("restore x", total=10 * MIB, stream=out, interval=0)
    progress(4 * MIB)
    progress(6 * MIB)
    progress.finish()

    first, _, last = out.getvalue().splitlines()
    assert re.fullmatch(r"restore x: 4\.0 MiB of 10\.0 MiB, [\d.]+ MiB/s, ETA \d+s", first)
    assert re.fullmatch(r"restore x: 10\.0 MiB of 10\.0 MiB, [\d.]+ MiB/s, done in [\d.]+s", last)


def test_an_unknown_total_gives_bytes_and_rate_without_eta():
    out = io.StringIO()
    progress = Progress("replica", stream=out, interval=0)
    progress(MIB)

    assert re.fullmatch(r"replica: 1\.0 MiB, [\d.]+ MiB/s\n", out.getvalue())


def test_a_quick_operation_or_a_quiet_one_prints_nothing():
    quick, quiet = io.StringIO(), io.StringIO()
    progress = Progress("backup", total=MIB, stream=quick)  # lines at most once a second
    progress(MIB)
    progress.finish()
    muted = Progress("backup", total=MIB, stream=quiet, interval=0, enabled=False)
    muted(MIB)
    muted.finish()

    assert quick.getvalue() == "" and quiet.getvalue() == ""
