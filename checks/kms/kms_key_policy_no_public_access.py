"""No customer managed key's policy lets any principal of any account use or manage the key."""
from __future__ import annotations

from checks.kms.gather import (
    DESCRIBE_KEY,
    GET_KEY_POLICY,
    LIST_KEYS,
    customer_managed_key_policies,
)
from checks.kms_aliases import LIST_ALIASES
from checks.policy import CallerKind, Policy, PolicyError
from checks.request_kinds import KMS_ACTIONS, Access, OutsideCaller, allowed_accesses, outside_callers, outside_kms_requests
from checks.sensitive_data.detector import redact_identifier
from scanner.findings import judge_apart
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

RESOURCE_TYPE = "AWS::KMS::Key"

METADATA = CheckMetadata(
    id="kms_key_policy_no_public_access",
    title="KMS key policies do not allow access to every AWS principal",
    severity=Severity.CRITICAL,
    service="kms",
    resource_type=RESOURCE_TYPE,
    scope=Scope.REGIONAL,
    rationale=(
        "A key policy that lets a principal of an unrelated AWS account call KMS on the key -- Principal \"*\" or "
        "{\"AWS\": \"*\"} with no condition that limits the caller, and no Deny that keeps it out -- lets anyone use or "
        "manage the key, and so read the data it protects. kms:ViaService, aws:SecureTransport or aws:SourceIp alone do "
        "not limit the caller: anyone can call through the named service, over TLS, from an address of their choosing."
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
)


def kms_outside_requests(key_arn: str):
    """``requests(action, caller)`` for :func:`allowed_accesses`: a direct call, then one through an integrated service."""

    def requests(action: str, outside: OutsideCaller):
        yield "direct", outside_kms_requests(action, key_arn, outside, via_service=False)
        if outside.caller.kind is not CallerKind.SERVICE:
            yield "through an AWS service", outside_kms_requests(action, key_arn, outside, via_service=True)

    return requests


def public_accesses(policy: Policy, key_arn: str, account_id: str, partition: str) -> list[Access]:
    """What a principal of an unrelated account may do with the key (empty: the key is not public).

    AWS KMS accepts no anonymous requests (every request is signed), so the
    unrelated callers are an account's root user and its role sessions, in no
    organization or in one of their own.
    """
    strangers = [c for c in outside_callers(policy, account_id, partition, None) if c.public]
    return allowed_accesses(policy, strangers, KMS_ACTIONS, kms_outside_requests(key_arn))


@check(METADATA)
def kms_key_policy_no_public_access(ctx):
    for item in customer_managed_key_policies(ctx):
        if isinstance(item, Finding):
            yield item
            continue
        # One key whose policy cannot be judged is an ERROR for that key; the other keys are still judged.
        key, policy = item
        yield from judge_apart(key.arn, lambda: list(_judge_key(ctx, key, policy)), resource_arn=key.arn)


def _judge_key(ctx, key, policy):
    """The verdict on one key's policy."""
    key_account = key.facts.account_id if key.facts else ctx.account_id
    try:
        accesses = public_accesses(policy, key.arn, key_account, ctx.partition)
    except PolicyError as error:
        yield Finding(Status.ERROR, resource_id=key.arn, resource_arn=key.arn, message=f"key policy cannot be judged: {error}")
        return
    evidence = {"key_id": key.key_id, "aliases": [redact_identifier(a) for a in key.aliases], "statements_read": len(policy.statements)}
    if accesses:
        statements = {s.index: s for a in accesses for s in a.statements}
        labels = ", ".join(s.label for s in statements.values())
        actions = sorted({a.action for a in accesses})
        yield Finding(
            Status.FAIL,
            resource_id=key.arn,
            resource_arn=key.arn,
            message=(
                f"key policy lets a principal of any AWS account use the key ({', '.join(actions[:5])}"
                f"{', ...' if len(actions) > 5 else ''}) with no condition that limits the caller: {labels}"
            ),
            evidence={
                **evidence,
                "public_statements": [s.evidence() for s in statements.values()],
                "public_requests": [a.evidence() for a in accesses[:20]],
                "public_request_count": len(accesses),
            },
        )
    else:
        yield Finding(
            Status.PASS,
            resource_id=key.arn,
            resource_arn=key.arn,
            message="no principal of an unrelated AWS account may use the key: every Allow names principals or limits the caller",
            evidence=evidence,
        )
