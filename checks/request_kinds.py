"""The named requests orgscan's policy checks ask about, with the request context AWS gives each.

A check does not ask "does some statement look like the guidance's example?"
but "would AWS allow *this* request?" (:func:`checks.policy.evaluate`). This
module builds those requests:

* :func:`devops_guru_request` -- DevOps Guru calling KMS (``kms:CreateGrant``,
  ``kms:DescribeKey``) on behalf of the principal that configures it: a forward
  access session (FAS).
* :func:`outside_kms_requests` / :func:`outside_endpoint_requests` -- callers
  from outside the account: an unrelated account (in no organization, or in an
  organization of its own), a named other account, another account of the same
  organization, a service principal acting for another account, and (through a
  VPC endpoint only) an anonymous caller.

The context keys each kind carries are listed in ``docs/checks/devopsguru.md``
("How orgscan evaluates a policy") with the AWS documentation they follow.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from checks.sensitive_data.detector import redact_identifier
from checks.policy import (
    Caller,
    CallerKind,
    Policy,
    PolicyError,
    Request,
    account_of_principal,
    evaluate,
    principal_covers,
    statement_allows_action,
)

#: The two KMS operations DevOps Guru calls on the configured key.
DEVOPS_GURU_ACTIONS = ("kms:CreateGrant", "kms:DescribeKey")

#: Operations whose context carries the grant condition keys (conditions-kms.html).
_GRANT_KEY_ACTIONS = frozenset({"kms:creategrant", "kms:listgrants", "kms:revokegrant"})

#: At most this many principals named by one policy are asked about; a KMS key policy (32 KB) holds far
#: fewer. A policy naming more is an ERROR for its resource, never a partial answer.
MAX_NAMED_PRINCIPALS = 1000
#: At most this many organizations, OU paths and role names taken from one policy's conditions.
MAX_POLICY_VARIANTS = 20

#: An account id that stands for "an account unrelated to the one scanned".
STRANGER_ACCOUNT = "999988887777"
STRANGER_ORG = "o-stranger0000"

#: Keys a caller sets for itself, whoever it is: the address it calls from, TLS, the time, its user
#: agent, tags on its own principal and on the request, MFA, the names of its own users and sessions,
#: the encryption context and the grant it asks for. A condition on one of them limits nothing about
#: *who* may call (aws:SecureTransport, aws:SourceIp... are not caller-limiting keys).
CALLER_CHOSEN_KEYS = (
    "aws:sourceip",
    "aws:securetransport",
    "aws:currenttime",
    "aws:epochtime",
    "aws:useragent",
    "aws:referer",
    "aws:tokenissuetime",
    "aws:multifactorauthpresent",
    "aws:multifactorauthage",
    "aws:principaltag/*",
    "aws:requesttag/*",
    "aws:tagkeys",
    "aws:userid",
    "aws:username",
    "aws:sourceidentity",
    "aws:federatedprovider",
    "aws:principalservicenamelist",
    "kms:encryptioncontext:*",
    "kms:encryptioncontextkeys",
    "kms:encryptionalgorithm",
    "kms:signingalgorithm",
    "kms:macalgorithm",
    "kms:keyagreementalgorithm",
    "kms:grantoperations",
    "kms:granteeprincipal",
    "kms:retiringprincipal",
    "kms:grantconstrainttype",
    "kms:recipientattestation:*",
    "kms:requestalias",
    "kms:datakeypairspec",
    "kms:reencryptonsamekey",
    "kms:wrappingalgorithm",
    "kms:wrappingkeyspec",
    "kms:expirationmodel",
    "kms:validto",
    "kms:bypasspolicylockoutsafetycheck",
    "kms:rotationperiodindays",
    "kms:scheduledeletionpendingwindowindays",
    "kms:primaryregion",
    "kms:replicaregion",
)

#: Keys that describe the key itself, not the caller: the same for every caller, and not read by the
#: checks. A condition on them is taken as met for an outside caller (it does not say who may call).
RESOURCE_PROPERTY_KEYS = (
    "aws:resourcetag/*",
    "kms:keyspec",
    "kms:keyusage",
    "kms:keyorigin",
    "kms:multiregion",
    "kms:multiregionkeytype",
    "kms:resourcealiases",
    "kms:keymanager",
)

#: A forward access session's principal is "the IAM principal that configures DevOps Guru": the check
#: knows its account but not its name or its tags.
_FAS_UNKNOWN_KEYS = frozenset({"aws:principalarn", "aws:userid", "aws:username", "aws:principaltype", "aws:sourceidentity"})
_FAS_UNKNOWN_PATTERNS = ("aws:principaltag/*", "aws:requesttag/*", "aws:tagkeys", "kms:encryptioncontext:*", "kms:encryptioncontextkeys")

#: Keys a DevOps Guru forward access session leaves out: it does not come through the customer's
#: network, so the network keys are absent (access_forward_access_sessions.html, aws:SourceVpce and
#: aws:SourceIp availability in reference_policies_condition-keys.html); aws:SourceAccount/SourceArn
#: exist only when a service principal calls.
FAS_ABSENT_KEYS = (
    "aws:sourcevpce",
    "aws:sourcevpc",
    "aws:sourceip",
    "aws:vpcsourceip",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
)


def _kms_resource_keys(key_arn: str) -> dict[str, str]:
    parts = key_arn.split(":")
    return {"aws:ResourceAccount": parts[4] if len(parts) > 4 else "", "aws:RequestedRegion": parts[3] if len(parts) > 3 else ""}


def devops_guru_request(action: str, account_id: str, region: str, partition: str, key_arn: str, org_id: str | None = None) -> Request:
    """DevOps Guru's forward-access-session request for ``action`` on the configured key.

    The principal is an IAM role of the account (not the root user) whose name the
    check does not know; kms:ViaService is DevOps Guru in this region;
    kms:CallerAccount and aws:PrincipalAccount are the account; aws:ViaAWSService
    is true, aws:PrincipalIsAWSService false; network keys are absent. For
    CreateGrant, kms:GrantIsForAWSResource is true (an integrated service asks).
    """
    caller = Caller(CallerKind.ROLE_SESSION, account=account_id, arn=None, org_id=org_id)
    context: dict[str, object] = {
        "kms:ViaService": f"devops-guru.{region}.amazonaws.com",
        "kms:CallerAccount": account_id,
        "aws:PrincipalAccount": account_id,
        "aws:ViaAWSService": "true",
        "aws:PrincipalIsAWSService": "false",
        "aws:CalledVia": ["devops-guru.amazonaws.com"],
        "aws:CalledViaFirst": "devops-guru.amazonaws.com",
        "aws:CalledViaLast": "devops-guru.amazonaws.com",
        **_kms_resource_keys(key_arn),
    }
    if org_id:
        context["aws:PrincipalOrgID"] = org_id
    if action.lower() in _GRANT_KEY_ACTIONS:
        context["kms:GrantIsForAWSResource"] = "true"
    unknown = set(_FAS_UNKNOWN_KEYS)
    if not org_id:
        unknown |= {"aws:principalorgid", "aws:principalorgpaths"}
    else:
        unknown.add("aws:principalorgpaths")
    return Request(
        action,
        caller=caller,
        resource=key_arn,
        context=context,
        unknown_keys=unknown,
        caller_chosen_keys=_FAS_UNKNOWN_PATTERNS + RESOURCE_PROPERTY_KEYS,
    )


# --------------------------------------------------------------------------
# outside callers
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class OutsideCaller:
    """A caller from outside the key's account: who it is, and whether it stands for "anyone" (public)."""

    description: str
    caller: Caller
    public: bool  # an unrelated caller: allowing it makes the resource public
    anonymous: bool = False

    def __post_init__(self) -> None:
        # Descriptions carry names taken from the policy (roles, OU paths, principals): they reach messages
        # and evidence, so they are masked like resource names.
        object.__setattr__(self, "description", redact_identifier(self.description) or "")

    @property
    def account_description(self) -> str:
        """The description without which identity of the account it is (root user, role session)."""
        for suffix in (" (root user)", " (role session)"):
            if self.description.endswith(suffix):
                return self.description[: -len(suffix)]
        return self.description


