"""Administrative KMS actions are allowed only to principals of the key's own account."""
from __future__ import annotations

from checks.kms.gather import (
    DESCRIBE_KEY,
    GET_KEY_POLICY,
    LIST_KEYS,
    customer_managed_key_policies,
)
from checks.kms_aliases import LIST_ALIASES
from checks.policy import Policy, PolicyError
from checks.request_kinds import (
    KMS_ADMIN_ACTIONS,
    KMS_GRANT_ACTIONS,
    Access,
    OutsideCaller,
    allowed_accesses,
    outside_callers,
    outside_kms_requests,
    summarise,
)
from checks.sensitive_data.detector import redact_identifier
from scanner.findings import judge_apart
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

#: Actions that change who controls the key or whether it exists (AWS's "key administrators" set).
ADMIN_ACTIONS = KMS_ADMIN_ACTIONS
#: Grant operations count as administrative when another account can call them directly; AWS's own
#: key-user statement allows them only under kms:GrantIsForAWSResource (an integrated service asks).
GRANT_ACTIONS = KMS_GRANT_ACTIONS

METADATA = CheckMetadata(
    id="kms_key_policy_admin_restricted",
    title="KMS key administration is limited to the key's own account",
    severity=Severity.MEDIUM,
    service="kms",
    resource_type="AWS::KMS::Key",
    scope=Scope.REGIONAL,
    rationale=(
        "Whoever can change a key policy, disable a key or schedule its deletion controls every piece of data under the key: "
        "DevOps Guru loses access to its data when the key or its grant is revoked. Administrative actions (kms:*, *, "
        "PutKeyPolicy, ScheduleKeyDeletion, DisableKey, CancelKeyDeletion, UpdateKeyDescription, and CreateGrant, RevokeGrant "
        "or RetireGrant called directly: whoever can revoke DevOps Guru's grant can make its data unreadable) "
        "belong to administrators of the key's own account, never to other accounts, to every principal or to a service principal."
    ),
    remediation=Remediation(
        text=(
            "Remove administrative actions from statements whose principal is another account, \"*\" or a service principal; "
            "grant them to named administrator roles of the key's account. Give services only the actions they use, and "
            "CreateGrant only with \"Bool\": {\"kms:GrantIsForAWSResource\": \"true\"}."
        ),
        cli=(
            "aws kms get-key-policy --key-id <key-arn> --policy-name default --query Policy --output text > policy.json\n"
            "# edit policy.json: limit the administrative statement to arn:aws:iam::<account-id>:role/<KeyAdminRole>\n"
            "aws kms put-key-policy --key-id <key-arn> --policy-name default --policy file://policy.json"
        ),
        url="https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-administrators",
    ),
    iam_actions=(LIST_KEYS, LIST_ALIASES, DESCRIBE_KEY, GET_KEY_POLICY),
    references=(
        "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html",
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
    ),
)


def _direct_requests(key_arn: str):
    """Administrative requests are direct calls: an integrated service never administers a key for its caller."""

    def requests(action: str, outside: OutsideCaller):
        yield "direct", outside_kms_requests(action, key_arn, outside, via_service=False)

    return requests


def admin_accesses(policy: Policy, key_arn: str, account_id: str, partition: str, org_id: str | None = None) -> list[Access]:
    """Administrative and grant operations that callers outside ``account_id`` may perform on the key, directly."""
    callers = outside_callers(policy, account_id, partition, org_id)
    return allowed_accesses(policy, callers, ADMIN_ACTIONS + GRANT_ACTIONS, _direct_requests(key_arn), named_actions=False)


@check(METADATA)
def kms_key_policy_admin_restricted(ctx):
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
    org_id = ctx.organization.id if ctx.organization is not None else None
    try:
        grants = admin_accesses(policy, key.arn, key_account, ctx.partition, org_id)
    except PolicyError as error:
        yield Finding(Status.ERROR, resource_id=key.arn, resource_arn=key.arn, message=f"key policy cannot be judged: {error}")
        return
    evidence = {"key_id": key.key_id, "aliases": [redact_identifier(a) for a in key.aliases], "key_account": key_account}
    if grants:
        summary = summarise(grants)
        yield Finding(
            Status.FAIL,
            resource_id=key.arn,
            resource_arn=key.arn,
            message=f"administrative key actions are allowed outside account {key_account}: {summary}",
            evidence={**evidence, "admin_grants": [g.evidence() for g in grants[:50]], "admin_grant_count": len(grants)},
        )
    else:
        yield Finding(
            Status.PASS,
            resource_id=key.arn,
            resource_arn=key.arn,
            message=f"administrative key actions are allowed only within account {key_account}",
            evidence=evidence,
        )
