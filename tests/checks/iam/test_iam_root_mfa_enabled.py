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
REMOVED, KEYS_ONLY, CERTIFICATES_ONLY = "210000000003", "210000000004", "210000000005"
SCENARIO = {
    "organization": {"management_account": WITH_MFA, "regions": ["us-east-1"]},
    "accounts": [
        {"id": WITH_MFA, "name": "management", "email": "m@example.com", "root_mfa": True},
        {"id": WITHOUT_MFA, "name": "member", "email": "n@example.com", "root_mfa": False},
        # Centrally managed root access: the root user's credentials were deleted (MFA deactivated with them).
        {"id": REMOVED, "name": "removed", "email": "r@example.com", "root_mfa": False, "root_password": False},
        {"id": KEYS_ONLY, "name": "keys", "email": "k@example.com", "root_mfa": False, "root_password": False, "root_access_keys": True},
        {"id": CERTIFICATES_ONLY, "name": "certs", "email": "c@example.com", "root_mfa": False, "root_password": False,
         "root_signing_certificates": True},
    ],
}
# The verdicts below follow the IAM User Guide, "AWS account root user" (centrally manage root access: deleting
# root user credentials removes the password, access keys and signing certificates and deactivates MFA):
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html, and the GetAccountSummary keys of the
# botocore IAM model (summaryKeyType): https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html


def test_pass_when_root_has_mfa_and_fail_when_not(make_org):
    sim = make_org(SCENARIO)
    passed = list(iam_root_mfa_enabled(check_context(sim, WITH_MFA, "us-east-1", iam_root_mfa_enabled)))
    failed = list(iam_root_mfa_enabled(check_context(sim, WITHOUT_MFA, "us-east-1", iam_root_mfa_enabled)))
    assert [(f.status, f.resource_arn, dict(f.evidence)) for f in passed] == [
        (Status.PASS, f"arn:aws:iam::{WITH_MFA}:root", {"AccountMFAEnabled": 1})]
    assert [(f.status, f.resource_id, dict(f.evidence)) for f in failed] == [
        (Status.FAIL, WITHOUT_MFA, {"AccountMFAEnabled": 0, "AccountPasswordPresent": 1, "AccountAccessKeysPresent": 0,
                                    "AccountSigningCertificatesPresent": 0})]
    assert "a password" in failed[0].message


def test_pass_when_the_root_user_has_no_credentials_at_all(make_org):
    sim = make_org(SCENARIO)
    findings = list(iam_root_mfa_enabled(check_context(sim, REMOVED, "us-east-1", iam_root_mfa_enabled)))
    assert [(f.status, f.resource_arn, dict(f.evidence)) for f in findings] == [
        (Status.PASS, f"arn:aws:iam::{REMOVED}:root",
         {"AccountMFAEnabled": 0, "AccountPasswordPresent": 0, "AccountAccessKeysPresent": 0, "AccountSigningCertificatesPresent": 0})]
    assert "no credentials" in findings[0].message


def test_fail_when_the_root_user_keeps_access_keys_or_signing_certificates_without_a_password(make_org):
    sim = make_org(SCENARIO)
    for account, credential, key in ((KEYS_ONLY, "access keys", "AccountAccessKeysPresent"),
                                     (CERTIFICATES_ONLY, "signing certificates", "AccountSigningCertificatesPresent")):
        findings = list(iam_root_mfa_enabled(check_context(sim, account, "us-east-1", iam_root_mfa_enabled)))
        assert [f.status for f in findings] == [Status.FAIL], account
        assert findings[0].evidence[key] == 1 and findings[0].evidence["AccountPasswordPresent"] == 0
        assert credential in findings[0].message and "a password" not in findings[0].message


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
    not_a_flag = {"SummaryMap": {"AccountMFAEnabled": 0, "AccountPasswordPresent": False, "AccountAccessKeysPresent": 0,
                                 "AccountSigningCertificatesPresent": 0}}
    findings = list(iam_root_mfa_enabled(replace(context, aws=_Answer(not_a_flag))))
    assert [f.status for f in findings] == [Status.ERROR] and "AccountPasswordPresent" in findings[0].message


def test_an_answer_that_does_not_report_the_password_cannot_show_the_credentials_are_gone(make_org):
    # Without AccountPasswordPresent the root user may still have a password: judged on MFA alone.
    context = check_context(make_org(SCENARIO), WITH_MFA, "us-east-1", iam_root_mfa_enabled)
    answer = {"SummaryMap": {"AccountMFAEnabled": 0, "AccountAccessKeysPresent": 0, "AccountSigningCertificatesPresent": 0}}
    findings = list(iam_root_mfa_enabled(replace(context, aws=_Answer(answer))))
    assert [f.status for f in findings] == [Status.FAIL]
    assert "AccountPasswordPresent" in findings[0].message
    assert dict(findings[0].evidence) == answer["SummaryMap"]


def test_in_a_scan_each_root_user_gets_its_verdict(make_org, run_orgscan):
    make_org(SCENARIO)
    code, document = run_orgscan("--org", "--checks", "iam_root_mfa_enabled", "--regions", "us-east-1", "--quiet")
    statuses = {r["account_id"]: r["status"] for r in document["results"]}
    assert statuses == {WITH_MFA: "PASS", WITHOUT_MFA: "FAIL", REMOVED: "PASS", KEYS_ONLY: "FAIL", CERTIFICATES_ONLY: "FAIL"}
    removed = next(r for r in document["results"] if r["account_id"] == REMOVED)
    assert removed["evidence"]["AccountPasswordPresent"] == 0
    assert code == 1  # failures


def test_in_a_scan_the_denied_account_gets_an_error_result_naming_the_action(make_org, run_orgscan):
    passing_or_denied = {**SCENARIO, "accounts": [a for a in SCENARIO["accounts"] if a["id"] in (WITH_MFA, WITHOUT_MFA, REMOVED)]}
    make_org(passing_or_denied, Faults(deny_actions={WITHOUT_MFA: ["iam:GetAccountSummary"]}))
    code, document = run_orgscan("--org", "--checks", "iam_root_mfa_enabled", "--regions", "us-east-1", "--quiet")
    results = {r["account_id"]: r for r in document["results"]}
    assert results[WITH_MFA]["status"] == "PASS" and results[WITH_MFA]["region"] == "global"
    assert results[REMOVED]["status"] == "PASS"
    assert results[WITHOUT_MFA]["status"] == "ERROR"
    assert "iam:GetAccountSummary" in results[WITHOUT_MFA]["message"]
    assert code == 3  # errors, no failures
