"""Issue 15, finding 3: one resource's hostile AWS answer is an ERROR for that resource only; the others are judged.

Each case serves one account's scan through the simulated organization over
HTTP, with ONE resource's answer made hostile by the simulator
(``Faults.answer_edits``: a wrong type, a 4,301-digit integer, a missing
member), and asserts that the check still gives its verdict on the other
resource and an ERROR naming the hostile one, never one ERROR for the whole
target instead. Nothing in orgscan is patched: the real CLI, runner, reader,
SDK parsing and check run.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

import pytest

from scanner.simulator import Faults, edit_json_answer

ACCOUNT = "111111111111"
REGION = "us-east-1"
HUGE_NUMBER = "1" * 4301  # one digit past Python's int-conversion limit (4,300 digits)

# Key ids sort in ListKeys order: the hostile key comes first, so that a failure it causes cannot hide behind
# an already judged good key.
BAD_KEY = "0a0a0a0a-0000-4000-8000-000000000001"
GOOD_KEY = "0b0b0b0b-0000-4000-8000-000000000002"

# A key policy that lets every AWS principal use and administer the key with no condition: public.
# https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html ("Principal": "*" without a
# condition gives every identity in every AWS account access) -> kms_key_policy_no_public_access FAIL;
# https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-administrators
# (administrative actions belong to the key's own account's administrators) -> kms_key_policy_admin_restricted FAIL.
PUBLIC_KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"},
    ],
}
HUGE_NUMBER_POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::'
    + ACCOUNT + ':root"}, "Action": "kms:*", "Resource": "*", "Condition": {"NumericLessThan": {"kms:RequestCount": '
    + HUGE_NUMBER + "}}}]}"
)


def _scenario() -> dict[str, Any]:
    return {
        "name": "resource-isolation",
        "organization": {"management_account": ACCOUNT, "regions": [REGION]},
        "accounts": [
            {
                "id": ACCOUNT,
                "name": "isolation",
                "email": "isolation@example.com",
                "kms_keys": [
                    {"id": BAD_KEY, "description": "hostile policy", "policy_text": HUGE_NUMBER_POLICY},
                    {"id": GOOD_KEY, "description": "public key", "policy": PUBLIC_KEY_POLICY},
                ],
                "trails": [
                    # Multi-Region, logging, AWS's default selector (all management events): qualifies for both
                    # account-level checks (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html).
                    {"name": "good-trail", "multi_region": True, "logging": True, "log_file_validation": True},
                    {"name": "bad-trail", "multi_region": True, "logging": True, "log_file_validation": False},
                ],
                "sns_topics": [{"name": "bad-topic"}, {"name": "good-topic"}],
                "api_destinations": [
                    {"name": "bad-destination", "url": "https://api.example.com/bad"},
                    # user:password@ in a URL given to a service: credentials in configuration
                    # (https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html) -> FAIL.
                    {"name": "good-destination", "url": "https://deploy:Tr0ub4dor-3xample-pw@api.example.com/hook"},
                ],
                "s3_buckets": [
                    {"name": "isolation-bad-bucket", "tags": {"Team": "a"}},
                    # An email address in a tag value: personal data in tags
                    # (https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html) -> FAIL.
                    {"name": "isolation-good-bucket", "tags": {"Owner": "jane.doe@example.com"}},
                ],
                "devops_guru": [{"stacks": ["*"]}],
                "vpcs": [
                    {"cidr": "10.1.0.0/16", "subnets": ["10.1.1.0/24"], "endpoints": [{"service": "devops-guru"}]},
                    {"cidr": "10.2.0.0/16", "subnets": ["10.2.1.0/24"], "endpoints": [{"service": "devops-guru"}]},
                ],
            }
        ],
    }


# -- the hostile answers --------------------------------------------------------------------------------


def _bad_trail_selectors(call: Any, answer: dict) -> dict:
    # An advanced selector whose operand is a number: no shape CloudTrail returns.
    if str(call.params.get("TrailName", "")).endswith("/bad-trail"):
        return {"TrailARN": answer.get("TrailARN"),
                "AdvancedEventSelectors": [{"Name": "x", "FieldSelectors": [{"Field": "eventCategory", "Equals": [5]}]}]}
    return answer


def _bad_trail_nameless(call: Any, answer: dict) -> dict:
    for trail in answer.get("trailList", []):
        if trail.get("Name") == "bad-trail":
            trail["Name"] = 5
    answer.get("trailList", []).sort(key=lambda t: t.get("Name") != 5)
    return answer


def _topic_without_arn(call: Any, body: bytes) -> bytes:
    return re.sub(rb"<TopicArn>[^<]*:bad-topic</TopicArn>", b"", body)


def _hostile_tags_first(call: Any, answer: dict) -> dict:
    mappings = answer.get("ResourceTagMappingList", [])
    for mapping in mappings:
        if mapping.get("ResourceARN", "").endswith(":isolation-bad-bucket"):
            mapping["Tags"] = [{"Key": 5, "Value": "x"}]
    mappings.sort(key=lambda m: not m.get("ResourceARN", "").endswith(":isolation-bad-bucket"))
    return answer


def _hostile_destination_first(call: Any, answer: dict) -> dict:
    destinations = answer.get("ApiDestinations", [])
    for destination in destinations:
        if destination.get("Name") == "bad-destination":
            destination["InvocationEndpoint"] = 5
    destinations.sort(key=lambda d: d.get("Name") != "bad-destination")
    return answer


def _first_endpoint_policy_huge(call: Any, body: bytes) -> bytes:
    policy = ('{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*", '
              '"Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": ' + HUGE_NUMBER + "}}}]}")
    escaped = policy.replace('"', "&quot;").encode()
    return re.sub(rb"<policyDocument>[^<]*</policyDocument>", lambda _: b"<policyDocument>" + escaped + b"</policyDocument>", body, count=1)


def _judged(results: list[dict], check_id: str, fragment: str) -> list[dict]:
    return [r for r in results if r["check_id"] == check_id and fragment in (r["resource_id"] or "")]


Case = tuple[str, dict[str, Callable], Callable[[list[dict]], None]]


def _kms_case(check_id: str) -> Case:
    def verify(results: list[dict]) -> None:
        assert [r["status"] for r in _judged(results, check_id, GOOD_KEY)] == ["FAIL"]
        bad = _judged(results, check_id, BAD_KEY)
        assert [r["status"] for r in bad] == ["ERROR"]
        assert HUGE_NUMBER not in bad[0]["message"]

    return check_id, {}, verify


def _trail_account_case(check_id: str) -> Case:
    def verify(results: list[dict]) -> None:
        mine = [r for r in results if r["check_id"] == check_id]
        assert [r["status"] for r in mine] == ["PASS"], mine
        assert "good-trail" in mine[0]["message"]

    return check_id, {"cloudtrail:GetEventSelectors": edit_json_answer(_bad_trail_selectors)}, verify


def _per_trail_case(check_id: str) -> Case:
    def verify(results: list[dict]) -> None:
        good = _judged(results, check_id, ":trail/good-trail")
        assert [r["status"] for r in good] == [expected[check_id]]
        assert [r["status"] for r in _judged(results, check_id, "trailList[")] == ["ERROR"]

    # log file validation on (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-intro.html)
    # -> PASS; no KmsKeyId: SSE-S3, not SSE-KMS (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/encrypting-cloudtrail-log-files-with-aws-kms.html) -> FAIL.
    expected = {"cloudtrail_log_file_validation": "PASS", "cloudtrail_cmk_encryption": "FAIL"}
    return check_id, {"cloudtrail:DescribeTrails": edit_json_answer(_bad_trail_nameless)}, verify


def _names_verify(results: list[dict]) -> None:
    # A topic name without sensitive data (https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html).
    assert [r["status"] for r in _judged(results, "names_no_sensitive_data", ":good-topic")] == ["PASS"]
    assert [r["status"] for r in _judged(results, "names_no_sensitive_data", "Topics[")] == ["ERROR"]
    assert not _judged(results, "names_no_sensitive_data", "sns:ListTopics")


def _tags_verify(results: list[dict]) -> None:
    assert [r["status"] for r in _judged(results, "tags_no_sensitive_data", "isolation-good-bucket")] == ["FAIL"]
    assert [r["status"] for r in _judged(results, "tags_no_sensitive_data", "isolation-bad-bucket")] == ["ERROR"]
    assert not _judged(results, "tags_no_sensitive_data", "tag:GetResources")


def _urls_verify(results: list[dict]) -> None:
    assert [r["status"] for r in _judged(results, "urls_no_embedded_credentials", "good-destination")] == ["FAIL"]
    assert [r["status"] for r in _judged(results, "urls_no_embedded_credentials", "bad-destination")] == ["ERROR"]


def _endpoint_verify(results: list[dict]) -> None:
    mine = [r for r in results if r["check_id"] == "devopsguru_endpoint_policy_restricted"]
    # The scenario's endpoints keep AWS's default full-access policy: every principal may use DevOps Guru through
    # them (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html#default-endpoint-policy) -> FAIL.
    assert sorted(r["status"] for r in mine) == ["ERROR", "FAIL"], mine
    assert all(r["resource_id"].startswith("vpce-") for r in mine)


CASES: list[Case] = [
    _kms_case("kms_key_policy_no_public_access"),
    _kms_case("kms_key_policy_admin_restricted"),
    _trail_account_case("cloudtrail_multi_region_logging"),
    _trail_account_case("cloudtrail_kms_events_logged"),
    _per_trail_case("cloudtrail_log_file_validation"),
    _per_trail_case("cloudtrail_cmk_encryption"),
    ("names_no_sensitive_data", {"sns:ListTopics": _topic_without_arn}, _names_verify),
    ("tags_no_sensitive_data", {"tag:GetResources": edit_json_answer(_hostile_tags_first)}, _tags_verify),
    ("urls_no_embedded_credentials", {"events:ListApiDestinations": edit_json_answer(_hostile_destination_first)}, _urls_verify),
    ("devopsguru_endpoint_policy_restricted", {"ec2:DescribeVpcEndpoints": _first_endpoint_policy_huge}, _endpoint_verify),
]


@pytest.fixture(scope="module")
def _scenario_object():
    from scanner.simulator import scenario_from_dict

    return scenario_from_dict(_scenario(), source="tests/reliability/test_resource_isolation.py")


@pytest.mark.parametrize("check_id, edits, verify", CASES, ids=[case[0] for case in CASES])
def test_one_hostile_resource_never_hides_the_others_verdict(make_org, run_orgscan, _scenario_object, check_id, edits, verify):
    make_org(_scenario_object, Faults(answer_edits=edits))

    code, document = run_orgscan("--regions", REGION, "--checks", check_id, "--quiet")

    assert document is not None and code in (0, 1, 3)
    results = document["results"]
    whole_target = [r for r in results if r["status"] == "ERROR" and r["resource_id"] == ACCOUNT]
    assert not whole_target, f"one resource's failure became the whole target's ERROR: {whole_target}"
    verify(results)
    for error in (r for r in results if r["status"] == "ERROR"):
        assert "\n" not in error["message"] and len(error["message"]) <= 500
    json.dumps(document)
