"""Plugging orgscan's additions into moto 5.2.1: the DevOps Guru backend and fixes to moto's differences from AWS.

moto finds a service through three internals: ``moto.backend_index.backend_url_patterns``
(host name to backend name), ``moto.backends.get_backend`` (which imports
``moto.<name>`` and reads ``<name>_backends``), and the backend's ``urls`` module.
:func:`install` adds DevOps Guru to each, and :func:`verify` proves the wiring,
failing loudly with what broke when a moto upgrade changes those internals.

The fixes (each a small wrapper around one moto method) make the simulator
answer as AWS does where the checks depend on it; they read the simulation
that is currently applied through :data:`ACTIVE`.
"""
from __future__ import annotations

import datetime
import json
import re
import sys
import threading
from typing import Any

MOTO_VERSION = "5.2.1"
DEVOPSGURU_URL = re.compile(r"https?://devops-guru\.(.+)\.amazonaws\.com")

_installed = False
_install_lock = threading.Lock()


class _Active:
    """The simulation whose scenario and faults moto's patched methods consult (one per process)."""

    simulation: Any = None


ACTIVE = _Active()


class SimulatorIncompatible(RuntimeError):
    """moto's internals are not what the simulator was written against."""


def install() -> None:
    """Register DevOps Guru with moto and apply the behaviour fixes; safe to call again."""
    global _installed
    with _install_lock:
        if _installed:
            return
        import moto

        if moto.__version__ != MOTO_VERSION:
            raise SimulatorIncompatible(
                f"the simulator is written against moto {MOTO_VERSION}, found {moto.__version__}: "
                "re-check scanner/simulator/registration.py and pin moto again"
            )
        _register_devopsguru()
        _skip_default_amis()
        _patch_sts()
        _patch_kms()
        _patch_cloudtrail()
        _patch_describe_regions()
        _patch_tagging_api()
        _allow_devops_guru_delegated_administrator()
        _patch_iam_action_names()
        _patch_inline_role_policies()
        _patch_organizations_reads()
        _patch_account_summary()
        _patch_macie()
        _patch_private_dns()
        _patch_s3_bucket_policies()
        _list_moto_modules_once()
        _list_response_methods_once()
        _installed = True


