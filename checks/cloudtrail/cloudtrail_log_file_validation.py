"""Every trail has log file integrity validation turned on."""
from __future__ import annotations

from checks.cloudtrail.per_trail import judge_own_trails
from checks.sensitive_data.detector import redact_identifier
from scanner.model import CheckMetadata, Remediation, Scope, Severity, check

METADATA = CheckMetadata(
    id="cloudtrail_log_file_validation",
    title="CloudTrail log file validation is enabled",
    severity=Severity.MEDIUM,
    service="cloudtrail",
    resource_type="AWS::CloudTrail::Trail",
    scope=Scope.REGIONAL,
    rationale=(
        "With log file validation, CloudTrail writes signed digest files, so you can prove that the log of key use "
        "and API activity was not changed or deleted after delivery."
    ),
    remediation=Remediation(
        text="Turn on log file validation for the trail.",
        cli="aws cloudtrail update-trail --name <trail-arn> --enable-log-file-validation",
        iac="AWS::CloudTrail::Trail  EnableLogFileValidation: true",
        url="https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-enabling.html",
    ),
    iam_actions=("cloudtrail:DescribeTrails",),
    references=("https://docs.aws.amazon.com/securityhub/latest/userguide/cloudtrail-controls.html#cloudtrail-4",),
)


def _judge(trail):
    name = redact_identifier(trail.name)
    if trail.log_file_validation:
        return True, f"trail {name} has log file validation enabled", {"log_file_validation_enabled": True}
    return False, f"trail {name} has log file validation disabled", {"log_file_validation_enabled": False}


@check(METADATA)
def cloudtrail_log_file_validation(ctx):
    yield from judge_own_trails(ctx, _judge)