def _identity_callers(account: str, partition: str, description: str, public: bool, org_id: str | None, org_paths: tuple[str, ...]) -> list[OutsideCaller]:
    root = f"arn:{partition}:iam::{account}:root"
    role = f"arn:{partition}:iam::{account}:role/OutsideRole"
    session = f"arn:{partition}:sts::{account}:assumed-role/OutsideRole/session"
    return [
        OutsideCaller(f"{description} (root user)", Caller(CallerKind.ROOT, account=account, arn=root, org_id=org_id, org_paths=org_paths), public),
        OutsideCaller(
            f"{description} (role session)",
            Caller(CallerKind.ROLE_SESSION, account=account, arn=role, session_arn=session, org_id=org_id, org_paths=org_paths),
            public,
        ),
    ]


_ORGANIZATION_KEYS = ("aws:principalorgid", "aws:principalorgpaths")


def _mentioned(policy: Policy, keys: Iterable[str]) -> list[tuple[str, tuple[str, ...]]]:
    wanted = set(keys)
    return [(c.key, c.values) for s in policy.statements for c in s.conditions if c.key in wanted]


def _org_paths_from(values: Iterable[str]) -> list[str]:
    """Concrete OU paths a member of the organization could have, from the policy's path patterns."""
    paths = []
    for value in values:
        concrete = value.replace("*", "").replace("?", "x")
        if concrete and not concrete.endswith("/"):
            concrete += "/"
        if concrete.startswith("o-") and concrete not in paths:
            paths.append(concrete)
    return paths


