"""Issue 13's detector items and issue 15 finding 7, end to end against the simulated organization.

Card numbers and SSNs inside resource names (``u-4111...``, ``trail-...``, after ``_``), and
secrets in environment-variable and credentials-file forms in tags, must FAIL
``names_no_sensitive_data`` / ``tags_no_sensitive_data`` with masked resource ids; the
look-alikes (reference numbers, descriptive labels, digests, a non-Luhn number in a name)
must PASS. After a full ``--org`` scan with every report format, no planted value is in
any file the scan wrote.

Expected verdicts follow AWS's guidance never to put confidential or sensitive information
(such as customers' account numbers) in tags or free-form name fields:
https://docs.aws.amazon.com/whitepapers/latest/tagging-best-practices/other-considerations.html and
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html (tag naming, "do not add sensitive data");
the credential forms are the AWS CLI's documented ones
(https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html,
https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.sensitive_data.names_no_sensitive_data import names_no_sensitive_data
from checks.sensitive_data.tags_no_sensitive_data import tags_no_sensitive_data
from scanner.model import Status
from scanner.testing import check_context

CLEAN, DIRTY = "320000000001", "320000000002"
REGIONS = ["us-east-1"]

# Planted in names (processors' published test card numbers pass Luhn; 078-05-1120 is the SSA's voided example)
USER_CARD = "5555555555554444"
TRAIL_CARD = "4111111111111111"
TOPIC_CARD = "4242424242424242"
ROLE_SSN = "078051120"
# Planted in tags, in environment-variable / credentials-file forms
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example secret key
KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example key id
X_TOKEN = "q7Lm2Zx9Rt4Wv8Ks3Np6"
DB_PASSWORD = "Tr0ub4dor3x"
DOCKER_PAT = "dckr_pat_" + "Ab3dE_fGh1-jKl2mN3oPq4rSt5u"
PLANTED = [USER_CARD, TRAIL_CARD, TOPIC_CARD, ROLE_SSN, AWS_SECRET, KEY_ID, X_TOKEN, DB_PASSWORD, DOCKER_PAT]

# Look-alikes that are not sensitive data
LOOK_ALIKE_TAGS = {
    "OrderNumber": "415-555-2671", "CostCentre": "(212) 555-0147", "Token": "aws-sso-readonly",
    "Credentials": "rotated-2024-01", "ApiKey": "ci-pipeline-42", "Checksum": "k9Vb2Qz7Lm4Tx8Rw1Pn5Js3Hd6Fg0Ya2Ec4Ub7M",
    "Owner": "Platform Team", "Version": "v10.4012888888881881",
}

SCENARIO = {
    "name": "detector-cases",
    "organization": {"management_account": CLEAN, "regions": REGIONS},
    "accounts": [
        {
            "id": CLEAN, "name": "clean", "email": "clean@example.com", "default_vpc": False,
            "s3_buckets": [{"name": "look-alikes-320000000001", "region": "us-east-1", "tags": LOOK_ALIKE_TAGS}],
            "trails": [{"name": "trail-4111111111111112", "tags": {"PartNumber": "0800 123 456"}}],  # fails Luhn
            "iam_users": [{"name": "order-219099999"}, {"name": "build-4111111111111112"}],
            "iam_roles": [{"name": "ci-pipeline-42", "description": "release 2024.03.15 build 4111"}],
            "sns_topics": [{"name": "alerts-2024-03", "region": "us-east-1"}],
        },
        {
            "id": DIRTY, "name": "dirty", "email": "dirty@example.com", "default_vpc": False,
            "s3_buckets": [{"name": "env-forms-320000000002", "region": "us-east-1", "tags": {
                "Notes": f"aws_secret_access_key={AWS_SECRET}", "env": f"export X_TOKEN={X_TOKEN}",
                "Deploy": f"DB_PASSWORD={DB_PASSWORD}", "config": f"key={KEY_ID}", "Registry": DOCKER_PAT}}],
            "trails": [{"name": f"trail-{TRAIL_CARD}"}],
            "iam_users": [{"name": f"u-{USER_CARD}"}],
            "iam_roles": [{"name": f"ssn-{ROLE_SSN}"}],
            "sns_topics": [{"name": f"alerts_{TOPIC_CARD}", "region": "us-east-1"}],
        },
    ],
}


@pytest.fixture
def org(make_org):
    return make_org(SCENARIO)


def run(sim, account, check):
    return list(check(check_context(sim, account, "us-east-1", check)))


def assert_nothing_planted_in(findings):
    text = json.dumps([{**f.__dict__, "status": f.status.value, "severity": None} for f in findings], default=str)
    for value in PLANTED:
        assert value not in text, f"planted value leaked: {value[:3]}..."


def test_card_numbers_and_ssns_inside_names_fail_with_masked_ids(org):
    findings = run(org, DIRTY, names_no_sensitive_data)
    assert_nothing_planted_in(findings)
    failed = {f.resource_type: f for f in findings if f.status == Status.FAIL}
    assert set(failed) >= {"AWS::IAM::User", "AWS::CloudTrail::Trail", "AWS::SNS::Topic", "AWS::IAM::Role"}
    kinds = {kind: {e["kind"] for e in f.evidence["findings"]} for kind, f in failed.items()}
    assert kinds["AWS::IAM::User"] == {"payment_card_number"}
    assert kinds["AWS::CloudTrail::Trail"] == {"payment_card_number"}
    assert kinds["AWS::SNS::Topic"] == {"payment_card_number"}
    assert kinds["AWS::IAM::Role"] == {"us_ssn"}
    for finding in failed.values():
        assert "****" in finding.resource_id and "****" in (finding.resource_arn or "")
    assert failed["AWS::IAM::User"].resource_arn.startswith(f"arn:aws:iam::{DIRTY}:user/u-")


def test_names_that_only_look_like_card_numbers_or_ssns_pass(org):
    findings = run(org, CLEAN, names_no_sensitive_data)
    assert findings and all(f.status == Status.PASS for f in findings), [
        (f.resource_id, f.message) for f in findings if f.status != Status.PASS]
    ids = " ".join(f.resource_id for f in findings)
    assert "order-219099999" in ids and "trail-4111111111111112" in ids  # not masked: nothing sensitive in them


def test_environment_variable_forms_in_tags_fail(org):
    findings = run(org, DIRTY, tags_no_sensitive_data)
    assert_nothing_planted_in(findings)
    bucket = next(f for f in findings if f.status == Status.FAIL and "env-forms" in f.resource_id)
    kinds = {entry["tag_key"]: entry["kind"] for entry in bucket.evidence["tags"]}
    assert kinds == {"Notes": "aws_secret_access_key", "env": "credential_assignment", "Deploy": "credential_assignment",
                     "config": "aws_access_key_id", "Registry": "docker_hub_token"}
    for entry in bucket.evidence["tags"]:
        assert len(entry["preview"].replace("****", "")) <= 6


def test_look_alike_tags_pass(org):
    findings = run(org, CLEAN, tags_no_sensitive_data)
    assert [f.status for f in findings] == [Status.PASS, Status.PASS], [
        (f.resource_id, f.evidence.get("tags")) for f in findings if f.status != Status.PASS]


def test_a_full_scan_writes_no_planted_value_anywhere(make_org, run_orgscan, tmp_path):
    make_org(SCENARIO)
    code, document = run_orgscan("--org", "--regions", ",".join(REGIONS), "--format", "html,sarif,asff,csv,markdown",
                                 "--quiet")
    assert document is not None, f"scan wrote no results.json (exit {code})"
    mine = {"tags_no_sensitive_data", "names_no_sensitive_data"}
    failed = {(r["check_id"], r["account_id"]) for r in document["results"] if r["status"] == "FAIL" and r["check_id"] in mine}
    assert failed == {(check_id, DIRTY) for check_id in mine}
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert {".json", ".html", ".sarif", ".csv", ".md"} <= {path.suffix for path in written}
    for path in written:
        text = path.read_bytes().decode("utf-8", errors="replace")
        for value in PLANTED:
            for form in {value, value.replace("/", "\\/"), value.replace("+", "\\u002b")}:
                assert form not in text, f"{Path(path).name} holds planted value {value[:3]}..."
