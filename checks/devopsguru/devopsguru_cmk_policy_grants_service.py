"""The key policy of DevOps Guru's key lets DevOps Guru create its grant and describe the key, and nothing denies it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from checks.devopsguru.gather import (
    DESCRIBE_SERVICE_INTEGRATION,
    GET_RESOURCE_COLLECTION,
    customer_managed_key_or_finding,
)
from checks.kms.gather import DESCRIBE_KEY, GET_KEY_POLICY, key_policy_text
from checks.kms_aliases import LIST_ALIASES
from checks.policy import (
    Condition,
    Policy,
    PolicyError,
    Request,
    Statement,
    account_of_principal,
    explicit_denies,
    parse_policy,
    statement_applies,
)
from checks.request_kinds import DEVOPS_GURU_ACTIONS
from checks.request_kinds import devops_guru_request as _fas_request
from scanner.errors import AwsError, MalformedResponse
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check
from scanner.options import option_values

REQUIRED_ACTIONS = DEVOPS_GURU_ACTIONS

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
        "DevOps Guru validates the key with kms:DescribeKey and uses it through a grant it creates with kms:CreateGrant, "
        "calling KMS on behalf of the principal that configures it (a forward access session). The key policy must allow "
        "that request: with the guidance's statement (kms:ViaService and kms:CallerAccount) or by delegating to IAM (the "
        "account root's kms:*, then the principal's IAM policy must allow it too). Without an Allow, or with a Deny that "
        "blocks the request (a network guard without an aws:ViaAWSService exception, a NotPrincipal Deny naming only the "
        "root user), DevOps Guru cannot use or read its data. Option require_explicit_statement asks for the guidance's statement."
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
    # true: PASS only with the guidance's own key-policy statement (docs/checks/devopsguru.md).
    option_schemas={"require_explicit_statement": {"type": "boolean", "default": False}},
    references=(
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
        "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service",
        "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource",
        "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_forward_access_sessions.html",
    ),
)



def read_options(options: Mapping[str, Any] | None) -> bool:
    """``require_explicit_statement`` (default false; validated against the check's schema when the scan was planned)."""
    return option_values(METADATA, options)["require_explicit_statement"]


@dataclass
class ActionAccess:
    """How the key policy answers DevOps Guru's request for one action."""

    action: str
    allowed_by: tuple[Statement, ...] = ()
    maybe_allowed_by: tuple[Statement, ...] = ()
    guidance_form: tuple[Statement, ...] = ()
    near_misses: list[tuple[Statement, str]] = field(default_factory=list)
    not_guidance_form: list[tuple[Statement, str]] = field(default_factory=list)
    denied_by: tuple[Statement, ...] = ()
    maybe_denied_by: tuple[Statement, ...] = ()
    account_id: str = ""

    @property
    def granting(self) -> list[Statement]:
        """The statements that allow the request (kept under the earlier name)."""
        return list(self.allowed_by)

    @property
    def allowed(self) -> bool:
        return bool(self.allowed_by) and not self.denied_by

    @property
    def delegated(self) -> tuple[Statement, ...]:
        """Allowing statements that name the account (root or id), not "*": the key policy delegates to IAM."""
        return tuple(s for s in self.allowed_by if _names_account(s, self.account_id))

    @property
    def only_delegated(self) -> bool:
        return bool(self.allowed_by) and len(self.delegated) == len(self.allowed_by)

    def evidence(self) -> dict:
        data: dict = {"allowed_by": [s.label for s in self.allowed_by], "granted_by": [s.label for s in self.allowed_by]}
        if self.delegated:
            data["delegates_to_iam"] = [s.label for s in self.delegated]
        if self.maybe_allowed_by:
            data["allowed_only_for_some_principals_by"] = [s.label for s in self.maybe_allowed_by]
        if self.guidance_form:
            data["guidance_statements"] = [s.label for s in self.guidance_form]
        if self.near_misses:
            data["not_counted"] = [{"statement": s.label, "why": why} for s, why in self.near_misses]
        if self.not_guidance_form:
            data["not_in_guidance_form"] = [{"statement": s.label, "why": why} for s, why in self.not_guidance_form]
        if self.denied_by:
            data["denied_by"] = [s.label for s in self.denied_by]
        if self.maybe_denied_by:
            data["may_be_denied_by"] = [s.label for s in self.maybe_denied_by]
        return data


def _names_account(statement: Statement, account_id: str) -> bool:
    principal = statement.principal
    if principal is None or principal.everyone:
        return False
    values = principal.values("AWS")
    if "*" in values:
        return False
    return any(account_of_principal(v) == account_id and (v == account_id or v.endswith(":root")) for v in values)


def devops_guru_request(
    action: str, account_id: str, region: str, partition: str, key_arn: str | None = None, org_id: str | None = None
) -> Request:
    """DevOps Guru's forward-access-session request (see :func:`checks.request_kinds.devops_guru_request`)."""
    key_arn = key_arn or f"arn:{partition}:kms:{region}:{account_id}:key/00000000-0000-0000-0000-000000000000"
    return _fas_request(action, account_id, region, partition, key_arn, org_id)


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


def service_access(
    policy: Policy, account_id: str, region: str, partition: str = "aws", key_arn: str | None = None, org_id: str | None = None
) -> list[ActionAccess]:
    """How the key policy answers DevOps Guru's CreateGrant and DescribeKey requests in this account and region.

    ``org_id`` is the account's organization when the scan knows it (aws:PrincipalOrgID of the request).
    """
    via = f"devops-guru.{region}.amazonaws.com"
    results = []
    for action in REQUIRED_ACTIONS:
        request = devops_guru_request(action, account_id, region, partition, key_arn, org_id)
        access = ActionAccess(action, account_id=account_id)
        access.denied_by, access.maybe_denied_by = explicit_denies(policy, request)
        definite, maybe, guidance = [], [], []
        for statement in policy.allows:
            applies = statement_applies(statement, request)
            mentions = any(c.key in ("kms:viaservice", "kms:calleraccount") for c in statement.conditions)
            if applies is True:
                definite.append(statement)
                if _in_guidance_form(statement, account_id, via):
                    guidance.append(statement)
                elif mentions:
                    access.not_guidance_form.append((statement, _why_not_guidance(statement, account_id, via)))
            elif applies is None:
                maybe.append(statement)
            elif mentions:
                access.near_misses.append((statement, _why_not_allowed(statement, account_id, via)))
        access.allowed_by, access.maybe_allowed_by, access.guidance_form = tuple(definite), tuple(maybe), tuple(guidance)
        results.append(access)
    return results


def _in_guidance_form(statement: Statement, account_id: str, via: str) -> bool:
    """The guidance's own statement: exact-match kms:ViaService and kms:CallerAccount conditions."""
    return (
        _covers_account_callers(statement, account_id)
        and _exact_condition_with(statement.conditions, "kms:viaservice", via)
        and _exact_condition_with(statement.conditions, "kms:calleraccount", account_id)
    )


def _missing_guidance_conditions(statement: Statement, account_id: str, via: str) -> list[str]:
    """Why each of the guidance's two exact-match conditions (kms:ViaService, kms:CallerAccount) is not met, if it is not."""
    wanted = (("kms:viaservice", via), ("kms:calleraccount", account_id))
    return [
        _why_not_counted(statement, key, value)
        for key, value in wanted
        if not _exact_condition_with(statement.conditions, key, value)
    ]


def _why_not_guidance(statement: Statement, account_id: str, via: str) -> str:
    reasons = [reason for reason in _missing_guidance_conditions(statement, account_id, via) if reason]
    return "; ".join(reasons or ["its principal is not \"*\" or the account"])


def _why_not_allowed(statement: Statement, account_id: str, via: str) -> str:
    if not _covers_account_callers(statement, account_id):
        return f"its principal does not cover callers of account {account_id}"
    reasons = [reason for reason in _missing_guidance_conditions(statement, account_id, via) if reason]
    return "; ".join(reasons) if reasons else "its other conditions exclude DevOps Guru's request"


def judge(accesses: list[ActionAccess], account_id: str, region: str, strict: bool) -> tuple[Status, str]:
    """The verdict on DevOps Guru's requests and the message that explains it."""
    problems = []
    for access in accesses:
        if access.denied_by:
            problems.append(f"{access.action} is denied by {', '.join(s.label for s in access.denied_by)}")
        elif not access.allowed_by:
            if access.maybe_allowed_by:
                problems.append(
                    f"{access.action} is allowed only to some principals of the account "
                    f"({', '.join(s.label for s in access.maybe_allowed_by)}): it works only if one of them configures DevOps Guru"
                )
            else:
                problems.append(
                    f"no statement allows DevOps Guru's {access.action} request (kms:ViaService = devops-guru.{region}.amazonaws.com, "
                    f"kms:CallerAccount = {account_id}, from a role of the account)"
                )
        elif strict and not access.guidance_form:
            problems.append(
                f"no Allow of {access.action} conditioned on StringEquals kms:ViaService = devops-guru.{region}.amazonaws.com "
                f"and kms:CallerAccount = {account_id} (require_explicit_statement is set; allowed by "
                f"{', '.join(s.label for s in access.allowed_by)})"
            )
    if problems:
        return Status.FAIL, "; ".join(problems)
    allowed = sorted({s.label for a in accesses for s in (a.guidance_form if strict else a.allowed_by)})
    message = f"DevOps Guru may create its grant and describe the key ({', '.join(allowed)}); no Deny blocks it"
    delegated = sorted({s.label for a in accesses if a.only_delegated for s in a.delegated})
    if delegated and not strict:
        message += (
            f"; the key policy delegates to IAM ({', '.join(delegated)}): the IAM policy of the principal that configures "
            "DevOps Guru must also allow kms:CreateGrant and kms:DescribeKey"
        )
    maybe_denied = sorted({s.label for a in accesses for s in a.maybe_denied_by})
    if maybe_denied:
        message += f"; {', '.join(maybe_denied)} may deny it, depending on which principal configures DevOps Guru"
    return Status.PASS, message


@check(METADATA)
def devopsguru_cmk_policy_grants_service(ctx):
    strict = read_options(ctx.options)
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
    org_id = ctx.organization.id if ctx.organization is not None else None
    accesses = service_access(policy, ctx.account_id, ctx.region, ctx.partition, key.facts.arn, org_id)
    evidence["policy"] = {a.action: a.evidence() for a in accesses}
    evidence["require_explicit_statement"] = strict
    status, message = judge(accesses, ctx.account_id, ctx.region, strict)
    yield Finding(status, resource_id=arn, resource_arn=arn, message=message, evidence=evidence)
