"""Administrative KMS actions are allowed only to principals of the key's own account."""
from __future__ import annotations

from dataclasses import dataclass

from checks.kms.gather import (
    DESCRIBE_KEY,
    GET_KEY_POLICY,
    LIST_ALIASES,
    LIST_KEYS,
    customer_managed_key_policies,
)
from checks.policy import (
    KMS_ALWAYS_PRESENT_KEYS,
    Policy,
    Request,
    Statement,
    account_of_principal,
    explicit_denies,
    statement_allows_action,
)
from scanner.findings import judge_apart
from scanner.model import CheckMetadata, ComplianceMapping, Finding, Remediation, Scope, Severity, Status, check

#: Actions that change who controls the key or whether it exists (AWS's "key administrators" set).
ADMIN_ACTIONS = (
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:UpdateKeyDescription",
    "kms:DisableKeyRotation",
    "kms:EnableKeyRotation",
    "kms:RotateKeyOnDemand",
    "kms:ImportKeyMaterial",
    "kms:DeleteImportedKeyMaterial",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ReplicateKey",
    "kms:UpdatePrimaryRegion",
)
#: Grant actions are administrative only without conditions: AWS's own key-user statement allows them
#: under kms:GrantIsForAWSResource, which limits grants to AWS services acting for the user.
GRANT_ACTIONS = ("kms:CreateGrant", "kms:RevokeGrant")
_OWN_ACCOUNT_KEYS = ("kms:calleraccount", "aws:principalaccount")
#: Stands for "some other account" when a wildcard principal is tested against Deny statements: a Deny
#: that blocks every caller outside the key's account blocks this one too.
_SOME_OTHER_ACCOUNT = "000000000000"

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
        "PutKeyPolicy, ScheduleKeyDeletion, DisableKey, CancelKeyDeletion, UpdateKeyDescription, unconditioned CreateGrant...) "
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
    compliance=(ComplianceMapping("Amazon DevOps Guru data protection guidance", "Key policy"),),
)


@dataclass(frozen=True)
class AdminGrant:
    """An administrative action a statement gives to someone outside the key's account."""

    statement: Statement
    action: str
    grantee: str

    def evidence(self) -> dict:
        return {"statement": self.statement.label, "index": self.statement.index, "action": self.action, "grantee": self.grantee}


def _restricted_to_account(statement: Statement, account_id: str) -> bool:
    """A wildcard principal whose conditions pin the caller to ``account_id``."""
    for condition in statement.conditions:
        if condition.negated or condition.set_qualifier == "forallvalues":
            continue
        if condition.if_exists and condition.key not in KMS_ALWAYS_PRESENT_KEYS:
            continue
        if condition.base_operator not in ("stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"):
            continue
        if condition.key in _OWN_ACCOUNT_KEYS and all(v == account_id for v in condition.values):
            return True
        if condition.key == "aws:principalarn" and all(account_of_principal(v) == account_id for v in condition.values):
            return True
    return False


def _some_other_account(account_id: str, partition: str) -> Request:
    other = _SOME_OTHER_ACCOUNT if account_id != _SOME_OTHER_ACCOUNT else "000000000001"
    return Request(action="", principal_arn=f"arn:{partition}:iam::{other}:root")


def _outside_grantees(statement: Statement, account_id: str, partition: str) -> list[tuple[str, Request]]:
    """Who outside the key's account the statement covers, each with a request to test Deny statements against."""
    outside: list[tuple[str, Request]] = []
    if statement.not_principal is not None:
        outside.append(("everyone not named in NotPrincipal", _some_other_account(account_id, partition)))
        return outside
    principal = statement.principal
    assert principal is not None
    if principal.has_wildcard and not _restricted_to_account(statement, account_id):
        outside.append(('"*" (every principal of every account)', _some_other_account(account_id, partition)))
    for value in principal.values("AWS"):
        if "*" in value:
            continue
        account = account_of_principal(value)
        if account is not None and account != account_id:
            outside.append((f"account {account} ({value})", Request(action="", principal_arn=f"arn:{partition}:iam::{account}:root")))
    for value in principal.values("Service"):
        outside.append((f"service principal {value}", Request(action="", principal_service=value)))
    for kind in ("Federated", "CanonicalUser"):
        for value in principal.values(kind):
            outside.append((f"{kind} principal {value}", Request(action="", principal_arn=None)))
    return outside


def admin_grants_outside_account(policy: Policy, account_id: str, partition: str = "aws") -> list[AdminGrant]:
    """Administrative actions allowed to principals outside ``account_id`` and not certainly blocked by a Deny."""
    found: list[AdminGrant] = []
    for statement in policy.allows:
        actions = [a for a in ADMIN_ACTIONS if statement_allows_action(statement, a)]
        if not statement.conditions:
            actions += [a for a in GRANT_ACTIONS if statement_allows_action(statement, a)]
        if not actions:
            continue
        for grantee, probe in _outside_grantees(statement, account_id, partition):
            for action in actions:
                request = Request(
                    action=action,
                    principal_arn=probe.principal_arn,
                    principal_service=probe.principal_service,
                    context=(
                        {"aws:principalaccount": probe.principal_account, "kms:calleraccount": probe.principal_account}
                        if probe.principal_account
                        else {}
                    ),
                )
                certain, _ = explicit_denies(policy, request)
                if not certain:
                    found.append(AdminGrant(statement, action, grantee))
    return found


@check(METADATA)
def kms_key_policy_admin_restricted(ctx):
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
        key_account = key.facts.account_id if key.facts else ctx.account_id
        grants = admin_grants_outside_account(policy, key_account, ctx.partition)
        evidence = {"key_id": key.key_id, "aliases": list(key.aliases), "key_account": key_account}
        if grants:
            by_statement: dict[str, list[AdminGrant]] = {}
            for grant in grants:
                by_statement.setdefault(grant.statement.label, []).append(grant)
            summary = "; ".join(
                f"{label} gives {', '.join(sorted({g.action for g in items}))} to {', '.join(sorted({g.grantee for g in items}))}"
                for label, items in by_statement.items()
            )
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
