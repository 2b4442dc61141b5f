"""A restore decrypts the next chunks on another thread while it decompresses and writes the last
ones (backup.stream.read_ahead); errors still arrive in order, and a restore that gives up stops the
decrypting thread before the download's file is closed."""
import threading

import pytest

from backup.stream import read_ahead


def test_it_yields_every_item_in_order_produced_on_another_thread():
    producers = []

    def items():
        for n in range(50):
            producers.append(threading.current_thread())
            yield n

    assert list(read_ahead(items(), depth=3)) == list(range(50))
    assert threading.current_thread() not in producers


def test_an_error_of_the_producer_arrives_after_the_items_before_it():
    def items():
        yield from (1, 2, 3)
        raise ValueError("chunk 3 fails decryption")

    received = []
    with pytest.raises(ValueError, match="chunk 3"):
        for item in read_ahead(items(), depth=8):
            received.append(item)
    assert received == [1, 2, 3]


def test_a_consumer_that_stops_early_stops_and_waits_for_the_producer():
    produced = []

    def items():
        for n in range(10_000):
            produced.append(n)
            yield n

    before = {t.name for t in threading.enumerate()}
    ahead = read_ahead(items(), depth=2, name="read-ahead-under-test")
    assert next(ahead) == 0
    ahead.close()  # what a `for` loop does when its body raises (a full disk, a zstd error)
    assert len(produced) <= 5  # one handed over, two queued, one waiting: then it stopped
    assert "read-ahead-under-test" not in {t.name for t in threading.enumerate()} - before
