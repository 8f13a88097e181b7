"""The OCSF converter against real Prowler 5.46.0 output (data/prowler-5.46.0-ocsf.json).

The file was written by a real Prowler run against a member account of the
loopback organization (see data/prowler-5.46.0-ocsf.meta.json and
capture_prowler_ocsf.py): kms, cloudtrail and account services.
"""
from __future__ import annotations

import copy
import json

import pytest

from checks.prowler.ocsf import AccountMismatch, findings_from_ocsf
from prowler_fakes import CAPTURED_META, CAPTURED_OCSF
from scanner.model import CHECK_ID_PATTERN, Severity, Status, fingerprint

ACCOUNT = CAPTURED_META["account_id"]
RECORDS = json.loads(CAPTURED_OCSF.read_text(encoding="utf-8"))


def key_arn(key_id: str) -> str:
    return f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"


@pytest.fixture(scope="module")
def findings():
    return list(findings_from_ocsf(RECORDS, ACCOUNT))


def by_check(findings, check_id):
    return [f for f in findings if f.check_id == check_id]


def test_the_capture_is_prowler_5_46_output_about_one_account():
    assert CAPTURED_META["prowler_version"] == "5.46.0"
    assert {r["metadata"]["product"]["version"] for r in RECORDS} == {"5.46.0"}
    assert {r["cloud"]["account"]["uid"] for r in RECORDS} == {ACCOUNT}


def test_every_prowler_finding_becomes_one_result_with_a_prefixed_check_id(findings):
    assert len(findings) == len(RECORDS) == 19
    assert [f.check_id for f in findings] == ["prowler." + r["metadata"]["event_code"] for r in RECORDS]
    assert all(CHECK_ID_PATTERN.match(f.check_id) for f in findings)
    assert all(f.status != Status.ERROR for f in findings)


def test_key_without_rotation_fails_and_rotated_key_passes(findings):
    rotation = {f.resource_arn: f for f in by_check(findings, "prowler.kms_cmk_rotation_enabled")}
    unrotated = rotation[key_arn(CAPTURED_META["unrotated_key_id"])]
    rotated = rotation[key_arn(CAPTURED_META["rotated_key_id"])]
    assert unrotated.status == Status.FAIL
    assert rotated.status == Status.PASS
    assert unrotated.severity == Severity.HIGH
    assert unrotated.region == "us-east-1"
    assert unrotated.resource_type == "AwsKmsKey"
    assert unrotated.resource_id == key_arn(CAPTURED_META["unrotated_key_id"])
    assert unrotated.message == f"KMS CMK {CAPTURED_META['unrotated_key_id']} has automatic rotation disabled."
    assert unrotated.title == "KMS customer-managed symmetric CMK has automatic rotation enabled"


def test_remediation_and_compliance_use_orgscan_metadata_shapes(findings):
    finding = by_check(findings, "prowler.kms_cmk_rotation_enabled")[0]
    remediation = finding.evidence["remediation"]
    assert set(remediation) == {"text", "cli", "iac", "url"}
    assert remediation["text"].startswith("Enable **automatic rotation**")
    assert remediation["url"] == "https://hub.prowler.com/check/kms_cmk_rotation_enabled"
    compliance = finding.evidence["compliance"]
    assert {"framework", "control"} == set(compliance[0])
    assert {"framework": "CIS-4.0.1", "control": "3.6"} in compliance
    record = next(r for r in RECORDS if r["metadata"]["event_code"] == "kms_cmk_rotation_enabled")
    assert len(compliance) == sum(len(v) for v in record["unmapped"]["compliance"].values())


def test_manual_findings_are_not_applicable_and_say_a_person_must_look(findings):
    manual = by_check(findings, "prowler.account_security_questions_are_registered_in_the_aws_account")
    assert [f.status for f in manual] == [Status.NOT_APPLICABLE]
    assert manual[0].message.startswith("Manual review needed (Prowler MANUAL): ")
    assert manual[0].evidence["prowler"]["status"] == "MANUAL"
    assert manual[0].resource_arn == f"arn:aws:iam::{ACCOUNT}:root"


def test_severities_follow_prowler(findings):
    assert {f.severity for f in by_check(findings, "prowler.kms_key_not_publicly_accessible")} == {Severity.CRITICAL}
    assert {f.severity for f in by_check(findings, "prowler.kms_cmk_are_used")} == {Severity.LOW}
    assert {f.severity for f in by_check(findings, "prowler.cloudtrail_multi_region_enabled")} == {Severity.HIGH}


def test_fingerprints_are_distinct_per_finding(findings):
    prints = {fingerprint(f.check_id, ACCOUNT, f.region, f.resource_id) for f in findings}
    assert len(prints) == len(findings)


def test_resource_configuration_and_tags_stay_out_of_evidence(findings):
    # Prowler copies resource configuration (here the key policy) into resources[].data.
    assert "key-default-1" in CAPTURED_OCSF.read_text(encoding="utf-8")
    for finding in findings:
        assert "key-default-1" not in json.dumps(finding.evidence)
        assert set(finding.evidence) == {"prowler", "remediation", "compliance"}


def test_a_finding_about_another_account_discards_the_run():
    records = copy.deepcopy(RECORDS)
    records[5]["cloud"]["account"]["uid"] = "999999999999"
    with pytest.raises(AccountMismatch, match=f"account 999999999999, not on {ACCOUNT}"):
        list(findings_from_ocsf(records, ACCOUNT))


def test_an_unreadable_record_is_one_error_naming_it_and_the_rest_still_convert():
    records = copy.deepcopy(RECORDS[:3])
    records[1]["status_code"] = "SKIPPED"
    del records[2]["metadata"]["event_code"]
    findings = list(findings_from_ocsf(records, ACCOUNT, source="findings.ocsf.json"))
    assert [f.status for f in findings][0] != Status.ERROR
    assert findings[1].status == Status.ERROR
    assert findings[1].message == "findings.ocsf.json record 1: status_code 'SKIPPED' is not PASS, FAIL or MANUAL"
    assert findings[1].check_id == "prowler." + records[1]["metadata"]["event_code"]
    assert findings[2].status == Status.ERROR
    assert findings[2].message == "findings.ocsf.json record 2: metadata.event_code is missing"
    assert findings[2].check_id is None


def test_a_record_that_is_not_an_object_is_an_error():
    findings = list(findings_from_ocsf(["not a finding"], ACCOUNT))
    assert [(f.status, f.message) for f in findings] == [
        (Status.ERROR, "Prowler output record 0: expected a JSON object, got str")
    ]


def test_an_unknown_severity_falls_back_to_the_bridge_severity():
    record = copy.deepcopy(RECORDS[0])
    record["severity"] = "Unknown"
    [finding] = findings_from_ocsf([record], ACCOUNT)
    assert finding.severity is None


def test_a_muted_finding_keeps_its_status_and_says_it_is_muted():
    record = copy.deepcopy(next(r for r in RECORDS if r["status_code"] == "FAIL"))
    record["status"] = "Suppressed"
    [finding] = findings_from_ocsf([record], ACCOUNT)
    assert finding.status == Status.FAIL
    assert finding.evidence["prowler"]["muted"] is True
