"""The runner and the local executor: check threads, checks limited to a few parallel runs.

The fan-out itself is exercised end to end in test_scan.py and tests/reliability.
"""
import threading
from dataclasses import replace

import pytest

from scanner.runner import CheckThreads

MANAGEMENT, MEMBER_A, MEMBER_B = "111111111111", "222222222222", "333333333333"
THREE_ACCOUNTS = {
    "name": "three",
    "organization": {"management_account": MANAGEMENT, "regions": ["us-east-1", "eu-west-1"], "units": ["Workloads"]},
    "accounts": [
        {"id": MANAGEMENT, "name": "management", "email": "management@example.com"},
        {"id": MEMBER_A, "name": "member-a", "email": "a@example.com", "ou": "Workloads"},
        {"id": MEMBER_B, "name": "member-b", "email": "b@example.com", "ou": "Workloads"},
    ],
}


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
    assert all(limited[a]["evidence"]["caller_account"] == a for a in scanned)
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


def test_a_limited_check_that_overruns_its_timeout_keeps_its_run_slot(make_org, run_orgscan):
    from tests.plugins import limited_plugin

    make_org(THREE_ACCOUNTS)
    code, document = run_orgscan(
        "--org", "--regions", "us-east-1", "--plugin", "tests.plugins.limited_plugin", "--checks", "limited_overruns",
    )
    results = [r for r in document["results"] if r["check_id"] == "limited_overruns"]
    assert len(results) == 3 and all(r["status"] == "ERROR" and "timed out after 0.2 s" in r["message"] for r in results)
    # Each run went on until the host had reported it timed out: the next still waited for it to end.
    assert limited_plugin.overruns.peak == 1


def test_a_targets_limited_and_other_checks_report_as_one_target(make_org, run_orgscan):
    """Two limited account-wide checks (one overruns, one waits for the regional targets) beside an unlimited one."""
    make_org(THREE_ACCOUNTS)
    code, document = run_orgscan(
        "--org", "--regions", "us-east-1,eu-west-1", "--concurrency", "1",
        "--plugin", "tests.plugins.fake_plugin", "--plugin", "tests.plugins.limited_plugin",
        "--checks", "fake_vpc_count,fake_account_alias_present,limited_waits_for_regional,limited_overruns",
    )
    by_check = {}
    for r in document["results"]:
        by_check.setdefault(r["check_id"], []).append(r)
    assert [r["status"] for r in by_check["limited_waits_for_regional"]] == ["PASS"] * 3
    # The target's own checks and its limited ones are one target in the document, in planned order.
    planned = [c["id"] for c in document["scan"]["checks"] if c["scope"] == "account"]
    assert sorted(planned) == ["fake_account_alias_present", "limited_overruns", "limited_waits_for_regional"]
    for account in (MANAGEMENT, MEMBER_A, MEMBER_B):
        global_checks = [r["check_id"] for r in document["results"] if r["account_id"] == account and r["target_region"] == "global"]
        assert global_checks == planned
