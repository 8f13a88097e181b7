"""The key DevOps Guru is configured with exists here and can encrypt: customer managed, symmetric, Enabled."""
from __future__ import annotations

from checks.devopsguru.gather import (
    DESCRIBE_SERVICE_INTEGRATION,
    GET_RESOURCE_COLLECTION,
    UPDATE_INTEGRATION_CLI,
    ConfiguredKey,
    configured_key_or_finding,
)
from checks.kms.gather import DESCRIBE_KEY
from checks.kms_aliases import LIST_ALIASES
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

METADATA = CheckMetadata(
    id="devopsguru_cmk_key_usable",
    title="DevOps Guru's customer managed key exists in the region, is symmetric and is enabled",
    severity=Severity.HIGH,
    service="devops-guru",
    resource_type="AWS::KMS::Key",
    scope=Scope.REGIONAL,
    rationale=(
        "DevOps Guru can only encrypt and read its data with a symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) "
        "of its own region that is Enabled. A deleted, disabled, pending-deletion, pending-import or unavailable key, an AWS "
        "managed key or a key of another region leaves DevOps Guru unable to read what it stored."
    ),
    remediation=Remediation(
        text=(
            "Enable the key (aws kms enable-key), cancel its deletion (aws kms cancel-key-deletion), import its key material, "
            "or point DevOps Guru at a symmetric customer managed key of this region (for a multi-Region key, the ARN of its replica in this region: AWS services treat multi-Region keys as single-Region keys)."
        ),
        cli="aws kms enable-key --key-id <key-arn>\naws kms cancel-key-deletion --key-id <key-arn>\n" + UPDATE_INTEGRATION_CLI,
        url="https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
    ),
    iam_actions=(GET_RESOURCE_COLLECTION, DESCRIBE_SERVICE_INTEGRATION, DESCRIBE_KEY, LIST_ALIASES),
    references=(
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
        "https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html",
        "https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html",
        "https://docs.aws.amazon.com/devops-guru/latest/APIReference/API_KMSServerSideEncryptionIntegrationConfig.html",
    ),
)


def usability_problems(key: ConfiguredKey, region: str) -> list[str]:
    """Why DevOps Guru cannot use the resolved key here (empty: it can)."""
    facts = key.facts
    assert facts is not None
    problems = []
    if key.aws_managed:
        problems.append("it is an AWS managed key, not customer managed")
    if facts.key_spec != "SYMMETRIC_DEFAULT":
        problems.append(f"KeySpec is {facts.key_spec or 'not reported'}, not SYMMETRIC_DEFAULT")
    if facts.key_usage != "ENCRYPT_DECRYPT":
        problems.append(f"KeyUsage is {facts.key_usage or 'not reported'}, not ENCRYPT_DECRYPT")
    if facts.key_state != "Enabled":
        problems.append(f"KeyState is {facts.key_state}")
    if facts.region != region:
        problems.append(f"it is in {facts.region}, not {region}")
    return problems


@check(METADATA)
def devopsguru_cmk_key_usable(ctx):
    key = configured_key_or_finding(ctx)
    if isinstance(key, Finding):
        yield key
        return
    evidence = key.evidence()
    if key.unreadable:
        yield Finding(Status.ERROR, resource_id=key.resource_arn, resource_arn=key.resource_arn, message=key.unreadable, evidence=evidence)
        return
    if key.missing:
        yield Finding(
            Status.FAIL,
            resource_id=key.resource_arn,
            resource_arn=key.resource_arn,
            message=f"DevOps Guru's configured key is not usable: {key.missing}",
            evidence=evidence,
        )
        return
    problems = usability_problems(key, ctx.region)
    if problems:
        yield Finding(
            Status.FAIL,
            resource_id=key.resource_arn,
            resource_arn=key.resource_arn,
            message=f"DevOps Guru's configured key is not usable: {'; '.join(problems)}",
            evidence=evidence,
        )
        return
    yield Finding(
        Status.PASS,
        resource_id=key.resource_arn,
        resource_arn=key.resource_arn,
        message="DevOps Guru's key is a symmetric customer managed key of this region and is Enabled",
        evidence=evidence,
    )
