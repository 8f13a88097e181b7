"""Fault 5: connection resets and 5xx responses mid-scan are retried and the scan completes, equal to a clean one."""
from __future__ import annotations

import pytest

from tests.reliability.harness import FEW_CHECKS, injected_faults, assert_accounts_for_everything, restricted, scan

from scanner.simulator import Faults


@pytest.mark.parametrize(
    "kind_and_faults",
    [
        pytest.param(("reset", Faults(connection_reset_rate=0.15, seed=3)), id="connection-resets"),
        pytest.param(("5xx", Faults(server_error_rate=0.15, seed=5)), id="5xx"),
    ],
)
def test_transient_network_and_server_failures_are_retried(org, clean_scan, tmp_path, kind_and_faults):
    kind, faults = kind_and_faults
    org.faults = faults

    run = scan(org, tmp_path, "--checks", ",".join(FEW_CHECKS))

    assert run.exit_code in (0, 1), run.stderr
    assert_accounts_for_everything(run.document)
    assert restricted(run.document, FEW_CHECKS) == restricted(clean_scan.document, FEW_CHECKS)
    rate = faults.connection_reset_rate if kind == "reset" else faults.server_error_rate
    assert injected_faults(org, kind, rate) >= 3
