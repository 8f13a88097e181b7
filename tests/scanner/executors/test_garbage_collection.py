"""The garbage collector's setting while scans run: raised while held, restored after the last holder."""
import gc

import pytest

from scanner.executors.garbage_collection import SCAN_GARBAGE_COLLECTION, GarbageCollectionSetting


def test_the_garbage_collector_runs_less_often_during_a_scan_and_is_restored_after():
    before = gc.get_threshold()
    with SCAN_GARBAGE_COLLECTION.held():
        assert gc.get_threshold() == (max(before[0], SCAN_GARBAGE_COLLECTION.threshold), *before[1:])
    assert gc.get_threshold() == before


def test_the_garbage_collector_is_restored_when_the_scan_breaks():
    before = gc.get_threshold()
    with pytest.raises(KeyboardInterrupt):
        with SCAN_GARBAGE_COLLECTION.held():
            raise KeyboardInterrupt
    assert gc.get_threshold() == before


def test_scans_at_once_in_one_process_restore_the_setting_only_after_the_last():
    before = gc.get_threshold()
    setting = GarbageCollectionSetting(threshold=before[0] + 1000)
    setting.hold()
    setting.hold()
    setting.release()
    assert gc.get_threshold()[0] == before[0] + 1000
    setting.release()
    assert gc.get_threshold() == before