def _unmentioned_account(policy: Policy, account_id: str) -> str:
    """An account id for "an unrelated account": the usual one, unless the policy happens to name it."""
    mentioned = {account_id}
    for statement in policy.statements:
        for principal in (statement.principal, statement.not_principal):
            if principal is not None:
                mentioned.update(v for values in principal.by_type.values() for v in values)
        for condition in statement.conditions:
            mentioned.update(condition.values)
    text = " ".join(mentioned)
    for candidate in (STRANGER_ACCOUNT, "999988887776", "999988887775", "999911112222"):
        if candidate not in text:
            return candidate
    return STRANGER_ACCOUNT


def _role_names(policy: Policy) -> list[str]:
    """Role names (with path) the policy mentions in principals or aws:PrincipalArn, wildcards made concrete."""
    values = [v for _, vs in _mentioned(policy, ("aws:principalarn",)) for v in vs]
    for statement in policy.statements:
        for principal in (statement.principal, statement.not_principal):
            if principal is not None:
                values += principal.values("AWS")
    names = []
    for value in values:
        if ":role/" not in value:
            continue
        name = value.split(":role/", 1)[1].replace("*", "x").replace("?", "x")
        if name and "$" not in name and name not in names:
            names.append(name)
    return names[:MAX_POLICY_VARIANTS]


def outside_callers(
    policy: Policy, account_id: str, partition: str, org_id: str | None, *, include_anonymous: bool = False
) -> list[OutsideCaller]:
    """Every kind of caller from outside ``account_id`` that the policy could let in.

    Unrelated accounts (public), accounts the policy names, other accounts of the
    organization (with the OU paths the policy names), service principals the
    policy names acting for an unrelated account, and optionally anonymous callers.
    """
    callers: list[OutsideCaller] = []
    stranger = _unmentioned_account(policy, account_id)
    callers += _identity_callers(stranger, partition, f"any principal of an unrelated account ({stranger})", True, None, ())
    if _mentioned(policy, _ORGANIZATION_KEYS):
        # Being in an organization of its own changes only what organization keys say about the caller.
        callers += _identity_callers(
            stranger, partition, f"any principal of an unrelated account in its own organization ({stranger})", True,
            STRANGER_ORG, (f"{STRANGER_ORG}/r-0000/ou-0000-00000000/",),
        )
    # A caller names its own roles: an unrelated account can have a role of any name the policy mentions.
    for name in _role_names(policy):
        role = f"arn:{partition}:iam::{stranger}:role/{name}"
        callers.append(
            OutsideCaller(
                f"role {name} of an unrelated account ({stranger})",
                Caller(CallerKind.ROLE_SESSION, account=stranger, arn=role, session_arn=f"arn:{partition}:sts::{stranger}:assumed-role/{name.rsplit('/', 1)[-1]}/session"),
                True,
            )
        )
    if include_anonymous:
        callers.append(OutsideCaller("an anonymous caller", Caller(CallerKind.ANONYMOUS), True, anonymous=True))
    # Another account of the same organization, with the OU paths the policy names.
    org_ids = [org_id] if org_id else []
    for _, values in _mentioned(policy, ("aws:principalorgid",)):
        org_ids += [v for v in values if v.startswith("o-") and "*" not in v and "$" not in v and v not in org_ids]
    org_ids = org_ids[:MAX_POLICY_VARIANTS]
    paths = _org_paths_from(v for _, values in _mentioned(policy, ("aws:principalorgpaths",)) for v in values)[:MAX_POLICY_VARIANTS]
    member = "000011112222" if account_id != "000011112222" else "000011112223"
    for org in org_ids:
        org_paths = tuple(p for p in paths if p.startswith(org + "/")) or (f"{org}/r-0000/",)
        for path in org_paths:
            callers += _identity_callers(member, partition, f"another account of organization {org} ({member}, OU path {path})", False, org, (path,))
    # Accounts and principals the policy names.
    seen: set[str] = set()
    for statement in policy.statements:
        for principal in (statement.principal, statement.not_principal):
            if principal is None:
                continue
            for value in principal.values("AWS"):
                account = account_of_principal(value)
                if account is None or account == account_id or value in seen:
                    continue
                seen.add(value)
                if len(seen) > MAX_NAMED_PRINCIPALS:
                    raise PolicyError(f"policy names more than {MAX_NAMED_PRINCIPALS} principals of other accounts: too many to judge")
                if value == account or value.endswith(":root"):
                    callers += _identity_callers(account, partition, f"account {account}", False, None, ())
                elif ":assumed-role/" in value:
                    role = value.replace(":sts::", ":iam::").replace(":assumed-role/", ":role/").rsplit("/", 1)[0]
                    callers.append(OutsideCaller(f"{value}", Caller(CallerKind.ROLE_SESSION, account=account, arn=role, session_arn=value), False))
                elif ":role/" in value:
                    callers.append(OutsideCaller(f"{value}", Caller(CallerKind.ROLE_SESSION, account=account, arn=value), False))
                else:
                    callers.append(OutsideCaller(f"{value}", Caller(CallerKind.USER, account=account, arn=value), False))
            for service in principal.values("Service"):
                if service in seen:
                    continue
                seen.add(service)
                callers.append(
                    OutsideCaller(
                        f"service principal {service} acting for account {stranger}", Caller(CallerKind.SERVICE, account=stranger, service=service), False
                    )
                )
    return callers


