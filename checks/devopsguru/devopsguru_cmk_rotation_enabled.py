"""Automatic rotation is on for the customer managed key DevOps Guru encrypts with."""
from __future__ import annotations

from checks.devopsguru.gather import DESCRIBE_SERVICE_INTEGRATION, GET_RESOURCE_COLLECTION, customer_managed_key_or_finding
from checks.kms.gather import DESCRIBE_KEY, GET_KEY_ROTATION_STATUS
from checks.kms_aliases import LIST_ALIASES
from scanner.errors import AwsError
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

METADATA = CheckMetadata(
    id="devopsguru_cmk_rotation_enabled",
    title="DevOps Guru's customer managed key rotates automatically",
    severity=Severity.MEDIUM,
    service="devops-guru",
    resource_type="AWS::KMS::Key",
    scope=Scope.REGIONAL,
    rationale=(
        "Automatic rotation replaces the key material on a schedule while keeping old material to decrypt old data, "
        "limiting how much of DevOps Guru's data any one key version protects."
    ),
    remediation=Remediation(
        text=(
            "Turn on automatic rotation of the key (for a multi-Region key, on its primary). Keys with imported key material "
            "or in a custom key store cannot rotate automatically: rotate them on demand or by hand."
        ),
        cli="aws kms enable-key-rotation --key-id <key-arn> --rotation-period-in-days 365",
        url="https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html",
    ),
    iam_actions=(GET_RESOURCE_COLLECTION, DESCRIBE_SERVICE_INTEGRATION, DESCRIBE_KEY, LIST_ALIASES, GET_KEY_ROTATION_STATUS),
    references=(
        "https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html",
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
    ),
)

_ROTATABLE_ORIGINS = (None, "AWS_KMS")
_NO_ROTATION_CODES = frozenset({"UnsupportedOperationException", "KMSInvalidStateException"})


@check(METADATA)
def devopsguru_cmk_rotation_enabled(ctx):
    key = customer_managed_key_or_finding(
        ctx,
        when_missing="no key rotates",
        when_aws_managed="the configured key is AWS managed: AWS rotates it every year (devopsguru_cmk_key_usable fails it)",
    )
    if isinstance(key, Finding):
        yield key
        return
    arn = key.resource_arn
    evidence = key.evidence()
    if key.facts.origin not in _ROTATABLE_ORIGINS:
        yield Finding(
            Status.FAIL,
            resource_id=arn,
            resource_arn=arn,
            message=f"the key's material comes from {key.facts.origin}: automatic rotation is not possible, so it is off",
            evidence=evidence,
        )
        return
    if key.facts.key_spec != "SYMMETRIC_DEFAULT":
        yield Finding(
            Status.FAIL,
            resource_id=arn,
            resource_arn=arn,
            message=f"the key is {key.facts.key_spec or 'not a symmetric encryption key'}: only symmetric encryption keys rotate automatically",
            evidence=evidence,
        )
        return
    try:
        status = ctx.aws.call("kms", "get_key_rotation_status", KeyId=key.facts.arn)
    except AwsError as error:
        if error.code in _NO_ROTATION_CODES:
            # KMS refuses the question for keys that cannot rotate (unsupported) or cannot now (invalid state).
            yield Finding(
                Status.FAIL,
                resource_id=arn,
                resource_arn=arn,
                message=f"the key does not rotate automatically: {error}",
                evidence=evidence,
            )
            return
        yield Finding(Status.ERROR, resource_id=arn, resource_arn=arn, message=f"cannot read the key's rotation status: {error}", evidence=evidence)
        return
    enabled = status.get("KeyRotationEnabled")
    if not isinstance(enabled, bool):
        yield Finding(
            Status.ERROR,
            resource_id=arn,
            resource_arn=arn,
            message="GetKeyRotationStatus: KeyRotationEnabled is missing or not a boolean",
            evidence=evidence,
        )
        return
    evidence["KeyRotationEnabled"] = enabled
    if isinstance(status.get("RotationPeriodInDays"), int):
        evidence["RotationPeriodInDays"] = status["RotationPeriodInDays"]
    if status.get("NextRotationDate") is not None:
        evidence["NextRotationDate"] = str(status["NextRotationDate"])
    if enabled:
        yield Finding(Status.PASS, resource_id=arn, resource_arn=arn, message="automatic rotation of DevOps Guru's key is on", evidence=evidence)
    else:
        yield Finding(Status.FAIL, resource_id=arn, resource_arn=arn, message="automatic rotation of DevOps Guru's key is off", evidence=evidence)
