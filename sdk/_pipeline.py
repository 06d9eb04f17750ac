"""A bounded pipeline thread: prepare the next items while the caller works on the current one.

    with Prefetch(frames, prepare, depth=2) as ahead:
        for prepared in ahead:        # prepare(frame) of frame N+1 runs while the body handles N
            ...

One background thread pulls items from ``source`` (an iterable: decoding happens in its
``__next__``), applies ``prepare`` to each and hands the results over in their order through a
queue of ``depth`` slots, so at most ``depth`` prepared items wait (memory stays bounded) and
nothing is dropped. An exception raised by the source or by ``prepare`` reaches the caller
at the position of the item that raised it, after every item before it, with its traceback; the
thread stops there. Leaving the loop early (``break``, an exception in the body, ``close()``, the
generator being collected) stops the thread and closes the source *in that thread*, so the
source is never used by two threads at once and no thread is left behind.

Decoding (Pillow, OpenCV) and numpy release the GIL, so the work overlaps with the inference
of the engine (which releases it too) on another core.
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Generic, Iterable, Iterator, Optional, Tuple, TypeVar

__all__ = ["Prefetch"]

S = TypeVar("S")
T = TypeVar("T")

_ITEM, _ERROR, _END = 0, 1, 2
_POLL = 0.05  # seconds between checks of the stop flag while the queue is full


def _identity(item: Any) -> Any:
    return item


class Prefetch(Generic[T]):
    """Iterate over ``prepare(item)`` for the items of ``source``, computed ahead in a background
    thread, with at most ``depth`` results waiting (see the module docstring). ``depth=0`` runs
    everything in the caller's thread, lazily, as a plain generator would. ``close_timeout``:
    how long leaving the loop waits for the thread (default: until it stops), see :meth:`close`."""

    def __init__(self, source: Iterable[S], prepare: Optional[Callable[[S], T]] = None, depth: int = 2,
                 name: str = "yolopose-prefetch", close_timeout: Optional[float] = None) -> None:
        if int(depth) < 0:
            raise ValueError(f"depth must be >= 0, got {depth}")
        self.depth = int(depth)
        self._source = source
        self._prepare: Callable[[Any], Any] = prepare or _identity
        self._queue: "queue.Queue[Tuple[int, Any]]" = queue.Queue(maxsize=max(1, self.depth))
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._done = False
        self._name = name
        self.close_timeout = close_timeout

    # ------------------------------------------------------------------ producer (background thread)
    def _put(self, entry: Tuple[int, Any]) -> bool:
        """Queue ``entry`` unless asked to stop first; False when stopped."""
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        iterator: Optional[Iterator[Any]] = None
        try:
            iterator = iter(self._source)
            while not self._stop.is_set():
                try:
                    item = next(iterator)
                except StopIteration:
                    break
                if not self._put((_ITEM, self._prepare(item))):
                    return
            self._put((_END, None))
        except BaseException as exc:  # handed to the consumer, raised there
            self._put((_ERROR, exc))
        finally:
            close = getattr(iterator, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:
                    pass

    # ------------------------------------------------------------------ consumer
    def __iter__(self) -> Iterator[T]:
        if self.depth == 0:
            yield from self._inline()
            return
        if self._thread is not None or self._done:
            raise RuntimeError("a Prefetch can be iterated once")
        self._thread = threading.Thread(target=self._produce, name=self._name, daemon=True)
        self._thread.start()
        try:
            while True:
                kind, value = self._queue.get()
                if kind == _ITEM:
                    yield value
                elif kind == _ERROR:
                    raise value
                else:
                    return
        finally:
            self.close(self.close_timeout)

    def _inline(self) -> Iterator[T]:
        iterator = iter(self._source)
        try:
            for item in iterator:
                yield self._prepare(item)
        finally:
            close = getattr(iterator, "close", None)
            if callable(close):
                close()
            self._done = True

    def close(self, timeout: Optional[float] = None) -> None:
        """Stop the thread (after the item it is preparing) and wait for it; idempotent.

        ``timeout`` (seconds) bounds the wait; a source blocked in ``__next__`` (a live stream
        that sends nothing) is left to end on its own, the thread being a daemon."""
        self._stop.set()
        self._done = True
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return
        while thread.is_alive():
            try:  # free a slot so a producer blocked on a full queue sees the stop flag
                while True:
                    self._queue.get_nowait()
            except queue.Empty:
                pass
            thread.join(_POLL if timeout is None else min(_POLL, timeout))
            if timeout is not None:
                timeout -= _POLL
                if timeout <= 0:
                    break

    @property
    def alive(self) -> bool:
        """Whether the background thread is still running."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> "Prefetch[T]":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close(self.close_timeout)