_DIRECT_CHOSEN = CALLER_CHOSEN_KEYS + RESOURCE_PROPERTY_KEYS
_VIA_SERVICE_CHOSEN = _DIRECT_CHOSEN + ("kms:viaservice", "aws:calledvia", "aws:calledviafirst", "aws:calledvialast")
_ENDPOINT_CHOSEN = tuple(k for k in CALLER_CHOSEN_KEYS if k != "aws:sourceip") + (
    "aws:vpcsourceip",
    "aws:resourceaccount",
    "aws:resourceorgid",
    "aws:resourceorgpaths",
) + RESOURCE_PROPERTY_KEYS


def outside_kms_requests(action: str, key_arn: str, outside: OutsideCaller, *, via_service: bool) -> Request:
    """``outside`` calling KMS for ``action`` on the key: directly, or through an integrated service (FAS)."""
    caller = outside.caller
    context: dict[str, object] = dict(_kms_resource_keys(key_arn))
    unknown: set[str] = set()
    chosen = _DIRECT_CHOSEN
    if caller.kind is CallerKind.SERVICE:
        context.update(
            {
                "aws:PrincipalIsAWSService": "true",
                "aws:ViaAWSService": "false",
                "aws:PrincipalServiceName": caller.service or "",
                "aws:SourceAccount": caller.account or STRANGER_ACCOUNT,
                "aws:SourceArn": (
                    f"arn:aws:{(caller.service or 'service').split('.')[0]}:{context['aws:RequestedRegion']}:"
                    f"{caller.account or STRANGER_ACCOUNT}:resource/outside"
                ),
            }
        )
        if action.lower() in _GRANT_KEY_ACTIONS:
            context["kms:GrantIsForAWSResource"] = "false"
    elif caller.kind is not CallerKind.ANONYMOUS:
        context.update(
            {
                "aws:PrincipalAccount": caller.account or "",
                "kms:CallerAccount": caller.account or "",
                "aws:PrincipalArn": caller.arn or "",
                "aws:PrincipalType": {CallerKind.ROOT: "Account", CallerKind.ROLE_SESSION: "AssumedRole", CallerKind.USER: "User"}[caller.kind],
                "aws:PrincipalIsAWSService": "false",
                "aws:ViaAWSService": "true" if via_service else "false",
            }
        )
        if caller.org_id:
            context["aws:PrincipalOrgID"] = caller.org_id
            context["aws:PrincipalOrgPaths"] = list(caller.org_paths)
        if via_service:
            chosen = _VIA_SERVICE_CHOSEN
            if action.lower() in _GRANT_KEY_ACTIONS:
                context["kms:GrantIsForAWSResource"] = "true"
        elif action.lower() in _GRANT_KEY_ACTIONS:
            context["kms:GrantIsForAWSResource"] = "false"
    return Request(action, caller=caller, resource=key_arn, context=context, unknown_keys=unknown, caller_chosen_keys=chosen)