def _list_moto_modules_once() -> None:
    """moto's server lists its package directory on every request, under the lock all requests share.

    ``DomainDispatcherApplication.get_backend_for_host`` asks ``host in list_of_moto_modules()``, which
    runs ``os.listdir`` and an ``isdir`` per entry (about 200) each time. The directory does not change
    while the simulator runs: list it once. (About a tenth of the simulator's CPU per call, measured with
    py-spy; on a small machine that is the scan's wall time too.)
    """
    import moto.backends as backends

    modules = frozenset(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


def _list_response_methods_once() -> None:
    """moto looks up which actions a response class has with ``inspect.getmembers`` on every request.

    A class's methods are fixed once :func:`install` has patched them (before any request), so the
    answer is kept per class, as a set.
    """
    import functools

    import moto.core.responses as responses

    listed = responses.method_names_from_class

    @functools.cache
    def method_names_once(clazz: type) -> frozenset[str]:
        return frozenset(listed(clazz))

    responses.method_names_from_class = method_names_once


def _register_devopsguru() -> None:
    import moto.backend_index as backend_index

    import scanner.simulator.devopsguru as devopsguru
    import scanner.simulator.devopsguru.models
    import scanner.simulator.devopsguru.responses
    import scanner.simulator.devopsguru.urls

    if not isinstance(getattr(backend_index, "backend_url_patterns", None), list):
        raise SimulatorIncompatible("moto.backend_index.backend_url_patterns is no longer a list")
    # moto.backends.get_backend("devopsguru") imports "moto.devopsguru": make that name ours.
    sys.modules.setdefault("moto.devopsguru", devopsguru)
    sys.modules.setdefault("moto.devopsguru.models", scanner.simulator.devopsguru.models)
    sys.modules.setdefault("moto.devopsguru.responses", scanner.simulator.devopsguru.responses)
    sys.modules.setdefault("moto.devopsguru.urls", scanner.simulator.devopsguru.urls)
    if not any(name == "devopsguru" for name, _ in backend_index.backend_url_patterns):
        # In place: the server's dispatcher keeps a reference to this very list.
        backend_index.backend_url_patterns.append(("devopsguru", DEVOPSGURU_URL))


def verify() -> None:
    """Raise :class:`SimulatorIncompatible` unless moto routes DevOps Guru to the simulator's backend."""
    install()
    import moto.backends as backends
    from moto.core.botocore_stubber import BotocoreStubber  # noqa: F401  (in-process routing entry point)
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from scanner.simulator.devopsguru.models import devopsguru_backends

    try:
        found = backends.get_backend("devopsguru")  # type: ignore[call-overload]
    except Exception as error:  # pragma: no cover - only on an incompatible moto
        raise SimulatorIncompatible(f"moto.backends.get_backend('devopsguru') failed: {error}") from error
    if found is not devopsguru_backends:
        raise SimulatorIncompatible("moto.backends.get_backend('devopsguru') does not return the simulator's backend")
    dispatcher = DomainDispatcherApplication(create_backend_app)
    if dispatcher.get_backend_for_host("devops-guru.eu-west-1.amazonaws.com") != "devopsguru":
        raise SimulatorIncompatible("moto's server does not route devops-guru.<region>.amazonaws.com to DevOps Guru")
    environ = {"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20250101/eu-west-1/devops-guru/aws4_request, SignedHeaders=host, Signature=0"}
    if dispatcher.infer_service_region_host(environ, "/service-integrations") != "devops-guru.eu-west-1.amazonaws.com":
        raise SimulatorIncompatible("moto's server does not infer DevOps Guru from the signing name devops-guru")
    app = create_backend_app("devopsguru")  # type: ignore[arg-type]
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    if "/service-integrations" not in rules:
        raise SimulatorIncompatible(f"moto's server app for DevOps Guru has no /service-integrations route: {sorted(rules)}")


def _skip_default_amis() -> None:
    # Loading moto's ~9,000 public AMIs (with a volume and snapshot each) costs ~0.4 s per account and
    # region; nothing orgscan reads involves AMIs.
    import moto.settings

    moto.settings.ec2_load_default_amis = lambda: False  # type: ignore[assignment]


def _patch_iam_action_names() -> None:
    # Under IAM enforcement moto names an action after the request's signing name and its own idea of the
    # operation (tagging:GetResources; s3:ListBucket for GetBucketEncryption). AWS authorizes a call by the
    # actions of its Service Authorization Reference (tag:GetResources; s3:GetEncryptionConfiguration):
    # the interceptor resolves them for each call as orgscan does, and moto checks every one of them.
    from moto.iam.access_control import IAMRequestBase

    from scanner.simulator.interceptor import CURRENT_CALL

    original_check = IAMRequestBase.check_action_permitted

    def check_action_permitted(self: Any, resource: str) -> None:
        actions = getattr(CURRENT_CALL, "actions", None)
        if not actions:
            original_check(self, resource)
            return
        for action in actions:
            self._action = action
            original_check(self, resource)

    IAMRequestBase.check_action_permitted = check_action_permitted  # type: ignore[method-assign]


def _patch_inline_role_policies() -> None:
    # AWS stores an inline role policy as JSON text. moto's CloudFormation support hands
    # Role.put_policy the parsed template object, which IAM enforcement then cannot read
    # (every call of that role became a 500): store text, whatever the caller passes.
    import json

    from moto.iam.models import Role

    original_put_policy = Role.put_policy

    def put_policy(self: Any, policy_name: str, policy_json: Any) -> None:
        original_put_policy(self, policy_name, policy_json if isinstance(policy_json, str) else json.dumps(policy_json))

    Role.put_policy = put_policy  # type: ignore[method-assign]


def _patch_organizations_reads() -> None:
    # A member account (a delegated administrator, once the interceptor has let the call through) reads
    # the organization the management account owns; moto would answer from the member's empty backend.
    from moto.organizations.models import organizations_backends
    from moto.organizations.responses import OrganizationsResponse

    def organizations_backend(self: Any) -> Any:
        owner = organizations_backends.master_accounts.get(self.current_account)
        if owner is not None and owner[0] != self.current_account:
            return organizations_backends[owner[0]][owner[1]]
        return organizations_backends[self.current_account][self.partition]

    OrganizationsResponse.organizations_backend = property(organizations_backend)  # type: ignore[assignment]


def _patch_account_summary() -> None:
    # AWS's GetAccountSummary reports AccountPasswordPresent (1 while the root user has a console
    # password, 0 once its credentials are removed); moto's summary leaves the key out.
    from moto.iam.models import AccountSummary

    original_summary_map = AccountSummary.summary_map

    def summary_map(self: Any) -> dict[str, Any]:
        answer = dict(original_summary_map.fget(self))  # type: ignore[attr-defined]
        answer["AccountPasswordPresent"] = getattr(self, "_account_password_present", 1)
        return answer

    AccountSummary.summary_map = property(summary_map)  # type: ignore[assignment]


def _patch_s3_bucket_policies() -> None:
    # moto 5.2.1 evaluates a bucket policy on object requests without the request's condition keys, and
    # a statement whose condition does not hold counts as a denial whatever its effect: a policy that
    # denies puts *without* encryption then denies encrypted puts too. The interceptor evaluates bucket
    # policies' explicit denies with the request's headers instead (interceptor._s3_denied_by_bucket_policy).
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        return PermissionResult.NEUTRAL

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def _patch_macie() -> None:
    # moto 5.2.1 starts every account and region with an ENABLED Macie session and answers
    # GetMacieSession with ResourceNotFoundException once Macie is disabled. AWS starts with no
    # session ("When you enable Macie, the service generates a Macie session", Macie API Reference,
    # "Account Administration") and answers a caller whose account has none with
    # AccessDeniedException "Macie is not enabled." (the answer AWS's CLI shows).
    from moto.macie2.exceptions import AccessDeniedException
    from moto.macie2.models import MacieBackend

    original_init = MacieBackend.__init__
    original_get = MacieBackend.get_macie_session

    def __init__(self: Any, region_name: str, account_id: str) -> None:
        original_init(self, region_name, account_id)
        self.macie_session = None

    def get_macie_session(self: Any) -> dict[str, Any]:
        if not self.macie_session:
            raise AccessDeniedException("Macie is not enabled.")
        return original_get(self)

    MacieBackend.__init__ = __init__  # type: ignore[method-assign]
    MacieBackend.get_macie_session = get_macie_session  # type: ignore[method-assign]

    # moto fills the query parameters of a bodiless GET (GetMacieSession is GET /macie) with the request
    # headers; its signature check then signs them as a payload and rejects the call under IAM enforcement
    # (the same fix as the DevOps Guru backend's).
    from urllib.parse import parse_qs

    from moto.macie2.responses import MacieResponse

    original_authorize = MacieResponse._authenticate_and_authorize_normal_action

    def authorize(self: Any, resource: str = "*") -> None:
        saved = self.data
        self.data = parse_qs(self.parsed_url.query, keep_blank_values=True)
        try:
            original_authorize(self, resource)
        finally:
            self.data = saved

    MacieResponse._authenticate_and_authorize_normal_action = authorize  # type: ignore[method-assign]


def _patch_private_dns() -> None:
    # Zones of other accounts in ListHostedZonesByVPC, Resolver rules shared through AWS RAM (private_dns.py).
    from scanner.simulator import private_dns

    private_dns.install()


def _allow_devops_guru_delegated_administrator() -> None:
    # AWS lets an organization register a delegated administrator for DevOps Guru; moto's list lacks it.
    from moto.organizations.models import FakeDelegatedAdministrator

    if "devops-guru.amazonaws.com" not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:
        FakeDelegatedAdministrator.SUPPORTED_SERVICES.append("devops-guru.amazonaws.com")


# -- STS: the session duration fault ---------------------------------------------------------------


def _patch_sts() -> None:
    from moto.sts.models import STSBackend

    original = STSBackend.assume_role

    def assume_role(self: Any, region_name: str, role_session_name: str, role_arn: str, policy: str, duration: int, external_id: str) -> Any:
        simulation = ACTIVE.simulation
        limit = simulation.faults.max_session_seconds if simulation is not None else None
        if limit is not None:
            duration = min(duration, limit)
        role = original(self, region_name=region_name, role_session_name=role_session_name, role_arn=role_arn,
                        policy=policy, duration=duration, external_id=external_id)
        skew = simulation.faults.clock_skew_seconds if simulation is not None else 0.0
        if skew:
            # Issued by the skewed clock, as expiry is judged: a fresh session lasts its full duration.
            role.expiration += datetime.timedelta(seconds=skew)
        return role

    STSBackend.assume_role = assume_role  # type: ignore[method-assign]


# -- KMS: AWS managed keys -------------------------------------------------------------------------


def aws_managed_key_policy(account_id: str, service: str, region: str) -> str:
    """The policy AWS puts on an AWS managed key: use through the service only, by this account only."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": f"auto-{service}-1",
            "Statement": [
                {
                    "Sid": f"Allow access through {service} for all principals in the account that are authorized to use {service}",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"kms:CallerAccount": account_id, "kms:ViaService": f"{service}.{region}.amazonaws.com"}},
                },
                {
                    "Sid": "Allow direct access to key metadata to the account",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                    "Resource": "*",
                },
            ],
        }
    )


def make_aws_managed(key: Any, alias_name: str, account_id: str, region: str) -> None:
    """Turn a moto key into an AWS managed one, as ``alias/aws/<service>`` keys are."""
    service = alias_name.split("/", 2)[2]
    key.key_manager = "AWS"
    key.description = f"Default key that protects my {service} data when no other key is defined"
    key.policy = aws_managed_key_policy(account_id, service, region)
    key.key_rotation_status = True  # AWS rotates AWS managed keys every year, and it cannot be turned off


class _LazyPrivateKey:
    """moto makes an RSA key pair for every KMS key, even symmetric ones (~90 ms each): make it on first use."""

    def __init__(self, generate: Any, key_spec: str):
        self._generate = generate
        self._key_spec = key_spec
        self._key: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._key is None:
            self._key = self._generate(self._key_spec)
        return getattr(self._key, name)


def _patch_kms() -> None:
    import moto.kms.models as kms_models
    from moto.kms.models import KmsBackend
    from moto.kms.responses import KmsResponse

    generate_private_key = kms_models.generate_private_key
    kms_models.generate_private_key = lambda key_spec: _LazyPrivateKey(generate_private_key, key_spec)  # type: ignore[assignment]

    original_generate = KmsBackend._generate_default_keys

    def _generate_default_keys(self: Any, alias_name: str) -> str | None:
        key_id = original_generate(self, alias_name)
        if key_id is not None:
            make_aws_managed(self.keys[key_id], alias_name, self.account_id, self.region_name)
        return key_id

    KmsBackend._generate_default_keys = _generate_default_keys  # type: ignore[method-assign]

    from moto.kms.models import kms_backends

    from scanner.simulator.interceptor import KMS_KEY_OWNER

    def kms_backend(self: Any) -> Any:
        # A readable key of another account (the interceptor checked its key policy) is served from
        # that account's backend, as AWS does for cross-account key use.
        owner = getattr(KMS_KEY_OWNER, "account_id", None)
        return kms_backends[owner or self.current_account][self.region]

    KmsResponse.kms_backend = property(kms_backend)  # type: ignore[assignment]

    original_validate = KmsResponse._validate_cmk_id
    real_mrk_id = re.compile(r"^mrk-[0-9a-f]{32}$")

    def _validate_cmk_id(self: Any, key_id: str) -> None:
        # AWS's multi-Region key ids are mrk- and 32 hex digits; moto only knows its own mrk-<uuid>.
        if real_mrk_id.match(key_id) and key_id in self.kms_backend.keys:
            return
        original_validate(self, key_id)

    KmsResponse._validate_cmk_id = _validate_cmk_id  # type: ignore[method-assign]

    original_list_aliases = KmsResponse.list_aliases

    def list_aliases(self: Any) -> str:
        # moto lists every alias/aws/* alias with a made-up target key that does not exist.
        # AWS lists them too, but an AWS managed alias has no target until a service first uses it.
        answer = json.loads(original_list_aliases(self))
        keys = self.kms_backend.keys
        for alias in answer["Aliases"]:
            if alias["AliasName"].startswith("alias/aws/") and alias.get("TargetKeyId") not in keys:
                alias.pop("TargetKeyId", None)
        return json.dumps(answer)

    KmsResponse.list_aliases = list_aliases  # type: ignore[method-assign]

    def _validate_key_policy(self: Any, key_id: str, action: str) -> None:
        # moto's own check (DescribeKey only) fails with a 500 when "Statement" is a single object and
        # ignores a Deny's Principal and Condition, so a conditional Deny of kms:* blocked every caller.
        key = self.kms_backend.describe_key(self.kms_backend.get_key_id(key_id))
        denial = key_policy_denial(key.policy, action, self.current_account, self.get_access_key(), key.arn, self.region)
        if denial is not None:
            from moto.core.exceptions import JsonRESTError

            # moto's AccessDeniedException sends no message; AWS's names the caller, action and key.
            raise JsonRESTError(
                "AccessDeniedException",
                f"User: {denial} is not authorized to perform: {action} on resource: {key.arn} "
                "with an explicit deny in a resource-based policy"
            )

    KmsResponse._validate_key_policy = _validate_key_policy  # type: ignore[method-assign]

    original_to_dict = kms_models.Key.to_dict

    def to_dict(self: Any) -> dict[str, Any]:
        # Fields moto does not model: ExpirationModel of imported key material, custom key store ids.
        answer = original_to_dict(self)
        answer["KeyMetadata"].update(getattr(self, "simulator_metadata", None) or {})
        return answer

    kms_models.Key.to_dict = to_dict  # type: ignore[method-assign]


def _organization_path(account_id: str) -> tuple[str | None, str | None]:
    """The organization id and the account's ``aws:PrincipalOrgPaths`` value (``o-.../r-.../ou-.../``), if it is a member."""
    from moto.organizations.models import organizations_backends

    owner = organizations_backends.master_accounts.get(account_id)
    if owner is None:
        return None, None
    backend = organizations_backends[owner[0]][owner[1]]
    organization = getattr(backend, "org", None)
    if organization is None:
        return None, None
    units = {unit.id: unit for unit in backend.ou}
    account = next((a for a in backend.accounts if a.id == account_id), None)
    parent = getattr(account, "parent_id", None)
    chain: list[str] = []
    while parent is not None and parent not in chain and len(chain) < 10:  # OUs nest five deep at most
        chain.append(parent)
        parent = getattr(units.get(parent), "parent_id", None)
    return organization.id, "/".join([organization.id, *reversed(chain)]) + "/"


def direct_call_request(account_id: str, access_key: str, action: str, key_arn: str, region: str) -> dict[str, Any]:
    """The request AWS evaluates for a direct KMS call (not through a service) by this caller, in the evaluator's shape.

    The context holds the keys AWS puts in such a request whose values the simulator knows;
    :data:`DIRECT_CALL_ABSENT_KEYS` are keys such a request never carries.
    """
    from moto.sts.models import sts_backends

    role_arn, caller_arn = None, f"arn:aws:iam::{account_id}:root"
    try:
        assumed = sts_backends[account_id]["aws"].get_assumed_role_from_access_key(access_key)
    except KeyError:
        assumed = None
    if assumed is not None:
        role_arn, caller_arn = assumed.role_arn, assumed.arn
    org_id, org_path = _organization_path(account_id)
    context: dict[str, Any] = {
        "kms:CallerAccount": account_id,
        "aws:PrincipalAccount": account_id,
        "aws:ResourceAccount": key_arn.split(":")[4],
        "aws:RequestedRegion": region,
        "aws:SecureTransport": "true",  # KMS endpoints accept HTTPS only
        "aws:ViaAWSService": "false",
        "aws:PrincipalIsAWSService": "false",
        "aws:PrincipalArn": role_arn or caller_arn,
        "aws:PrincipalType": "AssumedRole" if role_arn else "Account",
    }
    if org_id is not None:
        context["aws:PrincipalOrgID"] = org_id
        context["aws:PrincipalOrgPaths"] = [org_path]
    principal = {"type": "AWS", "arn": caller_arn, "account": account_id, "org_id": org_id,
                 "org_paths": [org_path] if org_path else [], "is_root": role_arn is None}
    if role_arn is not None:
        principal["role_arn"] = role_arn
    return {"principal": principal, "action": action, "resource": key_arn, "context": context}


# Context keys a direct call never carries: a Deny that needs one of them cannot match it.
DIRECT_CALL_ABSENT_KEYS = frozenset(
    key.lower() for key in (
        "kms:ViaService", "kms:GrantIsForAWSResource", "kms:GrantOperations", "kms:GrantConstraintType",
        "kms:GranteePrincipal", "kms:RetiringPrincipal", "aws:SourceVpc", "aws:SourceVpce", "aws:VpcSourceIp",
        "aws:SourceArn", "aws:SourceAccount", "aws:SourceOrgID", "aws:SourceOrgPaths", "aws:CalledVia",
        "aws:CalledViaFirst", "aws:CalledViaLast",
    )
)


def key_policy_denial(policy_text: str | None, action: str, account_id: str, access_key: str, key_arn: str, region: str) -> str | None:
    """The caller's (session) ARN when an explicit Deny of the key policy may apply to this direct call, else ``None``.

    Judged by the simulator's own evaluator (:mod:`scanner.simulator.kms_key_policy`, never
    the checks' one) against :func:`direct_call_request`. A Deny whose conditions read a key
    the simulator cannot tell (neither in that request nor in :data:`DIRECT_CALL_ABSENT_KEYS`,
    say ``aws:SourceIp`` or ``aws:PrincipalTag/team``) blocks when its other conditions hold,
    as moto blocked every Deny. Allows are not enforced (moto does not enforce them either).
    """
    from scanner.simulator.kms_key_policy import DENY, PolicyDocumentError, evaluate, parse

    try:
        statements = parse(policy_text or "")
    except PolicyDocumentError:
        return None  # not a policy AWS would hold; moto skips it too
    denies = [statement for statement in statements if statement.effect == "Deny"]
    if not denies:
        return None
    request = direct_call_request(account_id, access_key, action, key_arn, region)
    if evaluate(denies, request) == DENY:
        return request["principal"]["arn"]
    told = {key.lower() for key in request["context"]} | DIRECT_CALL_ABSENT_KEYS
    for deny in denies:
        untold = deny.condition_keys - told
        if untold and deny.applies(request, skip_keys=untold):
            return request["principal"]["arn"]
    return None


# -- CloudTrail: organization trails seen from member accounts --------------------------------------


def _organization_trails(account_id: str, region: str) -> list[Any]:
    """The management account's organization trails that a member account sees in ``region``."""
    from moto.cloudtrail.models import cloudtrail_backends
    from moto.organizations.models import organizations_backends

    owner = organizations_backends.master_accounts.get(account_id)
    if owner is None or owner[0] == account_id:
        return []
    management_id = owner[0]
    if management_id not in cloudtrail_backends:
        return []
    trails = []
    for backend in list(cloudtrail_backends[management_id].values()):
        for trail in list(backend.trails.values()):
            if trail.is_org_trail and (trail.is_multi_region or trail.region_name == region):
                trails.append(trail)
    return trails


def _find_organization_trail(account_id: str, region: str, name_or_arn: str) -> Any:
    for trail in _organization_trails(account_id, region):
        if name_or_arn in (trail.arn, trail.trail_name):
            return trail
    return None


def _patch_cloudtrail() -> None:
    from moto.cloudtrail.exceptions import TrailNotFoundException
    from moto.cloudtrail.models import CloudTrailBackend

    original_describe = CloudTrailBackend.describe_trails
    original_get = CloudTrailBackend.get_trail
    original_status = CloudTrailBackend.get_trail_status
    original_selectors = CloudTrailBackend.get_event_selectors

    def describe_trails(self: Any, include_shadow_trails: bool) -> Any:
        trails = list(original_describe(self, include_shadow_trails))
        # AWS shows a member account the organization trails that log it (read-only), from every
        # region when they are multi-Region; their ARN and home region are the management account's.
        for trail in _organization_trails(self.account_id, self.region_name):
            if trail not in trails and (include_shadow_trails or trail.region_name == self.region_name):
                trails.append(trail)
        return trails

    def get_trail(self: Any, name_or_arn: str) -> Any:
        try:
            return original_get(self, name_or_arn)
        except TrailNotFoundException:
            trail = _find_organization_trail(self.account_id, self.region_name, name_or_arn)
            if trail is None:
                raise
            return trail

    def get_trail_status(self: Any, name: str) -> Any:
        try:
            return original_status(self, name)
        except TrailNotFoundException:
            trail = _find_organization_trail(self.account_id, self.region_name, name)
            if trail is None:
                raise
            return trail.status

    def get_event_selectors(self: Any, trail_name: str) -> Any:
        try:
            return original_selectors(self, trail_name)
        except TrailNotFoundException:
            trail = _find_organization_trail(self.account_id, self.region_name, trail_name)
            if trail is None:
                raise
            event_selectors, advanced = trail.get_event_selectors()
            return trail.arn, event_selectors, advanced

    CloudTrailBackend.describe_trails = describe_trails  # type: ignore[method-assign]
    CloudTrailBackend.get_trail = get_trail  # type: ignore[method-assign]
    CloudTrailBackend.get_trail_status = get_trail_status  # type: ignore[method-assign]
    CloudTrailBackend.get_event_selectors = get_event_selectors  # type: ignore[method-assign]

    from scanner.simulator import cloudtrail_lake

    cloudtrail_lake.install()


# -- EC2: regions and their opt-in status -----------------------------------------------------------

# Regions launched before March 2019 are enabled in every account; later ones must be opted into.
OPT_IN_NOT_REQUIRED = frozenset(
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
        "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
        "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
    }
)


