"""Issue 15, finding 9: ``--fail-on-incomplete`` tells a scan that could not ask AWS from one that finished with FAILs.

An endpoint that dies mid-scan (every call to one action resets its connection,
past the SDK's retries), throttling that outlasts the retries and 5xx answers
leave targets unjudged: with ``--fail-on-incomplete`` the exit code is 5, a code
of its own, whatever FAILs were found. Refusals (AccessDenied) are about the
audit role, not about reaching AWS: they stay exit code 3 (or 1).
"""
from __future__ import annotations

import pytest

from tests.reliability.harness import FEW_CHECKS, assert_accounts_for_everything, errors_of, scan

from scanner.findings import incomplete_reason
from scanner.scan import EXIT_INCOMPLETE
from scanner.simulator import Faults

# Two attempts per call: enough to show the retries ran out without waiting for ten backoffs.
FEW_RETRIES = {"AWS_MAX_ATTEMPTS": "2"}

UNREACHABLE = [
    pytest.param(Faults(connection_reset_rate=1.0, fault_operations=("kms:ListKeys",)), "transport", id="dead-endpoint"),
    pytest.param(Faults(throttle_rate=1.0, fault_operations=("kms:ListKeys",)), "throttling", id="throttled-past-retries"),
    pytest.param(Faults(server_error_rate=1.0, fault_operations=("kms:ListKeys",)), "service", id="5xx-past-retries"),
]


@pytest.mark.parametrize("faults, kind", UNREACHABLE)
def test_an_incomplete_scan_has_its_own_exit_code_when_asked(org, tmp_path, faults, kind):
    org.faults = faults

    run = scan(org, tmp_path, "--checks", ",".join(FEW_CHECKS), "--fail-on-incomplete", environment=FEW_RETRIES)

    assert run.exit_code == EXIT_INCOMPLETE == 5, run.stderr
    document = run.document
    assert_accounts_for_everything(document)
    errors = errors_of(document)
    assert errors and {r["evidence"]["error_kind"] for r in errors} == {kind}
    # The other checks were judged as usual: the scan went on, it only could not ask KMS.
    assert any(r["status"] in ("PASS", "FAIL") for r in document["results"])


def test_without_the_option_the_exit_codes_stay_as_documented(org, tmp_path):
    org.faults = Faults(connection_reset_rate=1.0, fault_operations=("kms:ListKeys",))

    run = scan(org, tmp_path, "--checks", ",".join(FEW_CHECKS), environment=FEW_RETRIES)

    assert run.exit_code in (1, 3), run.stderr
    assert_accounts_for_everything(run.document)


def test_a_refusal_is_not_an_incomplete_scan(org, tmp_path):
    # AccessDenied says the audit role lacks a permission: AWS answered, so exit code 5 would be wrong.
    org.faults = Faults(deny_actions={"222222222222": ["kms:ListKeys"]})

    run = scan(org, tmp_path, "--checks", ",".join(FEW_CHECKS), "--fail-on-incomplete")

    assert run.exit_code in (1, 3), run.stderr
    errors = errors_of(run.document)
    assert errors and all("access denied to kms:ListKeys" in r["message"] for r in errors)
    assert not any(incomplete_reason(r) for r in errors)


def test_a_complete_scan_is_not_incomplete(org, tmp_path):
    run = scan(org, tmp_path, "--checks", ",".join(FEW_CHECKS), "--fail-on-incomplete")

    # The small organization has FAILs (a key open to everyone): 1, never 5.
    assert run.exit_code == 1, run.stderr
    assert not errors_of(run.document)


def test_the_option_is_read_from_the_config_file(org, tmp_path):
    config = tmp_path / "orgscan.toml"
    config.write_text("fail-on-incomplete = true\n")
    org.faults = Faults(connection_reset_rate=1.0, fault_operations=("kms:ListKeys",))

    run = scan(org, tmp_path, "--checks", ",".join(FEW_CHECKS), "--config", str(config), environment=FEW_RETRIES)

    assert run.exit_code == EXIT_INCOMPLETE, run.stderr
    config.write_text("fail-on-incomplete = 'yes'\n")
    refused = scan(org, tmp_path / "again", "--checks", ",".join(FEW_CHECKS), "--config", str(config))
    assert refused.exit_code == 2 and "fail-on-incomplete" in refused.stderr and "true or false" in refused.stderr
