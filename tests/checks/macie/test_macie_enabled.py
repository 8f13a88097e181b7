"""macie_enabled against the simulated organization (Macie sessions and DevOps Guru set per account and region).

Ground truth:
- Macie API Reference, "Account Administration" (https://docs.aws.amazon.com/macie/latest/APIReference/macie.html):
  enabling Macie creates the account's Macie *session* in the region; GetMacieSession returns its ``status``,
  ENABLED or PAUSED (suspended: "the service stops performing all activities for your account").
- A region where Macie was never enabled has no session: AWS answers GetMacieSession with AccessDeniedException
  "Macie is not enabled." (what AWS's CLI shows; see docs/checks/macie.md). Any other AccessDeniedException is a
  missing permission of the caller: ERROR, never a verdict.
- DevOps Guru data protection (https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html)
  recommends "advanced managed security services such as Amazon Macie"; the check applies where DevOps Guru
  analyses resources (its resource collection has CloudFormation stacks or tag boundaries,
  https://docs.aws.amazon.com/devops-guru/latest/APIReference/API_GetResourceCollection.html).
"""
from __future__ import annotations

import json

import pytest

from checks.macie.macie_enabled import macie_enabled
from scanner.model import Status
from scanner.simulator import Faults
from scanner.testing import check_context

REGION, OTHER_REGION = "us-east-1", "eu-west-1"
ENABLED, PAUSED, NEVER, TAGS_ONLY = "310000000001", "310000000002", "310000000003", "310000000004"
ALL_STACKS = {"region": REGION, "stacks": ["*"]}


def _account(account_id: str, name: str, **extra) -> dict:
    return {"id": account_id, "name": name, "email": f"{name}@example.com", "default_vpc": False, **extra}


SCENARIO = {
    "organization": {"management_account": ENABLED, "regions": [REGION, OTHER_REGION]},
    "accounts": [
        _account(ENABLED, "enabled", devops_guru=[ALL_STACKS], macie=[{"region": REGION, "status": "ENABLED"}]),
        _account(PAUSED, "paused", devops_guru=[ALL_STACKS], macie=[{"region": REGION, "status": "PAUSED"}]),
        _account(NEVER, "never", devops_guru=[ALL_STACKS], macie=[{"region": OTHER_REGION}]),
        _account(TAGS_ONLY, "tags", devops_guru=[{"region": REGION, "tags": {"DevOps-Guru-App": ["shop"]}}],
                 macie=[{"region": REGION}]),
    ],
}

# (account, region, expected status, words in the message) -- each row cites the documentation in the module docstring.
CASES = [
    (ENABLED, REGION, Status.PASS, "is enabled"),                  # session status ENABLED
    (TAGS_ONLY, REGION, Status.PASS, "is enabled"),                # DevOps Guru in use through a tag boundary
    (PAUSED, REGION, Status.FAIL, "suspended (PAUSED)"),           # suspended: Macie performs no activities
    (NEVER, REGION, Status.FAIL, "is not enabled"),                # no session: AccessDeniedException "Macie is not enabled."
    (ENABLED, OTHER_REGION, Status.NOT_APPLICABLE, "not in use"),  # DevOps Guru analyses nothing in eu-west-1
    (NEVER, OTHER_REGION, Status.NOT_APPLICABLE, "not in use"),    # Macie on, but DevOps Guru not in use there
]


def _judge(sim, account: str, region: str) -> list:
    findings = list(macie_enabled(check_context(sim, account, region, macie_enabled)))
    json.dumps([dict(f.evidence) for f in findings])
    return findings


def test_verdicts_follow_the_macie_session(make_org):
    sim = make_org(SCENARIO)
    for account, region, status, words in CASES:
        findings = _judge(sim, account, region)
        assert [f.status for f in findings] == [status], (account, region, [f.message for f in findings])
        assert words in findings[0].message, findings[0].message
        assert findings[0].region in (None, region)


def test_evidence_names_the_session_status_and_what_devops_guru_analyses(make_org):
    sim = make_org(SCENARIO)
    (passed,) = _judge(sim, ENABLED, REGION)
    assert passed.resource_id == "macie-session" and passed.resource_type == "AWS::Macie::Session"
    assert passed.evidence["status"] == "ENABLED"
    assert passed.evidence["devops_guru"]["cloudformation_stacks"] == ["*"]
    (never,) = _judge(sim, NEVER, REGION)
    assert never.evidence["GetMacieSession"] == "AccessDeniedException: Macie is not enabled"


def test_a_disabled_macie_is_not_enabled(make_org):
    # DisableMacie deletes the session (Macie API Reference, "Account Administration"): the answer is then the
    # one of an account that never enabled Macie.
    sim = make_org(SCENARIO)
    from moto.macie2.models import macie2_backends

    macie2_backends[ENABLED][REGION].disable_macie()
    (finding,) = _judge(sim, ENABLED, REGION)
    assert finding.status is Status.FAIL and "is not enabled" in finding.message


@pytest.mark.parametrize("action", ["macie2:GetMacieSession", "devops-guru:GetResourceCollection"])
def test_access_denied_is_error_naming_the_action(make_org, action):
    # A denied caller also gets AccessDeniedException, but not "Macie is not enabled": never a FAIL or PASS.
    sim = make_org(SCENARIO, Faults(deny_actions={ENABLED: [action], NEVER: [action]}))
    for account in (ENABLED, NEVER):
        (finding,) = _judge(sim, account, REGION)
        assert finding.status is Status.ERROR, finding.message
        assert action in finding.message
