"""The process holding the scheduler (serve's background process: the shipper, the monitors, ~20 threads)
gives the memory its threads freed back to the system every minute, so its RSS does not creep up
with the allocator's free pages (issue 17: 77 -> 91 MB in 23 minutes)."""
import platform
import threading

import psutil
import pytest

from appliance.scheduler import RELEASE_MEMORY_SECONDS, SingleScheduler, release_free_memory

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")


def test_freed_memory_between_live_blocks_leaves_the_process():
    def fragment(out: list) -> None:  # on a thread of its own: its own malloc arena, as in the worker
        blocks = [bytearray(1000) for _ in range(60_000)]  # ~60 MB of malloc'd (not pymalloc) blocks
        out.extend(blocks[::100])  # one in a hundred stays: the free ones cannot be trimmed off the top
        del blocks

    kept: list = []
    thread = threading.Thread(target=fragment, args=(kept,))
    thread.start()
    thread.join()
    before = psutil.Process().memory_info().rss

    assert release_free_memory()

    after = psutil.Process().memory_info().rss
    assert before - after > 20 * 2**20, (before, after)
    assert len(kept) == 600


def test_the_scheduler_holder_releases_memory_every_minute(tmp_path):
    holder = SingleScheduler(tmp_path / "scheduler.lock", lambda scheduler: None, retry_seconds=0.1)
    holder.start()
    try:
        holder._thread.join(5)
        job = holder.scheduler.get_job("release-free-memory")
        assert job is not None and job.trigger.interval.total_seconds() == RELEASE_MEMORY_SECONDS == 60
    finally:
        holder.stop()
