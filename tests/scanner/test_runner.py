"""The runner and the local executor: garbage-collector settings, check threads, checks limited to a few parallel runs.

The fan-out itself is exercised end to end in test_scan.py and tests/reliability.
"""
import gc
import threading
from dataclasses import replace

import pytest

from scanner.runner import SCAN_GARBAGE_COLLECTION, CheckThreads, GarbageCollectionSetting


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


def test_a_check_with_max_parallel_runs_never_holds_up_other_targets(simulated_org, run_orgscan):
    """Two target threads, nine accounts, a one-at-a-time account-wide check that waits for every regional target."""
    code, document = run_orgscan(
        "--org", "--regions", "us-east-1,eu-west-1", "--concurrency", "2",
        "--plugin", "tests.plugins.fake_plugin", "--plugin", "tests.plugins.limited_plugin",
        "--checks", "fake_vpc_count,limited_waits_for_regional",
    )
    limited = {r["account_id"]: r for r in document["results"] if r["check_id"] == "limited_waits_for_regional"}
    scanned = {a["id"] for a in document["scan"]["accounts"] if a["status"] == "scanned"}
    assert scanned <= set(limited) and len(scanned) > 2
    assert {limited[a]["status"] for a in scanned} == {"PASS"}, [r["message"] for r in limited.values()]
    assert max(limited[a]["evidence"]["peak_parallel_runs"] for a in scanned) == 1
    vpc_targets = {(r["account_id"], r["target_region"]) for r in document["results"] if r["check_id"] == "fake_vpc_count"}
    assert {region for _, region in vpc_targets} == {"us-east-1", "eu-west-1"}


def test_max_parallel_runs_must_be_a_positive_integer():
    from tests.plugins.limited_plugin import limited_waits_for_regional

    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="max_parallel_runs must be a positive integer"):
            replace(limited_waits_for_regional.metadata, max_parallel_runs=bad)


def test_check_threads_are_reused_and_end_when_closed():
    threads = CheckThreads()
    seen = []
    for n in range(3):
        assert threads.run(lambda: seen.append(threading.current_thread()), f"check-{n}").wait(10)
    # Each run is over before the next starts: one thread served all three, named after the run.
    assert len({id(t) for t in seen}) == 1 and seen[0].daemon
    assert seen[0].name == "check-2"
    threads.close()
    seen[0].join(10)
    assert not seen[0].is_alive()


def test_an_overrunning_check_keeps_its_thread_and_the_next_run_gets_another():
    threads = CheckThreads()
    release = threading.Event()
    slow = threads.run(release.wait, "check-slow")
    assert not slow.wait(0.05)
    assert threads.run(lambda: None, "check-next").wait(10)
    threads.close()
    release.set()
    assert slow.wait(10)
