"""The local executor's process settings (the fan-out itself is exercised end to end in test_scan.py and tests/reliability)."""
import gc

import pytest

from scanner.runner import SCAN_GC_THRESHOLD, fewer_garbage_collections


def test_the_garbage_collector_runs_less_often_during_a_scan_and_is_restored_after():
    before = gc.get_threshold()
    with fewer_garbage_collections():
        assert gc.get_threshold() == (max(before[0], SCAN_GC_THRESHOLD), *before[1:])
    assert gc.get_threshold() == before


def test_the_garbage_collector_is_restored_when_the_scan_breaks():
    before = gc.get_threshold()
    with pytest.raises(KeyboardInterrupt):
        with fewer_garbage_collections():
            raise KeyboardInterrupt
    assert gc.get_threshold() == before
