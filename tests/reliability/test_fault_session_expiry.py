"""Fault 7: role sessions that expire during a long scan are refreshed without errors."""
from __future__ import annotations

import time

from tests.reliability.harness import FEW_CHECKS, MEMBERS, assert_accounts_for_everything, errors_of, restricted, scan

from scanner.simulator import Faults

SESSION_SECONDS = 1


def test_expiring_role_sessions_are_refreshed(org, clean_scan, tmp_path):
    org.faults = Faults(max_session_seconds=SESSION_SECONDS, latency_ms=40)

    started = time.monotonic()
    run = scan(org, tmp_path, "--checks", ",".join(FEW_CHECKS), "--concurrency", "2")
    elapsed = time.monotonic() - started

    assert elapsed > 2 * SESSION_SECONDS, "the scan ended before any session could expire"
    assert not errors_of(run.document), errors_of(run.document)
    assert_accounts_for_everything(run.document)
    assert restricted(run.document, FEW_CHECKS) == restricted(clean_scan.document, FEW_CHECKS)
    assume_role_calls = sum(n for (_, _, action), n in org.call_counts().items() if action == "sts:AssumeRole")
    assert assume_role_calls > len(MEMBERS), "no role session was ever refreshed"
