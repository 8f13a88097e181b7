"""Policies written from patterns AWS's documentation describes, each with a concrete request and AWS's answer.

Every case is plain data, so any evaluator can be compared on it: orgscan's
``checks/policy.py`` in ``test_policy_cases.py``, the simulator's independent
``scanner/simulator/kms_key_policy.py`` in
``tests/simulator/test_kms_key_policy_evaluator.py``.

* ``policy``: the policy document, as JSON-ready data.
* ``request``: ``{"principal": {...}, "action": ..., "resource": ..., "context": {...}}``.
  ``principal["type"]`` is ``root``, ``role-session``, ``user``, ``service`` or
  ``anonymous``; ``arn`` is what ``aws:PrincipalArn`` holds (a role session's
  role), ``session_arn`` the session's own ARN. ``context`` lists every
  condition key present in the request with its value; a key not listed is
  absent. ``resource`` is the ARN asked for (``None``: any resource).
* ``expected``: ``"Allow"``, ``"ExplicitDeny"`` or ``"ImplicitDeny"`` -- the
  decision AWS's documented evaluation logic gives for this policy alone.
* ``check`` (optional): the verdict an orgscan check gives on this policy:
  ``{"id": check id, "verdict": "PASS"|"FAIL", "options": {...}}``.
* ``doc``: the AWS documentation page the expected decision follows.

The expected decisions come from the documentation, never from orgscan's code.
"""
from __future__ import annotations

from typing import Any

ACCOUNT = "111122223333"
OTHER = "444455556666"
STRANGER = "777788889999"
ORG = "o-a1b2c3d4e5"
OTHER_ORG = "o-zz9yy8xx7w"
ROOT_OU_PATH = f"{ORG}/r-ab12/"
PROD_OU_PATH = f"{ORG}/r-ab12/ou-ab12-11111111/"
DEV_OU_PATH = f"{ORG}/r-ab12/ou-ab12-22222222/"
REGION = "us-east-1"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0987dcba-09fe-87dc-65ba-ab0987654321"
DEVOPS_GURU_VIA = f"devops-guru.{REGION}.amazonaws.com"
VPCE = "vpce-1a2b3c4d5e6f7a8b9"
VPC = "vpc-0a1b2c3d4e5f6a7b8"

# AWS documentation pages the cases follow.
DOC_DEFAULT_KEY_POLICY = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html"
DOC_EXTERNAL_ACCOUNTS = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html"
DOC_KMS_CONDITIONS = "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html"
DOC_VIA_SERVICE = DOC_KMS_CONDITIONS + "#conditions-kms-via-service"
DOC_CALLER_ACCOUNT = DOC_KMS_CONDITIONS + "#conditions-kms-caller-account"
DOC_GRANT_FOR_AWS = DOC_KMS_CONDITIONS + "#conditions-kms-grant-is-for-aws-resource"
DOC_ENCRYPTION_CONTEXT_KEYS = DOC_KMS_CONDITIONS + "#conditions-kms-encryption-context-keys"
DOC_DEVOPS_GURU = "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html"
DOC_EVALUATION = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"
DOC_OPERATORS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html"
DOC_IFEXISTS = DOC_OPERATORS + "#Conditions_IfExists"
DOC_NULL = DOC_OPERATORS + "#Conditions_Null"
DOC_MULTIVALUED = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html"
DOC_GLOBAL_KEYS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html"
DOC_VARIABLES = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html"
DOC_NOTPRINCIPAL = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html"
DOC_PRINCIPAL = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html"
DOC_NOTACTION = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html"
DOC_RESOURCE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html"
DOC_NOTRESOURCE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html"
DOC_FAS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_forward_access_sessions.html"
DOC_PERIMETER = "https://docs.aws.amazon.com/whitepapers/latest/building-a-data-perimeter-on-aws/perimeter-implementation.html"
DOC_ENDPOINT_POLICY = "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html"
DOC_DENY_IP = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_aws_deny-ip.html"


# --------------------------------------------------------------------------
# request builders: plain dicts
# --------------------------------------------------------------------------


def role_session(account: str = ACCOUNT, role: str = "App", org: str | None = ORG, paths: tuple[str, ...] = (PROD_OU_PATH,)) -> dict[str, Any]:
    principal: dict[str, Any] = {
        "type": "role-session",
        "account": account,
        "arn": f"arn:aws:iam::{account}:role/{role}",
        "session_arn": f"arn:aws:sts::{account}:assumed-role/{role}/session",
    }
    if org:
        principal["org_id"] = org
        principal["org_paths"] = list(paths)
    return principal


def root_user(account: str = ACCOUNT, org: str | None = ORG) -> dict[str, Any]:
    principal: dict[str, Any] = {"type": "root", "account": account, "arn": f"arn:aws:iam::{account}:root"}
    if org:
        principal["org_id"] = org
        principal["org_paths"] = [ROOT_OU_PATH if org == ORG else f"{org}/r-0000/"]
    return principal


def _identity_context(principal: dict[str, Any], action: str) -> dict[str, Any]:
    context: dict[str, Any] = {
        "aws:PrincipalAccount": principal["account"],
        "aws:PrincipalArn": principal["arn"],
        "aws:PrincipalType": {"root": "Account", "role-session": "AssumedRole", "user": "User"}[principal["type"]],
        "aws:PrincipalIsAWSService": "false",
        "aws:ResourceAccount": ACCOUNT,
        "aws:ResourceOrgID": ORG,
        "aws:RequestedRegion": REGION,
    }
    if action.lower().startswith("kms:"):
        context["kms:CallerAccount"] = principal["account"]
    if principal.get("org_id"):
        context["aws:PrincipalOrgID"] = principal["org_id"]
        context["aws:PrincipalOrgPaths"] = list(principal.get("org_paths", []))
    return context


def direct(action: str, principal: dict[str, Any] | None = None, resource: str | None = KEY_ARN, **extra: Any) -> dict[str, Any]:
    """A principal calling the service itself, from the internet (no VPC endpoint)."""
    principal = principal or role_session()
    context = _identity_context(principal, action)
    context.update({"aws:ViaAWSService": "false", "aws:SecureTransport": "true", "aws:SourceIp": "203.0.113.10"})
    if action.lower() in ("kms:creategrant", "kms:listgrants", "kms:revokegrant"):
        context["kms:GrantIsForAWSResource"] = "false"
    context.update(extra)
    return {"principal": principal, "action": action, "resource": resource, "context": _without_none(context)}


