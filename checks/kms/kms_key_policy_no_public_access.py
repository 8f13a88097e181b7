"""No customer managed key's policy lets any principal of any account use or manage the key."""
from __future__ import annotations

from checks.kms.gather import (
    DESCRIBE_KEY,
    GET_KEY_POLICY,
    LIST_ALIASES,
    LIST_KEYS,
    customer_managed_key_policies,
)
from checks.policy import CALLER_LIMITING_KEYS, KMS_ALWAYS_PRESENT_KEYS, public_allow_statements
from scanner.findings import judge_apart
from scanner.model import CheckMetadata, ComplianceMapping, Finding, Remediation, Scope, Severity, Status, check

RESOURCE_TYPE = "AWS::KMS::Key"

METADATA = CheckMetadata(
    id="kms_key_policy_no_public_access",
    title="KMS key policies do not allow access to every AWS principal",
    severity=Severity.CRITICAL,
    service="kms",
    resource_type=RESOURCE_TYPE,
    scope=Scope.REGIONAL,
    rationale=(
        "A key policy statement that allows Principal \"*\" (or {\"AWS\": \"*\"}, or NotPrincipal) without a condition on "
        "who the caller is lets principals of any AWS account use or manage the key, and so read the data it protects. "
        "kms:ViaService alone does not limit the caller: anyone can call through the named service."
    ),
    remediation=Remediation(
        text=(
            "Replace the wildcard principal with the account or roles that need the key, or add a condition that names "
            "the caller: kms:CallerAccount, aws:PrincipalAccount, aws:PrincipalOrgID, aws:PrincipalArn, aws:SourceAccount, "
            "aws:SourceArn, aws:SourceVpce or aws:SourceVpc (StringEquals with fixed values). DevOps Guru's statement, "
            "for example, keeps {\"AWS\": \"*\"} but is conditioned on kms:ViaService and kms:CallerAccount."
        ),
        cli=(
            "aws kms get-key-policy --key-id <key-arn> --policy-name default --query Policy --output text > policy.json\n"
            "# edit policy.json: add \"Condition\": {\"StringEquals\": {\"kms:CallerAccount\": \"<account-id>\"}} to the statement\n"
            "aws kms put-key-policy --key-id <key-arn> --policy-name default --policy file://policy.json"
        ),
        url="https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html",
    ),
    iam_actions=(LIST_KEYS, LIST_ALIASES, DESCRIBE_KEY, GET_KEY_POLICY),
    references=(
        "https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html",
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html",
    ),
    compliance=(
        ComplianceMapping("AWS Foundational Security Best Practices", "KMS.5"),
        ComplianceMapping("Amazon DevOps Guru data protection guidance", "Key policy"),
    ),
)


@check(METADATA)
def kms_key_policy_no_public_access(ctx):
    for item in customer_managed_key_policies(ctx):
        if isinstance(item, Finding):
            yield item
            continue
        # One key whose policy cannot be judged is an ERROR for that key; the other keys are still judged.
        yield from judge_apart(item[0].arn, lambda: list(_judge_keys(ctx, [item])), resource_arn=item[0].arn)


def _judge_keys(ctx, items):
    """The verdict for each ``(key, policy)`` of ``items`` (the check hands it one key at a time)."""
    for item in items:
        if isinstance(item, Finding):
            yield item
            continue
        key, policy = item
        public = public_allow_statements(policy, CALLER_LIMITING_KEYS, KMS_ALWAYS_PRESENT_KEYS)
        evidence = {"key_id": key.key_id, "aliases": list(key.aliases), "statements_read": len(policy.statements)}
        if public:
            labels = ", ".join(s.label for s in public)
            yield Finding(
                Status.FAIL,
                resource_id=key.arn,
                resource_arn=key.arn,
                message=f"key policy allows every AWS principal with no condition on the caller: {labels}",
                evidence={**evidence, "public_statements": [s.evidence() for s in public]},
            )
        else:
            yield Finding(
                Status.PASS,
                resource_id=key.arn,
                resource_arn=key.arn,
                message="no key policy statement opens the key to every AWS principal without a condition on the caller",
                evidence=evidence,
            )
