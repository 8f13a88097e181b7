"""The key policy of DevOps Guru's key lets DevOps Guru create its grant and describe the key, and nothing denies it."""
from __future__ import annotations

from dataclasses import dataclass, field

from checks.devopsguru.gather import DESCRIBE_SERVICE_INTEGRATION, GET_RESOURCE_COLLECTION, customer_managed_key_or_finding
from checks.kms.gather import DESCRIBE_KEY, GET_KEY_POLICY, LIST_ALIASES, MalformedResponse, key_policy_text
from checks.policy import (
    Condition,
    Policy,
    PolicyError,
    Request,
    Statement,
    account_of_principal,
    evaluate_conditions,
    explicit_denies,
    parse_policy,
    statement_allows_action,
)
from scanner.errors import AwsError
from scanner.model import CheckMetadata, ComplianceMapping, Finding, Remediation, Scope, Severity, Status, check

REQUIRED_ACTIONS = ("kms:CreateGrant", "kms:DescribeKey")
_GRANT_ONLY_KEYS = frozenset(
    {
        "kms:GrantIsForAWSResource",
        "kms:GrantOperations",
        "kms:GranteePrincipal",
        "kms:RetiringPrincipal",
        "kms:GrantConstraintType",
        "kms:GranteeServicePrincipal",
        "kms:GrantConstraintSourceArn",
    }
)

# Two statements, because kms:GrantIsForAWSResource exists only in grant requests: in a statement that
# also allows kms:DescribeKey, a Bool test on it is false for DescribeKey and would deny DevOps Guru.
_GUIDANCE_STATEMENTS = """[
  {"Sid": "AllowDevOpsGuruToDescribeTheKey", "Effect": "Allow", "Principal": {"AWS": "*"},
   "Action": "kms:DescribeKey", "Resource": "*",
   "Condition": {"StringEquals": {"kms:ViaService": "devops-guru.<region>.amazonaws.com", "kms:CallerAccount": "<account-id>"}}},
  {"Sid": "AllowDevOpsGuruToCreateItsGrant", "Effect": "Allow", "Principal": {"AWS": "*"},
   "Action": "kms:CreateGrant", "Resource": "*",
   "Condition": {"StringEquals": {"kms:ViaService": "devops-guru.<region>.amazonaws.com", "kms:CallerAccount": "<account-id>"},
                 "Bool": {"kms:GrantIsForAWSResource": "true"}}}
]"""

METADATA = CheckMetadata(
    id="devopsguru_cmk_policy_grants_service",
    title="DevOps Guru's key policy lets DevOps Guru create its grant and describe the key",
    severity=Severity.HIGH,
    service="devops-guru",
    resource_type="AWS::KMS::Key",
    scope=Scope.REGIONAL,
    rationale=(
        "DevOps Guru validates the key with kms:DescribeKey and uses it through a grant it creates with kms:CreateGrant. "
        "AWS's guidance scopes both to DevOps Guru in this region and this account with kms:ViaService and kms:CallerAccount "
        "(exact-match operators). Without that Allow, or with a Deny that blocks it, DevOps Guru cannot use or read its data."
    ),
    remediation=Remediation(
        text=(
            "Allow kms:DescribeKey and kms:CreateGrant with StringEquals kms:ViaService = devops-guru.<region>.amazonaws.com "
            "and kms:CallerAccount = <account-id>, and on CreateGrant add Bool kms:GrantIsForAWSResource = true so the grant "
            "can only be created for DevOps Guru's own use (in a statement of its own: the key exists only in grant requests, "
            "so on DescribeKey the test would fail); remove any Deny that blocks these actions. IfExists, negated and wildcard "
            "operators do not count. Statements:\n" + _GUIDANCE_STATEMENTS
        ),
        cli=(
            "aws kms get-key-policy --key-id <key-arn> --policy-name default --query Policy --output text > policy.json\n"
            "# add the statement above to policy.json\n"
            "aws kms put-key-policy --key-id <key-arn> --policy-name default --policy file://policy.json"
        ),
        url="https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
    ),
    iam_actions=(GET_RESOURCE_COLLECTION, DESCRIBE_SERVICE_INTEGRATION, DESCRIBE_KEY, LIST_ALIASES, GET_KEY_POLICY),
    references=(
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
        "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service",
        "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource",
    ),
    compliance=(
        ComplianceMapping("Amazon DevOps Guru data protection guidance", "Data encryption in DevOps Guru"),
        ComplianceMapping("Amazon DevOps Guru data protection guidance", "Key policy"),
    ),
)