def through_endpoint(action: str, principal: dict[str, Any] | None = None, resource: str | None = KEY_ARN, **extra: Any) -> dict[str, Any]:
    """A principal calling through the interface endpoint ``VPCE`` of ``VPC`` (no aws:SourceIp: aws:VpcSourceIp instead)."""
    request = direct(action, principal, resource, **extra)
    context = request["context"]
    context.pop("aws:SourceIp", None)
    context.update({"aws:SourceVpce": VPCE, "aws:SourceVpc": VPC, "aws:VpcSourceIp": "10.0.1.25"})
    request["context"] = _without_none({**context, **extra})
    return request


def via_service(action: str, service: str, principal: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """An integrated AWS service calling KMS on the principal's behalf (a forward access session)."""
    principal = principal or role_session()
    context = _identity_context(principal, action)
    region_service = service.split(".")[0]
    context.update(
        {
            "kms:ViaService": f"{region_service}.{REGION}.amazonaws.com",
            "aws:ViaAWSService": "true",
            "aws:CalledVia": [f"{region_service}.amazonaws.com"],
            "aws:CalledViaFirst": f"{region_service}.amazonaws.com",
            "aws:CalledViaLast": f"{region_service}.amazonaws.com",
        }
    )
    if action.lower() in ("kms:creategrant", "kms:listgrants", "kms:revokegrant"):
        context["kms:GrantIsForAWSResource"] = "true"
    context.update(extra)
    return {"principal": principal, "action": action, "resource": KEY_ARN, "context": _without_none(context)}


def devops_guru(action: str, role: str = "DevOpsGuruAdmin", **extra: Any) -> dict[str, Any]:
    """DevOps Guru's FAS request for ``action`` (issue 13: network keys absent, kms:ViaService DevOps Guru)."""
    return via_service(action, "devops-guru", role_session(role=role), **extra)


def service_principal(action: str, service: str, source_account: str, source_arn: str, **extra: Any) -> dict[str, Any]:
    context = {
        "aws:PrincipalIsAWSService": "true",
        "aws:PrincipalServiceName": service,
        "aws:SourceAccount": source_account,
        "aws:SourceArn": source_arn,
        "aws:ResourceAccount": ACCOUNT,
        "aws:RequestedRegion": REGION,
        "aws:SecureTransport": "true",
        **extra,
    }
    return {"principal": {"type": "service", "service": service}, "action": action, "resource": KEY_ARN, "context": _without_none(context)}


def anonymous(action: str, resource: str | None = None, **extra: Any) -> dict[str, Any]:
    context = {"aws:SourceVpce": VPCE, "aws:SourceVpc": VPC, "aws:SecureTransport": "true", "aws:RequestedRegion": REGION, **extra}
    return {"principal": {"type": "anonymous"}, "action": action, "resource": resource, "context": _without_none(context)}


def with_context(request: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The request with context keys changed (``None``: removed)."""
    return {**request, "context": _without_none({**request["context"], **changes})}


def _without_none(context: dict[str, Any]) -> dict[str, Any]:
    """Setting a key to ``None`` in ``extra`` removes it: the key is absent from the request."""
    return {k: v for k, v in context.items() if v is not None}


# --------------------------------------------------------------------------
# policy pieces
# --------------------------------------------------------------------------


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


ROOT = {"Sid": "EnableIAMUserPermissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
EVERYONE_KMS = {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}
GUIDANCE = {
    "Sid": "AllowDevOpsGuru",
    "Effect": "Allow",
    "Principal": {"AWS": "*"},
    "Action": ["kms:CreateGrant", "kms:DescribeKey"],
    "Resource": "*",
    "Condition": {"StringEquals": {"kms:ViaService": DEVOPS_GURU_VIA, "kms:CallerAccount": ACCOUNT}},
}


def allow_all(condition: dict[str, Any] | None = None, principal: Any = "*", action: Any = "kms:*", sid: str = "Open") -> dict[str, Any]:
    statement = {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*"}
    if condition:
        statement["Condition"] = condition
    return statement


def deny_all(condition: dict[str, Any] | None = None, action: Any = "kms:*", sid: str = "Guard", **elements: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Deny", "Action": action, "Resource": "*"}
    statement.update(elements or {"Principal": "*"})
    if condition:
        statement["Condition"] = condition
    return statement


VPCE_GUARD = deny_all({"StringNotEquals": {"aws:SourceVpce": VPCE}}, sid="OnlyThroughMyEndpoint")
VPCE_GUARD_WITH_SERVICE_EXCEPTION = deny_all(
    {"StringNotEqualsIfExists": {"aws:SourceVpce": VPCE}, "BoolIfExists": {"aws:ViaAWSService": "false"}}, sid="OnlyThroughMyEndpointOrServices"
)
IP_GUARD = deny_all({"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}, sid="OnlyFromOffice")
ORG_GUARD = deny_all({"StringNotEquals": {"aws:PrincipalOrgID": ORG}}, sid="OnlyMyOrganization")
EXTERNAL_KEY_USER_GRANTS = {
    "Sid": "AllowAttachmentOfPersistentResources",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
    "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
    "Resource": "*",
    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
}


def case(case_id: str, doc: str, pattern: str, document: dict[str, Any], request: dict[str, Any], expected: str, check: dict[str, Any] | None = None) -> dict[str, Any]:
    entry = {"id": case_id, "doc": doc, "pattern": pattern, "policy": document, "request": request, "expected": expected}
    if check:
        entry["check"] = check
    return entry


def verdict(check_id: str, value: str, **options: Any) -> dict[str, Any]:
    return {"id": check_id, "verdict": value, "options": options}


GRANTS = "devopsguru_cmk_policy_grants_service"
PUBLIC = "kms_key_policy_no_public_access"
ADMIN = "kms_key_policy_admin_restricted"
ENDPOINT = "devopsguru_endpoint_policy_restricted"


# --------------------------------------------------------------------------
# the cases
# --------------------------------------------------------------------------

CASES: list[dict[str, Any]] = [
    # -- the default key policy delegates to IAM ----------------------------------------------
    case("default-own-role", DOC_DEFAULT_KEY_POLICY, "default key policy: account root kms:*", policy(ROOT), direct("kms:Decrypt"), "Allow", verdict(PUBLIC, "PASS")),
    case("default-other-account", DOC_DEFAULT_KEY_POLICY, "default key policy: account root kms:*", policy(ROOT), direct("kms:Decrypt", role_session(OTHER, org=None)), "ImplicitDeny", verdict(ADMIN, "PASS")),
    case("default-devops-guru-grant", DOC_DEFAULT_KEY_POLICY, "default key policy lets IAM policies allow DevOps Guru", policy(ROOT), devops_guru("kms:CreateGrant"), "Allow", verdict(GRANTS, "PASS")),
    case("default-devops-guru-describe", DOC_DEFAULT_KEY_POLICY, "default key policy lets IAM policies allow DevOps Guru", policy(ROOT), devops_guru("kms:DescribeKey"), "Allow", verdict(GRANTS, "FAIL", require_explicit_statement=True)),
    case("no-statement-for-devops-guru", DOC_EVALUATION, "implicit deny: nothing allows DevOps Guru", policy(allow_all(principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"}, action="kms:PutKeyPolicy")), devops_guru("kms:CreateGrant"), "ImplicitDeny", verdict(GRANTS, "FAIL")),
    # -- the DevOps Guru guidance statement ---------------------------------------------------------
    case("guidance-grant", DOC_DEVOPS_GURU, "guidance: kms:ViaService + kms:CallerAccount", policy(GUIDANCE), devops_guru("kms:CreateGrant"), "Allow", verdict(GRANTS, "PASS", require_explicit_statement=True)),
    case("guidance-describe", DOC_DEVOPS_GURU, "guidance: kms:ViaService + kms:CallerAccount", policy(GUIDANCE), devops_guru("kms:DescribeKey"), "Allow", verdict(PUBLIC, "PASS")),
    case("guidance-direct-call", DOC_VIA_SERVICE, "guidance: a direct call carries no kms:ViaService", policy(GUIDANCE), direct("kms:CreateGrant"), "ImplicitDeny"),
    case("guidance-other-region", DOC_VIA_SERVICE, "guidance: kms:ViaService names the region", policy(GUIDANCE), with_context(devops_guru("kms:CreateGrant"), {"kms:ViaService": "devops-guru.eu-west-1.amazonaws.com"}), "ImplicitDeny"),
    case("guidance-other-account", DOC_CALLER_ACCOUNT, "guidance: kms:CallerAccount names the account", policy(GUIDANCE), via_service("kms:CreateGrant", "devops-guru", role_session(OTHER, org=None)), "ImplicitDeny", verdict(ADMIN, "PASS")),
    # -- kms:ViaService alone does not limit the caller ----------------------------------------------
    case("viaservice-only-stranger-through-s3", DOC_VIA_SERVICE, "Principal * limited only by kms:ViaService", policy(ROOT, allow_all({"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}, action="kms:Decrypt")), via_service("kms:Decrypt", "s3", role_session(STRANGER, org=None)), "Allow", verdict(PUBLIC, "FAIL")),
    case("viaservice-only-stranger-direct", DOC_VIA_SERVICE, "Principal * limited only by kms:ViaService", policy(ROOT, allow_all({"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}, action="kms:Decrypt")), direct("kms:Decrypt", role_session(STRANGER, org=None)), "ImplicitDeny"),
    # -- kms:CallerAccount / aws:PrincipalAccount -------------------------------------------------
    case("calleraccount-own", DOC_CALLER_ACCOUNT, "Principal AWS * limited by kms:CallerAccount", policy(allow_all({"StringEquals": {"kms:CallerAccount": ACCOUNT}}, principal={"AWS": "*"}, action="kms:Decrypt")), direct("kms:Decrypt"), "Allow", verdict(PUBLIC, "PASS")),
    case("calleraccount-stranger", DOC_CALLER_ACCOUNT, "Principal AWS * limited by kms:CallerAccount", policy(allow_all({"StringEquals": {"kms:CallerAccount": ACCOUNT}}, principal={"AWS": "*"}, action="kms:Decrypt")), direct("kms:Decrypt", role_session(STRANGER, org=None)), "ImplicitDeny"),
    case("principalaccount-own", DOC_GLOBAL_KEYS + "#condition-keys-principalaccount", "Principal * limited by aws:PrincipalAccount", policy(allow_all({"StringEquals": {"aws:PrincipalAccount": ACCOUNT}})), direct("kms:ScheduleKeyDeletion"), "Allow", verdict(ADMIN, "PASS")),
    case("principalaccount-other", DOC_GLOBAL_KEYS + "#condition-keys-principalaccount", "Principal * limited by aws:PrincipalAccount", policy(allow_all({"StringEquals": {"aws:PrincipalAccount": ACCOUNT}})), direct("kms:ScheduleKeyDeletion", role_session(OTHER)), "ImplicitDeny", verdict(PUBLIC, "PASS")),
    # -- organizations ----------------------------------------------------------------------------------
    case("orgid-member", DOC_GLOBAL_KEYS + "#condition-keys-principalorgid", "Principal * limited by aws:PrincipalOrgID", policy(ROOT, allow_all({"StringEquals": {"aws:PrincipalOrgID": ORG}}, action="kms:Decrypt")), direct("kms:Decrypt", role_session(OTHER)), "Allow", verdict(PUBLIC, "PASS")),
    case("orgid-stranger", DOC_GLOBAL_KEYS + "#condition-keys-principalorgid", "Principal * limited by aws:PrincipalOrgID", policy(ROOT, allow_all({"StringEquals": {"aws:PrincipalOrgID": ORG}}, action="kms:Decrypt")), direct("kms:Decrypt", role_session(STRANGER, org=None)), "ImplicitDeny"),
    case("orgid-stranger-other-org", DOC_GLOBAL_KEYS + "#condition-keys-principalorgid", "Principal * limited by aws:PrincipalOrgID", policy(ROOT, allow_all({"StringEquals": {"aws:PrincipalOrgID": ORG}}, action="kms:Decrypt")), direct("kms:Decrypt", role_session(STRANGER, org=OTHER_ORG, paths=(f"{OTHER_ORG}/r-0000/",))), "ImplicitDeny"),
    case("orgid-member-admin", DOC_GLOBAL_KEYS + "#condition-keys-principalorgid", "organization-wide kms:* is administration by other accounts", policy(ROOT, allow_all({"StringEquals": {"aws:PrincipalOrgID": ORG}})), direct("kms:PutKeyPolicy", role_session(OTHER)), "Allow", verdict(ADMIN, "FAIL")),
    case("orgpaths-in-ou", DOC_GLOBAL_KEYS + "#condition-keys-principal-org-paths", "Principal * limited by aws:PrincipalOrgPaths (ForAnyValue:StringLike)", policy(ROOT, allow_all({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"{PROD_OU_PATH}*"]}}, action="kms:Decrypt")), direct("kms:Decrypt", role_session(OTHER, paths=(PROD_OU_PATH,))), "Allow", verdict(PUBLIC, "PASS")),
    case("orgpaths-other-ou", DOC_GLOBAL_KEYS + "#condition-keys-principal-org-paths", "Principal * limited by aws:PrincipalOrgPaths (ForAnyValue:StringLike)", policy(ROOT, allow_all({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"{PROD_OU_PATH}*"]}}, action="kms:Decrypt")), direct("kms:Decrypt", role_session(OTHER, paths=(DEV_OU_PATH,))), "ImplicitDeny"),
    case("orgpaths-no-org", DOC_MULTIVALUED, "ForAnyValue on an absent key is false", policy(ROOT, allow_all({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"{PROD_OU_PATH}*"]}}, action="kms:Decrypt")), direct("kms:Decrypt", role_session(STRANGER, org=None)), "ImplicitDeny"),
    case("orgpaths-admin-other-account", DOC_GLOBAL_KEYS + "#condition-keys-principal-org-paths", "OU-limited kms:* still lets other accounts administer", policy(ROOT, allow_all({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"{PROD_OU_PATH}*"]}})), direct("kms:ScheduleKeyDeletion", role_session(OTHER, paths=(PROD_OU_PATH,))), "Allow", verdict(ADMIN, "FAIL")),
    # -- aws:PrincipalArn --------------------------------------------------------------------------------
    case("principalarn-own-role", DOC_GLOBAL_KEYS + "#condition-keys-principalarn", "Principal * limited by ArnLike aws:PrincipalArn in the account", policy(allow_all({"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/*"}}, action="kms:Decrypt")), direct("kms:Decrypt"), "Allow", verdict(PUBLIC, "PASS")),
    case("principalarn-stranger", DOC_GLOBAL_KEYS + "#condition-keys-principalarn", "Principal * limited by ArnLike aws:PrincipalArn in the account", policy(allow_all({"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/*"}}, action="kms:Decrypt")), direct("kms:Decrypt", role_session(STRANGER, org=None)), "ImplicitDeny"),
    case("principalarn-any-account", DOC_OPERATORS + "#Conditions_ARN", "ArnLike with a wildcard account limits nothing", policy(allow_all({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Admin"}}, action="kms:Decrypt")), direct("kms:Decrypt", role_session(STRANGER, role="Admin", org=None)), "Allow", verdict(PUBLIC, "FAIL")),
    # -- NotPrincipal with Deny ------------------------------------------------------------------------
    case("notprincipal-root-only-root", DOC_NOTPRINCIPAL, "Deny NotPrincipal naming only the account root", policy(ROOT, deny_all(NotPrincipal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})), direct("kms:Decrypt", root_user()), "Allow"),
    case("notprincipal-root-only-role", DOC_NOTPRINCIPAL, "Deny NotPrincipal naming only the account root denies its roles", policy(ROOT, deny_all(NotPrincipal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})), direct("kms:Decrypt"), "ExplicitDeny"),
    case("notprincipal-root-only-devops-guru", DOC_NOTPRINCIPAL, "Deny NotPrincipal naming only the account root blocks DevOps Guru", policy(ROOT, GUIDANCE, deny_all(NotPrincipal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})), devops_guru("kms:CreateGrant"), "ExplicitDeny", verdict(GRANTS, "FAIL")),
    case("notprincipal-account-and-role", DOC_NOTPRINCIPAL, "Deny NotPrincipal naming the account and the role", policy(ROOT, deny_all(NotPrincipal={"AWS": [f"arn:aws:iam::{ACCOUNT}:root", f"arn:aws:iam::{ACCOUNT}:role/App"]})), direct("kms:Decrypt"), "Allow"),
    case("notprincipal-account-and-role-other-role", DOC_NOTPRINCIPAL, "Deny NotPrincipal naming the account and one role denies other roles", policy(ROOT, deny_all(NotPrincipal={"AWS": [f"arn:aws:iam::{ACCOUNT}:root", f"arn:aws:iam::{ACCOUNT}:role/App"]})), direct("kms:Decrypt", role_session(role="Other")), "ExplicitDeny"),
    case("notprincipal-stranger-public", DOC_NOTPRINCIPAL, "Deny NotPrincipal is an exception list: a public Allow stays closed to outsiders", policy(EVERYONE_KMS, deny_all(NotPrincipal={"AWS": [f"arn:aws:iam::{ACCOUNT}:root", f"arn:aws:iam::{ACCOUNT}:role/App"]})), direct("kms:Decrypt", role_session(STRANGER, org=None)), "ExplicitDeny", verdict(PUBLIC, "PASS")),
    # -- network guards and forward access sessions ----------------------------------------------------
    case("vpce-guard-through-endpoint", DOC_GLOBAL_KEYS + "#condition-keys-sourcevpce", "deny unless through my VPC endpoint", policy(ROOT, GUIDANCE, VPCE_GUARD), through_endpoint("kms:Decrypt"), "Allow"),
    case("vpce-guard-internet", DOC_GLOBAL_KEYS + "#condition-keys-sourcevpce", "deny unless through my VPC endpoint", policy(ROOT, GUIDANCE, VPCE_GUARD), direct("kms:Decrypt"), "ExplicitDeny"),
    case("vpce-guard-devops-guru", DOC_FAS, "a FAS request carries no aws:SourceVpce: the guard blocks DevOps Guru", policy(ROOT, GUIDANCE, VPCE_GUARD), devops_guru("kms:CreateGrant"), "ExplicitDeny", verdict(GRANTS, "FAIL")),
    case("vpce-guard-exception-devops-guru", DOC_PERIMETER, "deny unless my endpoint, with the aws:ViaAWSService exception", policy(ROOT, GUIDANCE, VPCE_GUARD_WITH_SERVICE_EXCEPTION), devops_guru("kms:CreateGrant"), "Allow", verdict(GRANTS, "PASS")),
    case("vpce-guard-exception-internet", DOC_PERIMETER, "deny unless my endpoint, with the aws:ViaAWSService exception", policy(ROOT, GUIDANCE, VPCE_GUARD_WITH_SERVICE_EXCEPTION), direct("kms:Decrypt"), "ExplicitDeny"),
    case("ip-guard-office", DOC_DENY_IP, "deny unless from the office range", policy(ROOT, IP_GUARD), direct("kms:Decrypt"), "Allow"),
    case("ip-guard-elsewhere", DOC_DENY_IP, "deny unless from the office range", policy(ROOT, IP_GUARD), with_context(direct("kms:Decrypt"), {"aws:SourceIp": "198.51.100.7"}), "ExplicitDeny"),
    case("ip-guard-devops-guru", DOC_OPERATORS + "#Conditions_IPAddress", "NotIpAddress on an absent aws:SourceIp is true: a FAS request is denied", policy(ROOT, GUIDANCE, IP_GUARD), devops_guru("kms:DescribeKey"), "ExplicitDeny", verdict(GRANTS, "FAIL")),
    case("ip-allow-inside", DOC_OPERATORS + "#Conditions_IPAddress", "IpAddress on aws:SourceIp", policy(allow_all({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, action="kms:Decrypt")), direct("kms:Decrypt"), "Allow", verdict(PUBLIC, "FAIL")),
    case("ip-allow-outside", DOC_OPERATORS + "#Conditions_IPAddress", "IpAddress on aws:SourceIp", policy(allow_all({"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}, action="kms:Decrypt")), direct("kms:Decrypt"), "ImplicitDeny"),
    # -- deny unless in my organization -----------------------------------------------------------------
    case("org-guard-member", DOC_PERIMETER, "deny unless in my organization", policy(EVERYONE_KMS, ORG_GUARD), direct("kms:Decrypt", role_session(OTHER)), "Allow"),
    case("org-guard-stranger", DOC_PERIMETER, "deny unless in my organization closes a public Allow", policy(EVERYONE_KMS, ORG_GUARD), direct("kms:Decrypt", role_session(STRANGER, org=None)), "ExplicitDeny", verdict(PUBLIC, "PASS")),
    case("org-guard-devops-guru", DOC_PERIMETER, "deny unless in my organization leaves DevOps Guru's request (its principal is in the organization)", policy(ROOT, GUIDANCE, ORG_GUARD), devops_guru("kms:CreateGrant"), "Allow", verdict(GRANTS, "PASS")),
    case("org-guard-ifexists-stranger", DOC_IFEXISTS, "StringNotEqualsIfExists on an absent key is true: the Deny applies", policy(EVERYONE_KMS, deny_all({"StringNotEqualsIfExists": {"aws:PrincipalOrgID": ORG}})), direct("kms:Decrypt", role_session(STRANGER, org=None)), "ExplicitDeny"),
    case("org-guard-ifexists-member", DOC_IFEXISTS, "StringNotEqualsIfExists on a present key tests it", policy(EVERYONE_KMS, deny_all({"StringNotEqualsIfExists": {"aws:PrincipalOrgID": ORG}})), direct("kms:Decrypt", role_session(OTHER)), "Allow"),
    case("account-guard-variable-own", DOC_VARIABLES, "deny unless the caller's account is the key's (policy variable)", policy(EVERYONE_KMS, deny_all({"StringNotEquals": {"aws:PrincipalAccount": "${aws:ResourceAccount}"}})), direct("kms:Decrypt"), "Allow"),
    case("account-guard-variable-stranger", DOC_VARIABLES, "deny unless the caller's account is the key's (policy variable)", policy(EVERYONE_KMS, deny_all({"StringNotEquals": {"aws:PrincipalAccount": "${aws:ResourceAccount}"}})), direct("kms:Decrypt", role_session(STRANGER, org=None)), "ExplicitDeny", verdict(PUBLIC, "PASS")),
    case("org-variable-member", DOC_VARIABLES, "allow when the caller's organization is the key's (policy variable)", policy(allow_all({"StringEquals": {"aws:PrincipalOrgID": "${aws:ResourceOrgID}"}}, action="kms:Decrypt")), direct("kms:Decrypt", role_session(OTHER)), "Allow"),
    case("org-variable-stranger", DOC_VARIABLES, "allow when the caller's organization is the key's (policy variable)", policy(allow_all({"StringEquals": {"aws:PrincipalOrgID": "${aws:ResourceOrgID}"}}, action="kms:Decrypt")), direct("kms:Decrypt", role_session(STRANGER, org=OTHER_ORG, paths=(f"{OTHER_ORG}/r-0000/",))), "ImplicitDeny"),
    # -- IfExists and missing keys -----------------------------------------------------------------------
    case("ifexists-sourceaccount-direct", DOC_IFEXISTS, "StringEqualsIfExists aws:SourceAccount: absent on direct calls, so true", policy(allow_all({"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}}, action="kms:Decrypt")), direct("kms:Decrypt", role_session(STRANGER, org=None)), "Allow", verdict(PUBLIC, "FAIL")),
    case("ifexists-sourceaccount-service", DOC_IFEXISTS, "StringEqualsIfExists aws:SourceAccount: present for a service principal, so tested", policy(allow_all({"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}}, action="kms:Decrypt")), service_principal("kms:Decrypt", "cloudtrail.amazonaws.com", STRANGER, f"arn:aws:cloudtrail:{REGION}:{STRANGER}:trail/x"), "ImplicitDeny"),
    case("ifexists-present-key", DOC_IFEXISTS, "...IfExists on a present key behaves as the base operator", policy(allow_all({"StringEqualsIfExists": {"kms:CallerAccount": ACCOUNT}}, action="kms:Decrypt")), direct("kms:Decrypt", role_session(STRANGER, org=None)), "ImplicitDeny", verdict(PUBLIC, "PASS")),
    case("stringequals-absent-key", DOC_OPERATORS, "a positive operator on an absent key is false", policy(allow_all({"StringEquals": {"aws:SourceVpce": VPCE}}, action="kms:Decrypt")), direct("kms:Decrypt"), "ImplicitDeny"),
    case("stringequals-present-key", DOC_OPERATORS, "a positive operator on a present key tests it", policy(allow_all({"StringEquals": {"aws:SourceVpce": VPCE}}, action="kms:Decrypt")), through_endpoint("kms:Decrypt"), "Allow"),
    case("arnnotequals-absent-key", DOC_OPERATORS + "#Conditions_ARN", "a negated operator on an absent key is true", policy(allow_all({"ArnNotEquals": {"aws:SourceArn": f"arn:aws:s3:::{ACCOUNT}-bucket"}}, principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, action="kms:Decrypt")), direct("kms:Decrypt"), "Allow"),
    case("arnnotequals-present-key", DOC_OPERATORS + "#Conditions_ARN", "a negated operator on a present key tests it", policy(allow_all({"ArnNotEquals": {"aws:SourceArn": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main"}}, principal={"Service": "cloudtrail.amazonaws.com"}, action="kms:Decrypt")), service_principal("kms:Decrypt", "cloudtrail.amazonaws.com", ACCOUNT, f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main"), "ImplicitDeny"),
    case("null-viaservice-direct", DOC_NULL, "Deny when kms:ViaService is absent (only through services)", policy(ROOT, deny_all({"Null": {"kms:ViaService": "true"}}, action="kms:Decrypt")), direct("kms:Decrypt"), "ExplicitDeny"),
    case("null-viaservice-through-service", DOC_NULL, "Deny when kms:ViaService is absent (only through services)", policy(ROOT, deny_all({"Null": {"kms:ViaService": "true"}}, action="kms:Decrypt")), via_service("kms:Decrypt", "s3"), "Allow"),
    case("null-false-present", DOC_NULL, "Null false requires the key", policy(allow_all({"Null": {"aws:PrincipalOrgID": "false"}}, principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, action="kms:Decrypt")), direct("kms:Decrypt"), "Allow"),
    case("null-false-absent", DOC_NULL, "Null false requires the key", policy(allow_all({"Null": {"aws:PrincipalOrgID": "false"}}, principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, action="kms:Decrypt")), direct("kms:Decrypt", role_session(org=None)), "ImplicitDeny"),
    case("bool-absent-key", DOC_OPERATORS + "#Conditions_Boolean", "Bool on an absent key is false", policy(allow_all({"Bool": {"kms:GrantIsForAWSResource": "true"}}, principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, action=["kms:DescribeKey", "kms:CreateGrant"])), devops_guru("kms:DescribeKey"), "ImplicitDeny"),
    # -- grants --------------------------------------------------------------------------------------------
    case("grant-for-aws-resource-via-service", DOC_GRANT_FOR_AWS, "CreateGrant only when an integrated service asks", policy(ROOT, EXTERNAL_KEY_USER_GRANTS), via_service("kms:CreateGrant", "ebs", role_session(OTHER, org=None)), "Allow", verdict(ADMIN, "PASS")),
    case("grant-for-aws-resource-direct", DOC_GRANT_FOR_AWS, "CreateGrant only when an integrated service asks", policy(ROOT, EXTERNAL_KEY_USER_GRANTS), direct("kms:CreateGrant", role_session(OTHER, org=None)), "ImplicitDeny"),
    case("grant-unconditioned-other-account", DOC_EXTERNAL_ACCOUNTS, "CreateGrant to another account without kms:GrantIsForAWSResource", policy(ROOT, allow_all(principal={"AWS": OTHER}, action="kms:CreateGrant", sid="PartnerGrants")), direct("kms:CreateGrant", role_session(OTHER, org=None)), "Allow", verdict(ADMIN, "FAIL")),
    case("revoke-grant-other-account", DOC_EXTERNAL_ACCOUNTS, "RevokeGrant to another account lets it cut DevOps Guru off", policy(ROOT, allow_all(principal={"AWS": f"arn:aws:iam::{OTHER}:root"}, action="kms:RevokeGrant")), direct("kms:RevokeGrant", root_user(OTHER, org=None)), "Allow", verdict(ADMIN, "FAIL")),
    case("grant-securetransport-only", DOC_GLOBAL_KEYS + "#condition-keys-securetransport", "aws:SecureTransport limits nothing about the caller", policy(ROOT, allow_all({"Bool": {"aws:SecureTransport": "true"}}, principal={"AWS": OTHER}, action="kms:RetireGrant")), direct("kms:RetireGrant", role_session(OTHER, org=None)), "Allow", verdict(ADMIN, "FAIL")),
    case("grant-region-only", DOC_GLOBAL_KEYS + "#condition-keys-requestedregion", "aws:RequestedRegion limits nothing about the caller", policy(ROOT, allow_all({"StringEquals": {"aws:RequestedRegion": REGION}}, principal={"AWS": OTHER}, action="kms:CreateGrant")), direct("kms:CreateGrant", role_session(OTHER, org=None)), "Allow", verdict(ADMIN, "FAIL")),
    case("grant-region-other", DOC_GLOBAL_KEYS + "#condition-keys-requestedregion", "aws:RequestedRegion is the key's region", policy(ROOT, allow_all({"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}, principal={"AWS": OTHER}, action="kms:CreateGrant")), direct("kms:CreateGrant", role_session(OTHER, org=None)), "ImplicitDeny"),
    case("admin-partner-root", DOC_EXTERNAL_ACCOUNTS, "administrative actions to another account", policy(ROOT, allow_all(principal={"AWS": f"arn:aws:iam::{OTHER}:role/Ops"}, action=["kms:PutKeyPolicy", "kms:Decrypt"])), direct("kms:PutKeyPolicy", role_session(OTHER, role="Ops", org=None)), "Allow", verdict(ADMIN, "FAIL")),
    case("admin-partner-other-role", DOC_PRINCIPAL, "a role ARN principal covers only that role's sessions", policy(ROOT, allow_all(principal={"AWS": f"arn:aws:iam::{OTHER}:role/Ops"}, action=["kms:PutKeyPolicy", "kms:Decrypt"])), direct("kms:PutKeyPolicy", role_session(OTHER, role="Dev", org=None)), "ImplicitDeny"),
    case("partner-use-only", DOC_EXTERNAL_ACCOUNTS, "use of the key by another account is not administration", policy(ROOT, allow_all(principal={"AWS": OTHER}, action=["kms:Decrypt", "kms:DescribeKey"])), direct("kms:Decrypt", role_session(OTHER, org=None)), "Allow", verdict(ADMIN, "PASS")),
    case("service-principal-unconditioned", DOC_PRINCIPAL + "#principal-services", "a service principal may act for any account without aws:SourceAccount", policy(ROOT, allow_all(principal={"Service": "events.amazonaws.com"}, action="kms:DisableKey")), service_principal("kms:DisableKey", "events.amazonaws.com", STRANGER, f"arn:aws:events:{REGION}:{STRANGER}:rule/x"), "Allow", verdict(ADMIN, "FAIL")),
    case("service-principal-sourcearn", DOC_GLOBAL_KEYS + "#condition-keys-sourcearn", "a service principal limited by aws:SourceArn", policy(ROOT, allow_all({"StringEquals": {"aws:SourceArn": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main"}}, principal={"Service": "cloudtrail.amazonaws.com"}, action="kms:GenerateDataKey*")), service_principal("kms:GenerateDataKey", "cloudtrail.amazonaws.com", ACCOUNT, f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main"), "Allow", verdict(PUBLIC, "PASS")),
    case("service-principal-other-sourcearn", DOC_GLOBAL_KEYS + "#condition-keys-sourcearn", "a service principal limited by aws:SourceArn", policy(ROOT, allow_all({"StringEquals": {"aws:SourceArn": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main"}}, principal={"Service": "cloudtrail.amazonaws.com"}, action="kms:GenerateDataKey*")), service_principal("kms:GenerateDataKey", "cloudtrail.amazonaws.com", STRANGER, f"arn:aws:cloudtrail:{REGION}:{STRANGER}:trail/main"), "ImplicitDeny", verdict(ADMIN, "PASS")),
    # -- multivalued keys ------------------------------------------------------------------------------
    case("forallvalues-absent", DOC_MULTIVALUED, "ForAllValues on an absent key is true", policy(allow_all({"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["project"]}}, principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, action="kms:Decrypt")), direct("kms:Decrypt"), "Allow"),
    case("forallvalues-extra-value", DOC_ENCRYPTION_CONTEXT_KEYS, "ForAllValues: every value must be listed", policy(allow_all({"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["project"]}}, principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, action="kms:Decrypt")), direct("kms:Decrypt", **{"kms:EncryptionContextKeys": ["project", "team"]}), "ImplicitDeny"),
    case("forallvalues-listed-values", DOC_ENCRYPTION_CONTEXT_KEYS, "ForAllValues: every value must be listed", policy(allow_all({"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["project", "team"]}}, principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, action="kms:Decrypt")), direct("kms:Decrypt", **{"kms:EncryptionContextKeys": ["team"]}), "Allow"),
    case("foranyvalue-calledvia-direct", DOC_GLOBAL_KEYS + "#condition-keys-calledvia", "ForAnyValue on an absent key is false", policy(allow_all({"ForAnyValue:StringEquals": {"aws:CalledVia": ["athena.amazonaws.com"]}}, principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, action="kms:Decrypt")), direct("kms:Decrypt"), "ImplicitDeny"),
    case("foranyvalue-calledvia-athena", DOC_GLOBAL_KEYS + "#condition-keys-calledvia", "ForAnyValue: one matching value suffices", policy(allow_all({"ForAnyValue:StringEquals": {"aws:CalledVia": ["athena.amazonaws.com"]}}, principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, action="kms:Decrypt")), via_service("kms:Decrypt", "athena"), "Allow"),
    # -- Action / NotAction, Resource / NotResource ------------------------------------------------------
    case("notaction-other-action", DOC_NOTACTION, "Allow NotAction covers every other action", policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/App"}, "NotAction": "kms:ScheduleKeyDeletion", "Resource": "*"}), direct("kms:Decrypt"), "Allow"),
    case("notaction-listed-action", DOC_NOTACTION, "Allow NotAction does not cover the listed action", policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/App"}, "NotAction": "kms:ScheduleKeyDeletion", "Resource": "*"}), direct("kms:ScheduleKeyDeletion"), "ImplicitDeny"),
    case("action-wildcard-case", DOC_EVALUATION, "actions match case-insensitively with wildcards", policy(allow_all(principal={"AWS": ACCOUNT}, action="KMS:decrypt*")), direct("kms:Decrypt"), "Allow"),
    case("action-wildcard-other", DOC_EVALUATION, "actions match case-insensitively with wildcards", policy(allow_all(principal={"AWS": ACCOUNT}, action="kms:Encrypt*")), direct("kms:Decrypt"), "ImplicitDeny"),
    case("resource-other-key", DOC_RESOURCE, "Resource naming another key does not grant on this one", policy({"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": OTHER_KEY_ARN}), direct("kms:Decrypt", role_session(STRANGER, org=None)), "ImplicitDeny", verdict(PUBLIC, "PASS")),
    case("resource-this-key", DOC_RESOURCE, "Resource naming this key grants on it", policy({"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": KEY_ARN}), direct("kms:Decrypt", role_session(STRANGER, org=None)), "Allow", verdict(PUBLIC, "FAIL")),
    case("resource-wildcard-account", DOC_RESOURCE, "Resource with a wildcard of another account does not match", policy({"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": f"arn:aws:kms:*:{OTHER}:key/*"}), direct("kms:Decrypt", role_session(STRANGER, org=None)), "ImplicitDeny", verdict(ADMIN, "PASS")),
    case("notresource-this-key", DOC_NOTRESOURCE, "NotResource naming this key does not grant on it", policy({"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "NotResource": KEY_ARN}), direct("kms:Decrypt", role_session(STRANGER, org=None)), "ImplicitDeny", verdict(PUBLIC, "PASS")),
    case("notresource-other-key", DOC_NOTRESOURCE, "NotResource naming another key grants on this one", policy({"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "NotResource": OTHER_KEY_ARN}), direct("kms:Decrypt", role_session(STRANGER, org=None)), "Allow", verdict(PUBLIC, "FAIL")),
    # -- explicit deny wins --------------------------------------------------------------------------
    case("deny-wins", DOC_EVALUATION, "an explicit Deny overrides an Allow", policy(ROOT, deny_all(action="kms:ScheduleKeyDeletion")), direct("kms:ScheduleKeyDeletion"), "ExplicitDeny"),
    case("deny-other-action", DOC_EVALUATION, "a Deny of another action leaves the Allow", policy(ROOT, deny_all(action="kms:ScheduleKeyDeletion")), direct("kms:Decrypt"), "Allow"),
    case("deny-grant-through-services", DOC_GLOBAL_KEYS + "#condition-keys-viaawsservice", "Deny CreateGrant through any service blocks DevOps Guru", policy(ROOT, GUIDANCE, deny_all({"Bool": {"aws:ViaAWSService": "true"}}, action="kms:CreateGrant")), devops_guru("kms:CreateGrant"), "ExplicitDeny", verdict(GRANTS, "FAIL")),
    case("deny-outside-account-devops-guru", DOC_CALLER_ACCOUNT, "Deny outside the caller account does not touch DevOps Guru's request", policy(ROOT, GUIDANCE, deny_all({"StringNotEquals": {"kms:CallerAccount": ACCOUNT}})), devops_guru("kms:CreateGrant"), "Allow", verdict(GRANTS, "PASS")),
    case("arnnotlike-exception-listed", DOC_NOTPRINCIPAL, "the recommended alternative: Deny with ArnNotLike aws:PrincipalArn", policy(ROOT, deny_all({"ArnNotLike": {"aws:PrincipalArn": [f"arn:aws:iam::{ACCOUNT}:role/App"]}})), direct("kms:Decrypt"), "Allow"),
    case("arnnotlike-exception-other", DOC_NOTPRINCIPAL, "the recommended alternative: Deny with ArnNotLike aws:PrincipalArn", policy(ROOT, deny_all({"ArnNotLike": {"aws:PrincipalArn": [f"arn:aws:iam::{ACCOUNT}:role/App"]}})), direct("kms:Decrypt", role_session(role="Intruder")), "ExplicitDeny"),
    # -- string operators ----------------------------------------------------------------------------
    case("stringequals-star-literal", DOC_OPERATORS + "#Conditions_String", "StringEquals compares '*' literally", policy(allow_all({"StringEquals": {"aws:PrincipalAccount": "*"}}, action="kms:Decrypt")), direct("kms:Decrypt", role_session(STRANGER, org=None)), "ImplicitDeny", verdict(PUBLIC, "PASS")),
    case("stringlike-star-wildcard", DOC_OPERATORS + "#Conditions_String", "StringLike '*' matches every value", policy(allow_all({"StringLike": {"aws:PrincipalAccount": "*"}}, action="kms:Decrypt")), direct("kms:Decrypt", role_session(STRANGER, org=None)), "Allow", verdict(PUBLIC, "FAIL")),
    case("stringequals-case", DOC_OPERATORS + "#Conditions_String", "StringEquals is case-sensitive", policy(allow_all({"StringEquals": {"aws:PrincipalTag/team": "Platform"}}, principal={"AWS": ACCOUNT}, action="kms:Decrypt")), direct("kms:Decrypt", **{"aws:PrincipalTag/team": "platform"}), "ImplicitDeny"),
    case("stringequalsignorecase", DOC_OPERATORS + "#Conditions_String", "StringEqualsIgnoreCase is not", policy(allow_all({"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "Platform"}}, principal={"AWS": ACCOUNT}, action="kms:Decrypt")), direct("kms:Decrypt", **{"aws:PrincipalTag/team": "platform"}), "Allow"),
    case("variable-literal-star", DOC_VARIABLES + "#policy-vars-specialchars", "${*} is a literal '*'", policy(allow_all({"StringLike": {"aws:PrincipalTag/team": "a${*}"}}, principal={"AWS": ACCOUNT}, action="kms:Decrypt")), direct("kms:Decrypt", **{"aws:PrincipalTag/team": "a*"}), "Allow"),
    case("variable-literal-star-no-wildcard", DOC_VARIABLES + "#policy-vars-specialchars", "${*} is not a wildcard", policy(allow_all({"StringLike": {"aws:PrincipalTag/team": "a${*}"}}, principal={"AWS": ACCOUNT}, action="kms:Decrypt")), direct("kms:Decrypt", **{"aws:PrincipalTag/team": "abc"}), "ImplicitDeny"),
    case("numeric-mfa-age", DOC_OPERATORS + "#Conditions_Numeric", "NumericLessThan on a present key", policy(allow_all({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, principal={"AWS": ACCOUNT}, action="kms:Decrypt")), direct("kms:Decrypt", **{"aws:MultiFactorAuthAge": "100"}), "Allow"),
    case("numeric-mfa-absent", DOC_OPERATORS + "#Conditions_Numeric", "NumericLessThan on an absent key is false", policy(allow_all({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, principal={"AWS": ACCOUNT}, action="kms:Decrypt")), direct("kms:Decrypt"), "ImplicitDeny"),
    case("date-before", DOC_OPERATORS + "#Conditions_Date", "DateLessThan aws:CurrentTime", policy(allow_all({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}, principal={"AWS": ACCOUNT}, action="kms:Decrypt")), direct("kms:Decrypt", **{"aws:CurrentTime": "2026-06-01T12:00:00Z"}), "Allow"),
    case("date-after", DOC_OPERATORS + "#Conditions_Date", "DateLessThan aws:CurrentTime", policy(allow_all({"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, principal={"AWS": ACCOUNT}, action="kms:Decrypt")), direct("kms:Decrypt", **{"aws:CurrentTime": "2026-06-01T12:00:00Z"}), "ImplicitDeny"),
    case("securetransport-deny-plain", DOC_GLOBAL_KEYS + "#condition-keys-securetransport", "Deny requests without TLS", policy(ROOT, deny_all({"Bool": {"aws:SecureTransport": "false"}})), direct("kms:Decrypt", **{"aws:SecureTransport": "false"}), "ExplicitDeny"),
    case("securetransport-deny-tls", DOC_GLOBAL_KEYS + "#condition-keys-securetransport", "Deny requests without TLS", policy(ROOT, deny_all({"Bool": {"aws:SecureTransport": "false"}})), direct("kms:Decrypt"), "Allow"),
    case("securetransport-only-public", DOC_GLOBAL_KEYS + "#condition-keys-securetransport", "aws:SecureTransport does not limit who calls", policy(ROOT, allow_all({"Bool": {"aws:SecureTransport": "true"}}, action="kms:Decrypt")), direct("kms:Decrypt", role_session(STRANGER, org=None)), "Allow", verdict(PUBLIC, "FAIL")),
    # -- endpoint policies ---------------------------------------------------------------------------
    case("endpoint-full-access-anonymous", DOC_ENDPOINT_POLICY, "the default endpoint policy lets anyone in", policy({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}), anonymous("devops-guru:ListInsights"), "Allow", verdict(ENDPOINT, "FAIL")),
    case("endpoint-org-anonymous", DOC_ENDPOINT_POLICY, "an endpoint policy limited to the organization", policy({"Effect": "Allow", "Principal": "*", "Action": "devops-guru:*", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}}}), anonymous("devops-guru:ListInsights"), "ImplicitDeny", verdict(ENDPOINT, "PASS")),
    case("endpoint-org-member", DOC_ENDPOINT_POLICY, "an endpoint policy limited to the organization", policy({"Effect": "Allow", "Principal": "*", "Action": "devops-guru:*", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}}}), through_endpoint("devops-guru:ListInsights", role_session(OTHER), resource=None), "Allow"),
    case("endpoint-ifexists-anonymous", DOC_IFEXISTS, "IfExists lets an anonymous caller through an endpoint", policy({"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": {"StringEqualsIfExists": {"aws:PrincipalAccount": ACCOUNT}}}), anonymous("devops-guru:ListInsights"), "Allow", verdict(ENDPOINT, "FAIL")),
    case("endpoint-named-role", DOC_PRINCIPAL, "an endpoint policy naming a role", policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/App"}, "Action": "*", "Resource": "*"}), anonymous("devops-guru:ListInsights"), "ImplicitDeny", verdict(ENDPOINT, "PASS")),
    case("endpoint-orgpaths", DOC_GLOBAL_KEYS + "#condition-keys-principal-org-paths", "an endpoint policy limited to an OU", policy({"Effect": "Allow", "Principal": "*", "Action": "devops-guru:*", "Resource": "*", "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"{PROD_OU_PATH}*"]}}}), through_endpoint("devops-guru:ListInsights", role_session(STRANGER, org=None), resource=None), "ImplicitDeny", verdict(ENDPOINT, "PASS")),
    case("endpoint-vpc-only", DOC_GLOBAL_KEYS + "#condition-keys-sourcevpc", "aws:SourceVpc is the endpoint's own VPC: it limits nothing about the caller", policy({"Effect": "Allow", "Principal": "*", "Action": "devops-guru:*", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpc": VPC}}}), through_endpoint("devops-guru:ListInsights", role_session(STRANGER, org=None), resource=None), "Allow", verdict(ENDPOINT, "FAIL")),
    case("anonymous-named-account", DOC_PRINCIPAL + "#principal-anonymous", "an account principal does not cover anonymous callers", policy({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "*", "Resource": "*"}), anonymous("devops-guru:ListInsights"), "ImplicitDeny"),
]


def by_id() -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in CASES}
