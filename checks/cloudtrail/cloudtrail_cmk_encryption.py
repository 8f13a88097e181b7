"""Every trail encrypts its log files with a KMS key (SSE-KMS)."""
from __future__ import annotations

from checks.cloudtrail.per_trail import judge_own_trails
from checks.sensitive_data.detector import redact_identifier
from scanner.model import CheckMetadata, Remediation, Scope, Severity, check

METADATA = CheckMetadata(
    id="cloudtrail_cmk_encryption",
    title="CloudTrail logs are encrypted with a KMS key",
    severity=Severity.MEDIUM,
    service="cloudtrail",
    resource_type="AWS::CloudTrail::Trail",
    scope=Scope.REGIONAL,
    rationale=(
        "By default CloudTrail log files get S3-managed encryption, which anyone who can read the bucket can "
        "decrypt. With a KMS key (KmsKeyId) reading the logs also needs kms:Decrypt on that key, and every decryption "
        "is itself logged."
    ),
    remediation=Remediation(
        text="Configure the trail to encrypt log files with a customer managed KMS key whose policy lets CloudTrail use it.",
        cli="aws cloudtrail update-trail --name <trail-arn> --kms-key-id <key-arn-or-alias>",
        iac="AWS::CloudTrail::Trail  KMSKeyId: !GetAtt TrailKey.Arn",
        url="https://docs.aws.amazon.com/awscloudtrail/latest/userguide/encrypting-cloudtrail-log-files-with-aws-kms.html",
    ),
    iam_actions=("cloudtrail:DescribeTrails",),
    references=("https://docs.aws.amazon.com/securityhub/latest/userguide/cloudtrail-controls.html#cloudtrail-2",),
)


def _judge(trail):
    name = redact_identifier(trail.name)
    if trail.kms_key_id:
        return True, f"trail {name} encrypts its logs with a KMS key", {"kms_key_id": trail.kms_key_id}
    return False, f"trail {name} does not encrypt its logs with a KMS key (KmsKeyId absent)", {"kms_key_id": None}


@check(METADATA)
def cloudtrail_cmk_encryption(ctx):
    yield from judge_own_trails(ctx, _judge)