@dataclass
class ActionAccess:
    """For one required action: the statements that grant it to DevOps Guru, near misses, and Denies."""

    action: str
    granting: list[Statement] = field(default_factory=list)
    near_misses: list[tuple[Statement, str]] = field(default_factory=list)
    denied_by: tuple[Statement, ...] = ()
    maybe_denied_by: tuple[Statement, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.granting) and not self.denied_by

    def evidence(self) -> dict:
        data: dict = {"granted_by": [s.label for s in self.granting]}
        if self.near_misses:
            data["not_counted"] = [{"statement": s.label, "why": why} for s, why in self.near_misses]
        if self.denied_by:
            data["denied_by"] = [s.label for s in self.denied_by]
        if self.maybe_denied_by:
            data["may_be_denied_by"] = [s.label for s in self.maybe_denied_by]
        return data


def devops_guru_request(action: str, account_id: str, region: str, partition: str) -> Request:
    """The request DevOps Guru makes on a caller's behalf, with the context keys KMS gives it."""
    context = {
        "kms:ViaService": f"devops-guru.{region}.amazonaws.com",
        "kms:CallerAccount": account_id,
        "aws:PrincipalAccount": account_id,
        "aws:ViaAWSService": "true",
    }
    absent: frozenset[str] = frozenset()
    if action == "kms:CreateGrant":
        context["kms:GrantIsForAWSResource"] = "true"
    else:
        # Grant condition keys exist only in grant requests.
        absent = _GRANT_ONLY_KEYS
    return Request(action=action, principal_arn=f"arn:{partition}:iam::{account_id}:root", context=context, absent_keys=absent)


def _exact_condition_with(conditions: tuple[Condition, ...], key: str, value: str) -> bool:
    for condition in conditions:
        if condition.key != key or not condition.exact_match or condition.base_operator == "arnequals":
            continue
        values = condition.values if condition.base_operator == "stringequals" else tuple(v.lower() for v in condition.values)
        wanted = value if condition.base_operator == "stringequals" else value.lower()
        if wanted in values:
            return True
    return False


def _covers_account_callers(statement: Statement, account_id: str) -> bool:
    principal = statement.principal
    if principal is None:
        return False
    return principal.has_wildcard or any(account_of_principal(v) == account_id for v in principal.values("AWS"))


def _why_not_counted(statement: Statement, key: str, value: str) -> str | None:
    tests = [c for c in statement.conditions if c.key == key]
    name = {"kms:viaservice": "kms:ViaService", "kms:calleraccount": "kms:CallerAccount"}[key]
    if not tests:
        return f"no {name} condition"
    reasons = []
    for c in tests:
        if c.if_exists:
            reasons.append(f"{c.operator} {name}: IfExists does not count")
        elif c.negated:
            reasons.append(f"{c.operator} {name}: a negated operator does not count")
        elif c.set_qualifier:
            reasons.append(f"{c.operator} {name}: a set operator does not count")
        elif not c.exact_match or c.base_operator == "arnequals":
            reasons.append(f"{c.operator} {name}: not an exact-match operator")
        else:
            reasons.append(f"{c.operator} {name} is {', '.join(c.values)}, not {value}")
    return "; ".join(reasons)