def region_opt_in_statuses(opted_in: set[str]) -> dict[str, str]:
    """Every region of the ``aws`` partition with its opt-in status for an account that opted into ``opted_in``."""
    from scanner.simulator.scenario import service_regions

    regions = sorted(service_regions("ec2"))
    statuses = {}
    for region in regions:
        if region in OPT_IN_NOT_REQUIRED:
            statuses[region] = "opt-in-not-required"
        elif region in opted_in:
            statuses[region] = "opted-in"
        else:
            statuses[region] = "not-opted-in"
    return statuses


def _patch_describe_regions() -> None:
    from moto.ec2.models.availability_zones_and_regions import Region
    from moto.ec2.responses.availability_zones_and_regions import AvailabilityZonesAndRegions
    from moto.core.responses import ActionResult

    def describe_regions(self: Any) -> Any:
        # moto lists every partition's regions (GovCloud and China included) as enabled. AWS lists the
        # caller's partition only, and without AllRegions only the regions enabled for the account.
        self.error_on_dryrun()
        names = self._get_param("RegionNames", []) or []
        all_regions = bool(self._get_param("AllRegions", False))
        filters = self._filters_from_querystring()
        simulation = ACTIVE.simulation
        opted_in = set(simulation.scenario.regions) if simulation is not None else set()
        regions = []
        for name, status in sorted(region_opt_in_statuses(opted_in).items()):
            if not all_regions and not names and status == "not-opted-in":
                continue
            if names and name not in names:
                continue
            if "opt-in-status" in filters and status not in filters["opt-in-status"]:
                continue
            if "region-name" in filters and name not in filters["region-name"]:
                continue
            regions.append(Region(name, f"ec2.{name}.amazonaws.com", status))
        return ActionResult({"Regions": regions})

    AvailabilityZonesAndRegions.describe_regions = describe_regions  # type: ignore[method-assign]


