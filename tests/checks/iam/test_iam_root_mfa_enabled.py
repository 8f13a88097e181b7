"""iam_root_mfa_enabled against the simulated organization (root MFA set per account in the scenario)."""
from __future__ import annotations

from dataclasses import replace

import pytest

from checks.iam.iam_root_mfa_enabled import iam_root_mfa_enabled
from scanner.errors import AccessDenied
from scanner.model import Status
from scanner.simulator import Faults
from scanner.testing import check_context

WITH_MFA, WITHOUT_MFA = "210000000001", "210000000002"
SCENARIO = {
    "organization": {"management_account": WITH_MFA, "regions": ["us-east-1"]},
    "accounts": [
        {"id": WITH_MFA, "name": "management", "email": "m@example.com", "root_mfa": True},
        {"id": WITHOUT_MFA, "name": "member", "email": "n@example.com", "root_mfa": False},
    ],
}


def test_pass_when_root_has_mfa_and_fail_when_not(make_org):
    sim = make_org(SCENARIO)
    passed = list(iam_root_mfa_enabled(check_context(sim, WITH_MFA, "us-east-1", iam_root_mfa_enabled)))
    failed = list(iam_root_mfa_enabled(check_context(sim, WITHOUT_MFA, "us-east-1", iam_root_mfa_enabled)))
    assert [(f.status, f.resource_arn, dict(f.evidence)) for f in passed] == [
        (Status.PASS, f"arn:aws:iam::{WITH_MFA}:root", {"AccountMFAEnabled": 1})]
    assert [(f.status, f.resource_id, dict(f.evidence)) for f in failed] == [
        (Status.FAIL, WITHOUT_MFA, {"AccountMFAEnabled": 0})]


def test_access_denied_names_the_action(make_org):
    sim = make_org(SCENARIO, Faults(deny_actions={WITHOUT_MFA: ["iam:GetAccountSummary"]}))
    with pytest.raises(AccessDenied) as error:
        list(iam_root_mfa_enabled(check_context(sim, WITHOUT_MFA, "us-east-1", iam_root_mfa_enabled)))
    assert "iam:GetAccountSummary" in str(error.value)


class _Answer:
    """A reader that returns a fixed (malformed) GetAccountSummary answer."""

    def __init__(self, answer):
        self.answer = answer

    def call(self, service, operation, **params):
        return self.answer


def test_malformed_summary_is_an_error_result(make_org):
    context = check_context(make_org(SCENARIO), WITH_MFA, "us-east-1", iam_root_mfa_enabled)
    for answer in ({}, {"SummaryMap": None}, {"SummaryMap": {}}, {"SummaryMap": {"AccountMFAEnabled": "1"}}):
        findings = list(iam_root_mfa_enabled(replace(context, aws=_Answer(answer))))
        assert [f.status for f in findings] == [Status.ERROR], answer
        assert "AccountMFAEnabled" in findings[0].message


def test_in_a_scan_the_denied_account_gets_an_error_result_naming_the_action(make_org, run_orgscan):
    make_org(SCENARIO, Faults(deny_actions={WITHOUT_MFA: ["iam:GetAccountSummary"]}))
    code, document = run_orgscan("--org", "--checks", "iam_root_mfa_enabled", "--regions", "us-east-1", "--quiet")
    results = {r["account_id"]: r for r in document["results"]}
    assert results[WITH_MFA]["status"] == "PASS" and results[WITH_MFA]["region"] == "global"
    assert results[WITHOUT_MFA]["status"] == "ERROR"
    assert "iam:GetAccountSummary" in results[WITHOUT_MFA]["message"]
    assert code == 3  # errors, no failures
