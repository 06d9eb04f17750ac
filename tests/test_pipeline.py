"""The bounded pipeline thread (``yolopose._pipeline.Prefetch``): order, completeness, bounded
look-ahead, errors at their position, and no thread left behind on an early exit."""
from __future__ import annotations

import threading
import time

import pytest

from yolopose._pipeline import Prefetch


def _prefetch_threads() -> list:
    return [t for t in threading.enumerate() if t.name.startswith("test-prefetch")]


@pytest.fixture(autouse=True)
def no_thread_left():
    yield
    deadline = time.monotonic() + 30  # generous: the CI machine may be loaded
    while _prefetch_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _prefetch_threads(), "a pipeline thread outlived its loop"


class Source:
    """An iterable that records which thread iterates it and whether it was closed."""

    def __init__(self, n: int, fail_at: int = -1, delay: float = 0.0) -> None:
        self.n, self.fail_at, self.delay = n, fail_at, delay
        self.produced = 0
        self.closed = False
        self.threads = set()

    def __iter__(self):
        try:
            for i in range(self.n):
                self.threads.add(threading.current_thread().name)
                if i == self.fail_at:
                    raise OSError(f"frame {i} is corrupt")
                if self.delay:
                    time.sleep(self.delay)
                self.produced += 1
                yield i
        finally:
            self.closed = True


@pytest.mark.parametrize("depth", [0, 1, 2, 5])
def test_every_item_in_order_through_prepare(depth):
    src = Source(200)
    out = list(Prefetch(src, lambda i: i * 10, depth=depth, name="test-prefetch"))
    assert out == [i * 10 for i in range(200)]
    assert src.closed
    if depth:  # decoded in the pipeline thread, not the caller's
        assert src.threads == {"test-prefetch"}
    else:
        assert src.threads == {threading.current_thread().name}


def test_prepare_runs_ahead_of_the_consumer_but_bounded():
    src = Source(100)
    ahead = Prefetch(src, depth=3, name="test-prefetch")
    it = iter(ahead)
    assert next(it) == 0
    deadline = time.monotonic() + 30  # generous: the CI machine may be loaded
    while src.produced < 5 and time.monotonic() < deadline:  # 1 taken + 3 queued + 1 being put
        time.sleep(0.01)
    time.sleep(0.1)
    assert src.produced == 5, "the pipeline should fill its queue and then wait"
    rest = list(it)
    assert rest == list(range(1, 100))


@pytest.mark.parametrize("depth", [0, 2])
def test_source_error_arrives_after_the_items_before_it(depth):
    src = Source(10, fail_at=4)
    got = []
    with pytest.raises(OSError, match="frame 4 is corrupt"):
        for item in Prefetch(src, depth=depth, name="test-prefetch"):
            got.append(item)
    assert got == [0, 1, 2, 3]
    assert src.closed


def test_prepare_error_is_raised_with_its_traceback():
    def prepare(i):
        if i == 2:
            raise ValueError("cannot letterbox frame 2")
        return i

    got = []
    with pytest.raises(ValueError, match="frame 2") as info:
        for item in Prefetch(Source(10), prepare, depth=2, name="test-prefetch"):
            got.append(item)
    assert got == [0, 1]
    assert any(entry.name == "prepare" for entry in info.traceback)


def test_early_break_stops_the_thread_and_closes_the_source():
    src = Source(10_000, delay=0.001)
    ahead = Prefetch(src, depth=2, name="test-prefetch")
    for i in ahead:
        if i == 3:
            break
    assert not ahead.alive
    assert src.closed and src.produced < 20


def test_an_exception_in_the_loop_body_stops_the_thread():
    src = Source(10_000)
    ahead = Prefetch(src, depth=2, name="test-prefetch")
    with pytest.raises(KeyError):
        for i in ahead:
            if i == 5:
                raise KeyError("consumer failed")
    assert not ahead.alive and src.closed


def test_close_from_outside_and_context_manager():
    src = Source(10_000, delay=0.001)
    with Prefetch(src, depth=4, name="test-prefetch") as ahead:
        it = iter(ahead)
        assert [next(it) for _ in range(3)] == [0, 1, 2]
    assert not ahead.alive and src.closed
    ahead.close()  # idempotent


def test_abandoned_generator_is_cleaned_up():
    src = Source(10_000, delay=0.001)
    it = iter(Prefetch(src, depth=2, name="test-prefetch"))
    next(it)
    it.close()
    assert src.closed


def test_iterated_once_and_depth_checked():
    ahead = Prefetch(Source(3), depth=1, name="test-prefetch")
    assert list(ahead) == [0, 1, 2]
    with pytest.raises(RuntimeError, match="once"):
        list(ahead)
    with pytest.raises(ValueError):
        Prefetch([], depth=-1)
