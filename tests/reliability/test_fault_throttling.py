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