# -- Resource Groups Tagging API: what AWS returns per region ----------------------------------------


def _tags_match(tags: list[dict[str, str]], tag_filters: list[dict[str, Any]] | None) -> bool:
    for tag_filter in tag_filters or []:
        values = tag_filter.get("Values") or []
        if not any(tag["Key"] == tag_filter["Key"] and (not values or tag["Value"] in values) for tag in tags):
            return False
    return True


def _type_wanted(resource_type: str, type_filters: list[str] | None) -> bool:
    return not type_filters or resource_type in type_filters or resource_type.split(":")[0] in type_filters


def _patch_tagging_api() -> None:
    from moto.resourcegroupstaggingapi.models import ResourceGroupsTaggingAPIBackend

    original = ResourceGroupsTaggingAPIBackend._get_resources_generator

    def _get_resources_generator(self: Any, tag_filters: Any = None, resource_type_filters: Any = None) -> Any:
        # moto returns every S3 bucket in every region; AWS returns a bucket in its own region only.
        buckets = self.s3_backend.buckets
        for item in original(self, tag_filters=tag_filters, resource_type_filters=resource_type_filters):
            arn = item["ResourceARN"]
            if arn.startswith("arn:aws:s3:::"):
                bucket = buckets.get(arn.split(":::", 1)[1])
                if bucket is not None and getattr(bucket, "region_name", self.region_name) != self.region_name:
                    continue
            yield item
        # AWS also returns VPC endpoints and CloudTrail trails, which moto leaves out. (IAM resources are
        # not returned by AWS either: they need IAM's own ListRoleTags/ListUserTags.)
        if _type_wanted("ec2:vpc-endpoint", resource_type_filters):
            for endpoint in list(self.ec2_backend.vpc_end_points.values()):
                tags = [{"Key": k, "Value": v} for k, v in self.ec2_backend.tags.get(endpoint.id, {}).items()]
                if tags and _tags_match(tags, tag_filters):
                    yield {"ResourceARN": f"arn:{self.partition}:ec2:{self.region_name}:{self.account_id}:vpc-endpoint/{endpoint.id}", "Tags": tags}
        if _type_wanted("cloudtrail:trail", resource_type_filters):
            from moto.cloudtrail.models import cloudtrail_backends

            cloudtrail = cloudtrail_backends[self.account_id][self.region_name]
            for trail in list(cloudtrail.trails.values()):
                tags = cloudtrail.tagging_service.list_tags_for_resource(trail.arn)["TagsList"]
                if tags and _tags_match(tags, tag_filters):
                    yield {"ResourceARN": trail.arn, "Tags": tags}

    ResourceGroupsTaggingAPIBackend._get_resources_generator = _get_resources_generator  # type: ignore[method-assign]
