"""scanner.findings: judging one resource apart from the others, and telling "AWS could not be asked" from other ERRORs."""
from __future__ import annotations

import botocore.exceptions
import pytest

from scanner.errors import AccessDenied, AwsError
from scanner.findings import MAX_RESOURCE_ERROR, error_kind, incomplete_reason, judge_apart, resource_error
from scanner.model import Finding, Status


def _explode(error: BaseException):
    def judge():
        raise error
    return judge


def test_a_failure_while_judging_is_one_error_finding_for_that_resource():
    findings = judge_apart("key-1", _explode(ValueError("Exceeds the limit (4300 digits) for integer string conversion")),
                           resource_arn="arn:aws:kms:us-east-1:111111111111:key/key-1", region="us-east-1")
    assert len(findings) == 1
    finding = findings[0]
    assert finding.status is Status.ERROR and finding.resource_id == "key-1" and finding.region == "us-east-1"
    assert finding.message == "could not be judged: ValueError: a number with too many digits"
    assert finding.evidence == {"error": "ValueError", "error_kind": "other"}


def test_a_generator_failing_halfway_stays_with_its_resource():
    def judge():
        yield Finding(Status.PASS, resource_id="r", message="first part")
        raise KeyError("VpcId")

    assert [f.status for f in judge_apart("r", judge)] == [Status.ERROR]


def test_judgements_pass_through_unchanged():
    passed = Finding(Status.PASS, resource_id="r", message="fine")
    assert judge_apart("r", lambda: passed) == [passed]
    assert judge_apart("r", lambda: None) == []
    assert judge_apart("r", lambda: iter([passed, passed])) == [passed, passed]


def test_the_message_is_one_bounded_line_with_credentials_and_sensitive_values_masked():
    hostile = "line one\nline two\r\u2028" + "x" * 5000 + " aws_secret_access_key=abcdefghijklmnop1234 "
    finding = resource_error("r", RuntimeError(hostile), redact_text=lambda text: text.replace("line two", "<masked>"))
    assert "\n" not in finding.message and "\r" not in finding.message and "\u2028" not in finding.message
    assert len(finding.message) <= MAX_RESOURCE_ERROR
    assert "<masked>" in finding.message
    long_secret = resource_error("r", RuntimeError("token=ghp_abcdefghijklmnopqrstuvwxyz0123456789"))
    assert "ghp_abcdefghijklmnopqrstuvwxyz0123456789" not in long_secret.message


def test_an_exception_whose_text_fails_is_still_an_error_for_the_resource():
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no text")

    assert judge_apart("r", _explode(Unprintable()))[0].message == "could not be judged: Unprintable"


def test_interrupts_are_not_swallowed():
    with pytest.raises(KeyboardInterrupt):
        judge_apart("r", _explode(KeyboardInterrupt()))


@pytest.mark.parametrize(
    "error, kind",
    [
        (botocore.exceptions.EndpointConnectionError(endpoint_url="https://kms.us-east-1.amazonaws.com"), "transport"),
        (botocore.exceptions.ConnectionClosedError(endpoint_url="https://kms.us-east-1.amazonaws.com"), "transport"),
        (botocore.exceptions.ReadTimeoutError(endpoint_url="https://kms.us-east-1.amazonaws.com"), "transport"),
        (AwsError("kms:ListKeys", "ThrottlingException", "Rate exceeded"), "throttling"),
        (AwsError("ec2:DescribeVpcs", "RequestLimitExceeded", "Request limit exceeded."), "throttling"),
        (AwsError("kms:ListKeys", "InternalFailure", "unknown error"), "service"),
        (AwsError("iam:ListRoles", "ServiceUnavailable", "try again"), "service"),
        (AccessDenied("kms:GetKeyPolicy", "AccessDeniedException", "no"), "access_denied"),
        (AwsError("kms:DescribeKey", "NotFoundException", "gone"), "aws"),
        (ValueError("bad"), "other"),
    ],
)
def test_error_kinds(error, kind):
    assert error_kind(error) == kind


def test_only_errors_of_the_transport_kinds_make_a_scan_incomplete():
    assert incomplete_reason({"status": "ERROR", "evidence": {"error_kind": "transport"}}) == "transport"
    assert incomplete_reason({"status": "ERROR", "evidence": {"error_kind": "throttling"}}) == "throttling"
    assert incomplete_reason({"status": "ERROR", "evidence": {"error_kind": "access_denied"}}) is None
    assert incomplete_reason({"status": "ERROR", "evidence": None}) is None
    assert incomplete_reason({"status": "FAIL", "evidence": {"error_kind": "transport"}}) is None