def outside_endpoint_request(action: str, outside: OutsideCaller, endpoint_id: str, vpc_id: str | None, region: str) -> Request:
    """``outside`` calling ``action`` through the VPC endpoint ``endpoint_id`` (any resource)."""
    caller = outside.caller
    context: dict[str, object] = {"aws:SourceVpce": endpoint_id, "aws:RequestedRegion": region}
    if vpc_id:
        context["aws:SourceVpc"] = vpc_id
    chosen = _ENDPOINT_CHOSEN
    if caller.kind is CallerKind.SERVICE:
        context.update({"aws:PrincipalIsAWSService": "true", "aws:SourceAccount": caller.account or STRANGER_ACCOUNT})
    elif caller.kind is not CallerKind.ANONYMOUS:
        context.update(
            {
                "aws:PrincipalAccount": caller.account or "",
                "aws:PrincipalArn": caller.arn or "",
                "aws:PrincipalIsAWSService": "false",
                "aws:ViaAWSService": "false",
            }
        )
        if caller.org_id:
            context["aws:PrincipalOrgID"] = caller.org_id
            context["aws:PrincipalOrgPaths"] = list(caller.org_paths)
    return Request(action, caller=caller, resource=None, context=context, caller_chosen_keys=chosen)


# --------------------------------------------------------------------------
# asking many requests
# --------------------------------------------------------------------------

#: KMS operations an outside caller is asked about (plus every action the policy names).
KMS_USE_ACTIONS = (
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:Sign",
    "kms:Verify",
    "kms:GenerateMac",
    "kms:VerifyMac",
    "kms:DeriveSharedSecret",
    "kms:GetPublicKey",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:ListKeyRotations",
)
#: Actions that change who controls the key or whether it exists (AWS's "key administrators" set).
KMS_ADMIN_ACTIONS = (
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
#: Grant operations: whoever can create, revoke or retire grants on the key from another account
#: controls who can use it (and can make DevOps Guru's data unreadable by revoking its grant).
KMS_GRANT_ACTIONS = ("kms:CreateGrant", "kms:RevokeGrant", "kms:RetireGrant")
KMS_ACTIONS = KMS_USE_ACTIONS + KMS_GRANT_ACTIONS + KMS_ADMIN_ACTIONS


@dataclass(frozen=True)
class Access:
    """One outside caller that a policy lets perform one action, and the statements that allow it."""

    who: OutsideCaller
    action: str
    mode: str  # "direct" | "through an AWS service" | "through the endpoint"
    statements: tuple  # tuple[Statement, ...]

    def evidence(self) -> dict:
        """The access as evidence: who, what, how and which statements allow it."""
        return {
            "caller": self.who.description,
            "action": self.action,
            "how": self.mode,
            "allowed_by": [s.label for s in self.statements],
        }


def allowed_accesses(
    policy: Policy, callers: Iterable[OutsideCaller], actions: Iterable[str], requests, *, named_actions: bool = True
) -> list[Access]:
    """Every (caller, action, mode) the policy allows; ``requests(action, caller)`` yields ``(mode, Request)``.

    ``named_actions`` adds every action the policy names without a wildcard to ``actions``.

    Only Allow statements whose principal can take the caller in are worth asking about, so a
    policy that names only its own account costs one principal test per statement.
    """
    found: list[Access] = []
    all_actions = tuple(dict.fromkeys(list(actions) + (list(policy.exact_actions()) if named_actions else [])))
    allows = policy.allows
    covered: dict[int, frozenset[str]] = {}
    for outside in callers:
        candidates = [s for s in allows if principal_covers(s, outside.caller) is not False]
        if not candidates:
            continue
        for statement in candidates:
            if statement.index not in covered:
                covered[statement.index] = frozenset(a for a in all_actions if statement_allows_action(statement, a))
        wanted = frozenset().union(*(covered[s.index] for s in candidates))
        for action in all_actions:
            if action not in wanted:
                continue
            for mode, request in requests(action, outside):
                decision = evaluate(policy, request)
                if decision.allowed:
                    found.append(Access(outside, action, mode, decision.statements))
                    break
    return found


def summarise(accesses: Iterable[Access], limit: int = 6) -> str:
    """One line per allowing statement: which actions it gives to which outside callers (shortened)."""
    by_statement: dict[str, tuple[list[str], list[str]]] = {}
    for access in accesses:
        for statement in access.statements:
            actions, callers = by_statement.setdefault(statement.label, ([], []))
            if access.action not in actions:
                actions.append(access.action)
            if access.who.account_description not in callers:
                callers.append(access.who.account_description)

    def listed(items: list[str]) -> str:
        items = sorted(items)
        return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")

    return "; ".join(f"{label} gives {listed(actions)} to {listed(callers)}" for label, (actions, callers) in by_statement.items())
