"""iam_user_console_mfa against the simulated organization (IAM users' passwords and MFA devices set in the scenario)."""
from __future__ import annotations

import pytest

from checks.iam.iam_user_console_mfa import iam_user_console_mfa
from scanner.errors import AccessDenied
from scanner.model import Status
from scanner.simulator import Faults
from scanner.testing import check_context

USERS, NO_USERS = "220000000001", "220000000002"
SCENARIO = {
    "organization": {"management_account": USERS, "regions": ["us-east-1"]},
    "accounts": [
        {"id": USERS, "name": "users", "email": "u@example.com", "iam_users": [
            {"name": "alice", "console_password": True, "mfa_devices": 1},
            {"name": "bob", "console_password": True},
            {"name": "ci-deployer"},
            {"name": "carol", "console_password": True, "mfa_devices": 2},
        ]},
        {"id": NO_USERS, "name": "empty", "email": "e@example.com"},
    ],
}
# Expected verdicts, from AWS's documentation:
# - a user with a console password and no MFA device fails, with one it passes: IAM User Guide, "AWS Multi-factor
#   authentication in IAM" https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa.html and Security Hub
#   control IAM.5 "MFA should be enabled for all IAM users that have a console password"
#   https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-5
# - a user without a console password is not judged: GetLoginProfile answers NoSuchEntity when "the user does not
#   have a password" https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetLoginProfile.html
EXPECTED = {
    "alice": Status.PASS,
    "bob": Status.FAIL,
    "ci-deployer": Status.NOT_APPLICABLE,
    "carol": Status.PASS,
}


def test_each_user_gets_its_verdict(make_org):
    sim = make_org(SCENARIO)
    findings = list(iam_user_console_mfa(check_context(sim, USERS, "us-east-1", iam_user_console_mfa)))
    assert {f.resource_id: f.status for f in findings} == EXPECTED
    by_user = {f.resource_id: f for f in findings}
    assert by_user["bob"].resource_arn == f"arn:aws:iam::{USERS}:user/bob"
    assert by_user["bob"].evidence == {"ConsolePassword": True, "MFADevices": []}
    assert by_user["carol"].evidence["MFADevices"] == [f"arn:aws:iam::{USERS}:mfa/carol-0", f"arn:aws:iam::{USERS}:mfa/carol-1"]
    assert by_user["ci-deployer"].evidence == {"ConsolePassword": False}
    assert {f.resource_type for f in findings} == {"AWS::IAM::User"}


def test_an_account_without_users_is_not_applicable(make_org):
    sim = make_org(SCENARIO)
    findings = list(iam_user_console_mfa(check_context(sim, NO_USERS, "us-east-1", iam_user_console_mfa)))
    assert [(f.status, f.resource_id) for f in findings] == [(Status.NOT_APPLICABLE, NO_USERS)]


def test_access_denied_to_list_users_names_the_action(make_org):
    sim = make_org(SCENARIO, Faults(deny_actions={USERS: ["iam:ListUsers"]}))
    with pytest.raises(AccessDenied) as error:
        list(iam_user_console_mfa(check_context(sim, USERS, "us-east-1", iam_user_console_mfa)))
    assert "iam:ListUsers" in str(error.value)


@pytest.mark.parametrize("action", ["iam:GetLoginProfile", "iam:ListMFADevices"])
def test_a_denied_per_user_read_is_an_error_per_user(make_org, action):
    # Denied for every user: each user is an ERROR naming the action (none is a silent PASS or N/A).
    sim = make_org(SCENARIO, Faults(deny_actions={USERS: [action]}))
    findings = list(iam_user_console_mfa(check_context(sim, USERS, "us-east-1", iam_user_console_mfa)))
    judged = {f.resource_id: f for f in findings}
    if action == "iam:GetLoginProfile":
        assert {u: f.status for u, f in judged.items()} == dict.fromkeys(EXPECTED, Status.ERROR)
    else:
        # Users without a password never reach ListMFADevices.
        assert {u: f.status for u, f in judged.items()} == {**dict.fromkeys(EXPECTED, Status.ERROR), "ci-deployer": Status.NOT_APPLICABLE}
    assert all(action in f.message for f in findings if f.status is Status.ERROR)


def test_in_a_scan_one_denied_account_does_not_hide_the_others(make_org, run_orgscan):
    scenario = {**SCENARIO, "accounts": [*SCENARIO["accounts"], {"id": "220000000003", "name": "denied", "email": "d@example.com",
                                                                  "iam_users": [{"name": "dave", "console_password": True}]}]}
    make_org(scenario, Faults(deny_actions={"220000000003": ["iam:ListUsers"]}))
    code, document = run_orgscan("--org", "--checks", "iam_user_console_mfa", "--regions", "us-east-1", "--quiet")
    results = {(r["account_id"], r["resource_id"]): r for r in document["results"]}
    assert {user: results[(USERS, user)]["status"] for user in EXPECTED} == {u: s.value for u, s in EXPECTED.items()}
    assert all(results[(USERS, user)]["region"] == "global" for user in EXPECTED)
    assert results[(NO_USERS, NO_USERS)]["status"] == "NOT_APPLICABLE"
    denied = [r for (account, _), r in results.items() if account == "220000000003"]
    assert [r["status"] for r in denied] == ["ERROR"] and "iam:ListUsers" in denied[0]["message"]
    assert code == 1  # failures (and errors)