def service_access(policy: Policy, account_id: str, region: str, partition: str = "aws") -> list[ActionAccess]:
    """How the policy treats DevOps Guru's CreateGrant and DescribeKey in this account and region."""
    via = f"devops-guru.{region}.amazonaws.com"
    results = []
    for action in REQUIRED_ACTIONS:
        access = ActionAccess(action)
        request = devops_guru_request(action, account_id, region, partition)
        for statement in policy.allows:
            if not statement_allows_action(statement, action):
                continue
            mentions = any(c.key in ("kms:viaservice", "kms:calleraccount") for c in statement.conditions)
            if not _covers_account_callers(statement, account_id):
                if mentions:
                    access.near_misses.append((statement, f"its principal does not cover callers of account {account_id}"))
                continue
            why = [
                reason
                for reason in (
                    None if _exact_condition_with(statement.conditions, "kms:viaservice", via) else _why_not_counted(statement, "kms:viaservice", via),
                    None
                    if _exact_condition_with(statement.conditions, "kms:calleraccount", account_id)
                    else _why_not_counted(statement, "kms:calleraccount", account_id),
                )
                if reason
            ]
            if not why and evaluate_conditions(statement.conditions, request) is False:
                why = ["its other conditions exclude DevOps Guru's request"]
            if why:
                if mentions:
                    access.near_misses.append((statement, "; ".join(why)))
                continue
            access.granting.append(statement)
        access.denied_by, access.maybe_denied_by = explicit_denies(policy, request)
        results.append(access)
    return results


@check(METADATA)
def devopsguru_cmk_policy_grants_service(ctx):
    key = customer_managed_key_or_finding(
        ctx,
        when_missing="no key policy grants DevOps Guru access",
        when_aws_managed=(
            "the configured key is AWS managed: key-policy checks never judge AWS managed keys (devopsguru_cmk_key_usable fails it)"
        ),
    )
    if isinstance(key, Finding):
        yield key
        return
    arn = key.resource_arn
    evidence = key.evidence()
    if key.facts.account_id != ctx.account_id:
        yield Finding(
            Status.ERROR,
            resource_id=arn,
            resource_arn=arn,
            message=(
                f"the key is in account {key.facts.account_id}: its key policy can only be read in that account "
                "(GetKeyPolicy does not work across accounts); scan that account to judge it"
            ),
            evidence=evidence,
        )
        return
    try:
        policy = parse_policy(key_policy_text(ctx, key.facts.key_id))
    except (AwsError, MalformedResponse) as error:
        yield Finding(Status.ERROR, resource_id=arn, resource_arn=arn, message=f"cannot read the key policy: {error}", evidence=evidence)
        return
    except PolicyError as error:
        yield Finding(Status.ERROR, resource_id=arn, resource_arn=arn, message=f"key policy cannot be judged: {error}", evidence=evidence)
        return
    accesses = service_access(policy, ctx.account_id, ctx.region, ctx.partition)
    evidence["policy"] = {a.action: a.evidence() for a in accesses}
    problems = []
    for access in accesses:
        if access.denied_by:
            problems.append(f"{access.action} is denied by {', '.join(s.label for s in access.denied_by)}")
        if not access.granting:
            problems.append(
                f"no Allow of {access.action} conditioned on StringEquals kms:ViaService = devops-guru.{ctx.region}.amazonaws.com "
                f"and kms:CallerAccount = {ctx.account_id}"
            )
    if problems:
        yield Finding(Status.FAIL, resource_id=arn, resource_arn=arn, message="; ".join(problems), evidence=evidence)
        return
    granted = sorted({s.label for a in accesses for s in a.granting})
    yield Finding(
        Status.PASS,
        resource_id=arn,
        resource_arn=arn,
        message=f"DevOps Guru may create its grant and describe the key ({', '.join(granted)}); no Deny blocks it",
        evidence=evidence,
    )
