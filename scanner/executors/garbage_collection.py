"""The cyclic garbage collector's setting while scans run (every executor holds it)."""
from __future__ import annotations

import contextlib
import gc
import threading
from typing import Iterator


class GarbageCollectionSetting:
    """The cyclic garbage collector's first threshold raised while scans run; restored after the last.

    botocore's service models stay loaded for the whole scan (hundreds of thousands of
    objects), and every full collection walks them again; creating clients allocates
    enough to trigger one every few accounts. With Python's default threshold (700), a
    scan of 100 accounts spent about 7 s in the collector, a quarter of its CPU; with
    20,000, about 2 s, for about 30 MB more peak memory (bench/, docs/benchmarks.md).
    Scans that run at once in one process (a Dask worker's) share the setting: the first
    raises it, the last restores what it was.
    """

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self._lock = threading.Lock()
        self._holders = 0
        self._before: tuple[int, ...] = gc.get_threshold()

    def hold(self) -> None:
        with self._lock:
            if self._holders == 0:
                self._before = gc.get_threshold()
                gc.set_threshold(max(self._before[0], self.threshold), *self._before[1:])
            self._holders += 1

    def release(self) -> None:
        with self._lock:
            if self._holders == 0:
                raise RuntimeError("garbage-collection setting released more often than held")
            self._holders -= 1
            if self._holders == 0:
                gc.set_threshold(*self._before)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.hold()
        try:
            yield
        finally:
            self.release()


SCAN_GARBAGE_COLLECTION = GarbageCollectionSetting(threshold=20_000)
