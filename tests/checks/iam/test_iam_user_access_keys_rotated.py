"""iam_user_access_keys_rotated against the simulated organization (key ages and last use set in the scenario).

"Now" is the check's injected clock: the scenario dates keys relative to when it is applied, and the tests
pass the check the instant they mean, so no verdict depends on when the test runs.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from checks.iam.iam_user_access_keys_rotated import KeyUse, iam_user_access_keys_rotated, key_problems
from scanner.errors import AccessDenied, UsageError
from scanner.model import Status
from scanner.simulator import Faults
from scanner.testing import check_context

USERS, NO_USERS = "230000000001", "230000000002"
SCENARIO = {
    "organization": {"management_account": USERS, "regions": ["us-east-1"]},
    "accounts": [
        {"id": USERS, "name": "users", "email": "u@example.com", "iam_users": [
            {"name": "fresh", "access_keys": [{"age_days": 10, "last_used_days_ago": 1}]},
            {"name": "new-unused", "access_keys": [{"age_days": 5}]},
            {"name": "old", "access_keys": [{"age_days": 200, "last_used_days_ago": 1}]},
            {"name": "old-unused", "access_keys": [{"age_days": 200}]},
            {"name": "idle", "access_keys": [{"age_days": 60, "last_used_days_ago": 50}]},
            {"name": "old-inactive", "access_keys": [{"status": "Inactive", "age_days": 400}]},
            {"name": "one-of-two", "access_keys": [{"age_days": 20, "last_used_days_ago": 2}, {"age_days": 300, "last_used_days_ago": 2}]},
            {"name": "no-keys"},
        ]},
        {"id": NO_USERS, "name": "empty", "email": "e@example.com"},
    ],
}
# Expected verdicts (default age 90 days), from AWS's documentation:
# - active keys older than 90 days fail: Security Hub IAM.3 "IAM users' access keys should be rotated every 90 days
#   or less" https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-3 and the IAM User Guide,
#   "Update access keys" https://docs.aws.amazon.com/IAM/latest/UserGuide/id-credentials-access-keys-update.html
# - only active keys count: AWS Config access-keys-rotated "checks if active IAM access keys are rotated"
#   https://docs.aws.amazon.com/config/latest/developerguide/access-keys-rotated.html
# - a key not used within the age fails, a never-used key is judged by its age: the IAM User Guide, "Manage access
#   keys for IAM users" (find unused keys with GetAccessKeyLastUsed; remove keys not needed)
#   https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html and GetAccessKeyLastUsed
#   (LastUsedDate absent when the key was never used)
#   https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccessKeyLastUsed.html
EXPECTED = {
    "fresh": Status.PASS,
    "new-unused": Status.PASS,
    "old": Status.FAIL,
    "old-unused": Status.FAIL,
    "idle": Status.PASS,
    "old-inactive": Status.NOT_APPLICABLE,
    "one-of-two": Status.FAIL,
    "no-keys": Status.NOT_APPLICABLE,
}


def _scan(sim, account, now, options=None):
    context = check_context(sim, account, "us-east-1", iam_user_access_keys_rotated, options=options)
    return {f.resource_id: f for f in iam_user_access_keys_rotated.function(context, now=lambda: now)}


def test_each_user_gets_its_verdict(make_org):
    sim = make_org(SCENARIO)
    applied = datetime.now(timezone.utc)  # the scenario's keys are dated from (about) this instant
    findings = _scan(sim, USERS, applied)
    assert {user: f.status for user, f in findings.items()} == EXPECTED
    assert "created 200 days ago and never used" in findings["old-unused"].message
    old = findings["old"].evidence
    assert old["MaxAgeDays"] == 90 and [k["AgeDays"] for k in old["ActiveKeys"]] in ([200], [199])
    assert len(old["ActiveKeys"][0]["AccessKeyIdEnding"]) == 4 and old["ActiveKeys"][0]["LastUsedDate"]
    assert findings["new-unused"].evidence["ActiveKeys"][0]["LastUsedDate"] is None
    assert findings["old"].resource_arn == f"arn:aws:iam::{USERS}:user/old"


def test_the_injected_clock_ages_the_keys(make_org):
    # 100 days later: the 10- and 5-day-old keys are past 90 days, and "idle" was last used 150 days before.
    sim = make_org(SCENARIO)
    later = datetime.now(timezone.utc) + timedelta(days=100)
    findings = _scan(sim, USERS, later)
    assert {user for user, f in findings.items() if f.status is Status.PASS} == set()
    assert "last used 150 days ago" in findings["idle"].message or "last used 149 days ago" in findings["idle"].message


def test_max_age_days_option(make_org):
    sim = make_org(SCENARIO)
    applied = datetime.now(timezone.utc)
    findings = _scan(sim, USERS, applied, options={"max-age-days": 30})
    # "idle" (60 days old) and one-of-two's 20-day key are now judged against 30 days.
    assert findings["idle"].status is Status.FAIL and findings["fresh"].status is Status.PASS
    assert findings["fresh"].evidence["MaxAgeDays"] == 30


@pytest.mark.parametrize("options, text", [
    ({"max_age_days": 0}, "max_age_days: expected a whole number from 1 to 36500"),
    ({"max_age_days": "90"}, "max_age_days: expected a whole number from 1 to 36500"),
    ({"max_age_days": True}, "max_age_days: expected a whole number from 1 to 36500"),
    ({"max_days": 30}, "max_days: unknown option; did you mean 'max_age_days'?"),
])
def test_a_wrong_option_is_refused_as_the_scan_plans_it(make_org, options, text):
    # Before any AWS call, once per scan (tests/scanner/test_check_options.py runs it through `orgscan scan`).
    sim = make_org(SCENARIO)
    with pytest.raises(UsageError) as refused:
        _scan(sim, USERS, datetime.now(timezone.utc), options=options)
    assert str(refused.value).startswith("[checks.iam_user_access_keys_rotated] ") and text in str(refused.value)


NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
DAY = timedelta(days=1)


@pytest.mark.parametrize("created, last_used, fails", [
    # "rotated every 90 days or less" (IAM.3): exactly 90 days passes, a second more fails.
    (NOW - 90 * DAY, NOW, False),
    (NOW - 90 * DAY - timedelta(seconds=1), NOW, True),
    # used exactly 90 days ago passes, a second longer fails
    (NOW - 90 * DAY, NOW - 90 * DAY, False),
    (NOW - 90 * DAY, NOW - 90 * DAY - timedelta(seconds=1), True),
    # never used: judged by its age
    (NOW - 89 * DAY, None, False),
    (NOW - 91 * DAY, None, True),
    # a naive timestamp is UTC
    ((NOW - 91 * DAY).replace(tzinfo=None), None, True),
])
def test_the_boundaries(created, last_used, fails):
    assert bool(key_problems(KeyUse("AKIAEXAMPLE", created, last_used), 90 * DAY, NOW)) is fails


def test_an_account_without_users_is_not_applicable(make_org):
    sim = make_org(SCENARIO)
    findings = list(_scan(sim, NO_USERS, datetime.now(timezone.utc)).values())
    assert [(f.status, f.resource_id) for f in findings] == [(Status.NOT_APPLICABLE, NO_USERS)]


def test_access_denied_to_list_users_names_the_action(make_org):
    sim = make_org(SCENARIO, Faults(deny_actions={USERS: ["iam:ListUsers"]}))
    with pytest.raises(AccessDenied) as error:
        _scan(sim, USERS, datetime.now(timezone.utc))
    assert "iam:ListUsers" in str(error.value)


@pytest.mark.parametrize("action", ["iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"])
def test_a_denied_per_user_read_is_an_error_per_user(make_org, action):
    sim = make_org(SCENARIO, Faults(deny_actions={USERS: [action]}))
    findings = _scan(sim, USERS, datetime.now(timezone.utc))
    errors = {user for user, f in findings.items() if f.status is Status.ERROR}
    if action == "iam:ListAccessKeys":
        assert errors == set(EXPECTED)
    else:
        # Users without active keys never ask for a last use: they keep their NOT_APPLICABLE.
        assert errors == {user for user, status in EXPECTED.items() if status is not Status.NOT_APPLICABLE}
    assert all(action in findings[user].message for user in errors)


def test_in_a_scan_each_user_gets_its_verdict(make_org, run_orgscan):
    make_org(SCENARIO)
    code, document = run_orgscan("--org", "--checks", "iam_user_access_keys_rotated", "--regions", "us-east-1", "--quiet")
    results = {(r["account_id"], r["resource_id"]): r for r in document["results"]}
    assert {user: results[(USERS, user)]["status"] for user in EXPECTED} == {u: s.value for u, s in EXPECTED.items()}
    assert results[(NO_USERS, NO_USERS)]["status"] == "NOT_APPLICABLE"
    assert all(r["region"] == "global" for r in document["results"])
    assert code == 1
