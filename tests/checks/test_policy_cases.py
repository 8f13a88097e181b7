"""orgscan's evaluator and checks against the table of documented policy patterns (tests/checks/policy_cases.py)."""
from __future__ import annotations

import pytest

from checks.devopsguru.devopsguru_cmk_policy_grants_service import judge as judge_grants
from checks.devopsguru.devopsguru_cmk_policy_grants_service import read_options, service_access
from checks.devopsguru.devopsguru_endpoint_policy_restricted import endpoint_public_accesses
from checks.kms.kms_key_policy_admin_restricted import admin_accesses
from checks.kms.kms_key_policy_no_public_access import public_accesses
from checks.policy import Caller, CallerKind, Request, Verdict, evaluate, parse_policy
from policy_cases import ACCOUNT, CASES, KEY_ARN, ORG, REGION, VPC, VPCE
from scanner.model import Status

_DECISIONS = {Verdict.ALLOWED: "Allow", Verdict.EXPLICIT_DENY: "ExplicitDeny", Verdict.IMPLICIT_DENY: "ImplicitDeny", Verdict.UNKNOWN: "Unknown"}


def request_from(spec: dict) -> Request:
    """The plain-data request of a case as orgscan's :class:`Request`: every key not listed is absent."""
    principal = spec["principal"]
    caller = Caller(
        CallerKind(principal["type"]),
        account=principal.get("account"),
        arn=principal.get("arn"),
        session_arn=principal.get("session_arn"),
        service=principal.get("service"),
        org_id=principal.get("org_id"),
        org_paths=tuple(principal.get("org_paths", ())),
    )
    return Request(spec["action"], caller=caller, resource=spec.get("resource"), context=spec["context"])


def test_the_table_is_large_and_cites_aws():
    assert len(CASES) >= 80
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert all(c["doc"].startswith("https://docs.aws.amazon.com/") for c in CASES)
    # Both directions per pattern: every pattern has an allowed and a denied request, or a PASS and a FAIL.
    assert {c["expected"] for c in CASES} == {"Allow", "ExplicitDeny", "ImplicitDeny"}
    for check_id in ("devopsguru_cmk_policy_grants_service", "kms_key_policy_no_public_access", "kms_key_policy_admin_restricted", "devopsguru_endpoint_policy_restricted"):
        assert {c["check"]["verdict"] for c in CASES if c.get("check", {}).get("id") == check_id} == {"PASS", "FAIL"}, check_id


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_decision_follows_aws_documentation(case):
    decision = evaluate(parse_policy(case["policy"]), request_from(case["request"]))
    assert _DECISIONS[decision.verdict] == case["expected"], f"{case['pattern']} ({case['doc']})"


CHECKED = [c for c in CASES if "check" in c]


@pytest.mark.parametrize("case", CHECKED, ids=[c["id"] for c in CHECKED])
def test_check_verdict_follows_aws_documentation(case):
    policy = parse_policy(case["policy"])
    check_id, expected, options = case["check"]["id"], case["check"]["verdict"], case["check"]["options"]
    if check_id == "devopsguru_cmk_policy_grants_service":
        status, message = judge_grants(service_access(policy, ACCOUNT, REGION, "aws", KEY_ARN), ACCOUNT, REGION, read_options(options))
        verdict = status.value
    elif check_id == "kms_key_policy_no_public_access":
        verdict = "FAIL" if public_accesses(policy, KEY_ARN, ACCOUNT, "aws") else "PASS"
    elif check_id == "kms_key_policy_admin_restricted":
        verdict = "FAIL" if admin_accesses(policy, KEY_ARN, ACCOUNT, "aws", ORG) else "PASS"
    else:
        verdict = "FAIL" if endpoint_public_accesses(policy, VPCE, VPC, ACCOUNT, REGION, "aws") else "PASS"
    assert verdict == expected, f"{check_id}: {case['pattern']} ({case['doc']})"
    assert Status(verdict)
