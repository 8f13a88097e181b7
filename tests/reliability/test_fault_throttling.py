"""Fault 2: throttling on 30% of calls: adaptive retries with jittered backoff, results equal a clean run's."""
from __future__ import annotations

from tests.reliability.harness import FEW_CHECKS, injected_faults, assert_accounts_for_everything, restricted, scan

from scanner.simulator import Faults


def test_throttling_on_a_third_of_calls_loses_nothing(org, clean_scan, tmp_path):
    org.faults = Faults(throttle_rate=0.3, seed=7)

    run = scan(org, tmp_path, "--checks", ",".join(FEW_CHECKS))

    assert run.exit_code in (0, 1), run.stderr
    assert_accounts_for_everything(run.document)
    assert restricted(run.document, FEW_CHECKS) == restricted(clean_scan.document, FEW_CHECKS)
    # The faults did happen, and the SDK repeated every throttled call until it got through.
    assert injected_faults(org, "throttle", 0.3) >= 5


def test_throttling_that_outlasts_the_retries_is_an_error_naming_the_action(org, clean_scan, tmp_path):
    # Every kms:ListKeys is throttled; the user's own retry setting (honoured over orgscan's default) allows two attempts.
    org.faults = Faults(throttle_rate=1.0, fault_operations=("kms:ListKeys",))

    run = scan(org, tmp_path, "--checks", ",".join(FEW_CHECKS), environment={"AWS_MAX_ATTEMPTS": "2"})

    document = run.document
    assert run.exit_code in (1, 3), run.stderr
    assert_accounts_for_everything(document)
    kms_checks = {c["id"] for c in document["scan"]["checks"] if "kms:ListKeys" in c["iam_actions"]}
    assert kms_checks
    errors = [r for r in document["results"] if r["status"] == "ERROR"]
    assert errors and {r["check_id"] for r in errors} == kms_checks
    assert all("kms:ListKeys" in r["message"] and "ThrottlingException" in r["message"] for r in errors), errors[0]["message"]
    others = tuple(c for c in FEW_CHECKS if c not in kms_checks)
    assert restricted(document, others) == restricted(clean_scan.document, others)
    # Two attempts per listing, no more: the user's retry setting was honoured.
    listings = [n for (_, _, action), n in org.call_counts().items() if action == "kms:ListKeys"]
    assert listings and set(listings) == {2}
