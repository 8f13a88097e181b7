"""DevOps Guru encrypts its data at rest with a customer managed KMS key, not the AWS owned key."""
from __future__ import annotations

from checks.devopsguru.gather import (
    DESCRIBE_SERVICE_INTEGRATION,
    GET_RESOURCE_COLLECTION,
    INTEGRATION_RESOURCE_ID,
    INTEGRATION_RESOURCE_TYPE,
    UPDATE_INTEGRATION_CLI,
    devops_guru_usage,
    encryption_setting,
    integration_error,
    not_in_use_finding,
)
from scanner.errors import AwsError, MalformedResponse
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

METADATA = CheckMetadata(
    id="devopsguru_cmk_enabled",
    title="DevOps Guru encrypts its data with a customer managed KMS key",
    severity=Severity.HIGH,
    service="devops-guru",
    resource_type=INTEGRATION_RESOURCE_TYPE,
    scope=Scope.REGIONAL,
    rationale=(
        "DevOps Guru stores insights, anomalies and the metrics and events behind them. With the AWS owned key you cannot "
        "see, audit, rotate or revoke the key that protects them; a customer managed key puts that control, and a CloudTrail "
        "record of every use, in your hands."
    ),
    remediation=Remediation(
        text=(
            "Create a symmetric customer managed key in the same region whose key policy lets DevOps Guru create its grant "
            "and describe the key (see devopsguru_cmk_policy_grants_service), then switch DevOps Guru's server-side "
            "encryption to it."
        ),
        cli=UPDATE_INTEGRATION_CLI,
        url="https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
    ),
    iam_actions=(GET_RESOURCE_COLLECTION, DESCRIBE_SERVICE_INTEGRATION),
    references=(
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
        "https://docs.aws.amazon.com/devops-guru/latest/APIReference/API_KMSServerSideEncryptionIntegration.html",
    ),
)


@check(METADATA)
def devopsguru_cmk_enabled(ctx):
    try:
        usage = devops_guru_usage(ctx)
        if not usage.in_use:
            yield not_in_use_finding(usage)
            return
        setting = encryption_setting(ctx)
    except (MalformedResponse, AwsError) as error:
        yield integration_error(str(error))
        return
    if setting.uses_customer_managed_key:
        yield Finding(
            Status.PASS,
            resource_id=INTEGRATION_RESOURCE_ID,
            resource_type=INTEGRATION_RESOURCE_TYPE,
            message=f"DevOps Guru encrypts with customer managed key {setting.key_ref}",
            evidence=setting.evidence(),
        )
        return
    if setting.opt_in_status != "ENABLED":
        reason = "KMSServerSideEncryption.OptInStatus is not ENABLED" if setting.opt_in_status else "KMSServerSideEncryption is not set"
    elif setting.type != "CUSTOMER_MANAGED_KEY":
        reason = f"KMSServerSideEncryption.Type is {setting.type or 'not set'}"
    else:
        reason = "KMSServerSideEncryption names no KMSKeyId"
    yield Finding(
        Status.FAIL,
        resource_id=INTEGRATION_RESOURCE_ID,
        resource_type=INTEGRATION_RESOURCE_TYPE,
        message=f"DevOps Guru uses the AWS owned key: {reason}",
        evidence=setting.evidence(),
    )
