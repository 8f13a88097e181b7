"""A simulated AWS Organization, declared as data: the scenario file format and its loader.

A scenario is a TOML file (see ``docs/simulator.md``). :func:`load_scenario`
reads and checks it; every problem is reported as ``file:place: problem``
(for example ``org.toml:accounts[3].kms_keys[0].policy: not valid JSON``) in
a :class:`scanner.errors.UsageError`. Nothing here imports moto: scenarios can
be read and checked cheaply.
"""
from __future__ import annotations

import functools
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from scanner.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ACCOUNT_ID = re.compile(r"[0-9]{12}", re.ASCII)  # \d would take any script's digits, $ a trailing newline
ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
KEY_ID = re.compile(r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
ACCOUNT_STATUSES = ("ACTIVE", "SUSPENDED")
KEY_STATES = ("Enabled", "Disabled", "PendingDeletion", "PendingImport", "Unavailable")
# Where a key's material comes from: KMS, imported (EXTERNAL), a CloudHSM or an external key store.
KEY_ORIGINS = ("AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")
CUSTOM_KEY_STORE_ORIGINS = ("AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")
KEY_SPECS = (
    "SYMMETRIC_DEFAULT", "RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
    "ECC_NIST_P521", "ECC_SECG_P256K1", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512",
)
KEY_USAGES = ("ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT")
KEY_MANAGERS = ("CUSTOMER", "AWS")
ENCRYPTION_TYPES = ("CUSTOMER_MANAGED_KEY", "AWS_OWNED_KMS_KEY")
OPT_IN = ("ENABLED", "DISABLED")
ENDPOINT_TYPES = ("Interface", "Gateway", "GatewayLoadBalancer")
ENDPOINT_STATES = ("available", "pending", "pendingAcceptance", "deleting", "deleted", "rejected", "failed")
SUBSCRIPTION_PROTOCOLS = ("http", "https", "email", "email-json", "sqs", "lambda", "sms", "application", "firehose")
DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"
# What AWS Organizations attaches to the role it creates in new accounts (AdministratorAccess).
ADMINISTRATOR_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


@dataclass
class KmsKey:
    """A KMS key. ``policy`` is the key policy text (``None``: AWS's default key policy for the account)."""

    id: str
    region: str
    description: str = ""
    policy: str | None = None
    rotation: bool = False
    state: str = "Enabled"
    spec: str = "SYMMETRIC_DEFAULT"
    usage: str = "ENCRYPT_DECRYPT"
    multi_region: bool = False
    replica_regions: tuple[str, ...] = ()
    manager: str = "CUSTOMER"
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    origin: str = "AWS_KMS"


@dataclass
class DevOpsGuruSetup:
    """DevOps Guru in one region: the encryption setting and the resource collection."""

    region: str
    encryption_type: str = "AWS_OWNED_KMS_KEY"
    encryption_opt_in: str = "ENABLED"
    kms_key: str | None = None
    stacks: tuple[str, ...] = ()
    tags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notification_topics: tuple[str, ...] = ()
    ops_center: str = "DISABLED"
    logs_anomaly_detection: str = "DISABLED"
    # Fields DescribeServiceIntegration leaves out of its answer, e.g. "KMSServerSideEncryption.Type".
    omit_fields: tuple[str, ...] = ()
    # The grant DevOps Guru creates on its customer managed key: revoked afterwards, or with other operations.
    grant_revoked: bool = False
    grant_operations: tuple[str, ...] = ("Decrypt", "GenerateDataKey")


# KMS's GrantOperation values (botocore's kms model).
GRANT_OPERATIONS = (
    "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo", "Sign",
    "Verify", "GetPublicKey", "CreateGrant", "RetireGrant", "DescribeKey", "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac", "DeriveSharedSecret",
)

# What a DescribeServiceIntegration answer may lack: a whole section or a field of the encryption setting.
OMITTABLE_INTEGRATION_FIELDS = (
    "OpsCenter",
    "LogsAnomalyDetection",
    "KMSServerSideEncryption",
    "KMSServerSideEncryption.OptInStatus",
    "KMSServerSideEncryption.Type",
    "KMSServerSideEncryption.KMSKeyId",
)


#: GetMacieSession's status values (botocore macie2 model, shape MacieStatus).
MACIE_STATUSES = ("ENABLED", "PAUSED")


@dataclass
class MacieSession:
    """Amazon Macie enabled (or suspended) in one region; a region without one has never enabled Macie."""

    region: str
    status: str = "ENABLED"


#: CloudFormation's stack name rule (CreateStack: "must start with an alphabetic character", at most 128 characters).
STACK_NAME = re.compile(r"[A-Za-z][-A-Za-z0-9]{0,127}")


@dataclass
class CloudFormationStack:
    """A CloudFormation stack: its name and its template's Description (what DescribeStacks reports)."""

    name: str
    region: str
    description: str = ""


@dataclass
class VpcEndpoint:
    service: str
    type: str = "Interface"
    state: str = "available"
    private_dns: bool = True
    policy: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    # True: DescribeVpcEndpoints reports no PolicyDocument at all (rather than AWS's full-access default).
    without_policy: bool = False

    def service_name(self, region: str) -> str:
        """``com.amazonaws.<region>.<service>`` for a short name, the name itself otherwise."""
        return self.service if "." in self.service else f"com.amazonaws.{region}.{self.service}"


@dataclass(frozen=True)
class DnsReference:
    """A private hosted zone or Resolver rule, named by its owner account and its name, that a VPC is associated with."""

    account: str
    name: str


@dataclass
class Vpc:
    region: str
    cidr: str = "10.0.0.0/16"
    subnets: tuple[str, ...] = ("10.0.1.0/24",)
    tags: dict[str, str] = field(default_factory=dict)
    endpoints: list[VpcEndpoint] = field(default_factory=list)
    default: bool = False
    # Hub and spoke: private hosted zones (of any account) and Resolver rules (own or shared) associated with the VPC.
    hosted_zones: list[DnsReference] = field(default_factory=list)
    resolver_rules: list[DnsReference] = field(default_factory=list)


@dataclass
class HostedZone:
    """A Route 53 private hosted zone, created with the account's first VPC of ``region`` (AWS needs one at creation)."""

    name: str
    region: str


#: Resolver rule types a scenario can create (RECURSIVE is AWS's own auto-defined rule; botocore's RuleTypeOption).
RESOLVER_RULE_TYPES = ("FORWARD", "SYSTEM", "DELEGATE")
RESOLVER_RULE_STATES = ("COMPLETE", "DELETING", "UPDATING", "FAILED")


@dataclass
class ResolverRule:
    """A Route 53 Resolver rule in one region, shared through AWS RAM with ``shared_with`` accounts."""

    name: str
    region: str
    domain: str
    type: str = "FORWARD"
    target_ips: tuple[str, ...] = ()
    status: str = "COMPLETE"
    shared_with: tuple[str, ...] = ()


@dataclass
class Trail:
    name: str
    region: str
    multi_region: bool = True
    logging: bool = True
    log_file_validation: bool = True
    kms_key_id: str | None = None
    organization: bool = False
    include_global_events: bool = True
    event_selectors: list[dict[str, Any]] = field(default_factory=list)
    advanced_event_selectors: list[dict[str, Any]] = field(default_factory=list)
    bucket: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


#: CloudTrail Lake's event data store states (botocore's EventDataStoreStatus).
EVENT_DATA_STORE_STATES = ("CREATED", "ENABLED", "PENDING_DELETION", "STARTING_INGESTION", "STOPPING_INGESTION", "STOPPED_INGESTION")


@dataclass
class EventDataStore:
    """A CloudTrail Lake event data store; no selectors means AWS's default (all management events)."""

    name: str
    region: str
    organization: bool = False
    multi_region: bool = True
    status: str = "ENABLED"
    advanced_event_selectors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class IamPrincipal:
    name: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)


#: An access key's states (botocore iam model, statusType).
ACCESS_KEY_STATUSES = ("Active", "Inactive")


@dataclass
class UserAccessKey:
    """An IAM user's access key: created ``age_days`` before the scenario is applied, last used ``last_used_days_ago`` (None: never)."""

    status: str = "Active"
    age_days: int = 0
    last_used_days_ago: int | None = None


@dataclass
class IamUser(IamPrincipal):
    """An IAM user: a console password (login profile), MFA devices and access keys as the scenario sets them."""

    console_password: bool = False
    mfa_devices: int = 0
    access_keys: list[UserAccessKey] = field(default_factory=list)


@dataclass
class Subscription:
    protocol: str
    endpoint: str


@dataclass
class SnsTopic:
    name: str
    region: str
    tags: dict[str, str] = field(default_factory=dict)
    subscriptions: list[Subscription] = field(default_factory=list)
    kms_key: str | None = None  # KmsMasterKeyId: a key id, key ARN, alias name or alias ARN
    policy: str | None = None  # the topic policy as JSON text (None: the default policy SNS writes)


@dataclass
class ApiDestination:
    name: str
    region: str
    url: str
    connection: str = ""
    http_method: str = "POST"


@dataclass
class Bucket:
    name: str
    region: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Account:
    """One account of the organization and everything declared in it."""

    id: str
    name: str
    email: str
    ou: str = ""
    status: str = "ACTIVE"
    role_assumable: bool = True
    root_mfa: bool = True
    root_password: bool = True
    root_access_keys: bool = False
    root_signing_certificates: bool = False
    default_vpc: bool = True
    kms_keys: list[KmsKey] = field(default_factory=list)
    devops_guru: list[DevOpsGuruSetup] = field(default_factory=list)
    vpcs: list[Vpc] = field(default_factory=list)
    hosted_zones: list[HostedZone] = field(default_factory=list)
    resolver_rules: list[ResolverRule] = field(default_factory=list)
    trails: list[Trail] = field(default_factory=list)
    event_data_stores: list[EventDataStore] = field(default_factory=list)
    iam_roles: list[IamPrincipal] = field(default_factory=list)
    iam_users: list[IamUser] = field(default_factory=list)
    sns_topics: list[SnsTopic] = field(default_factory=list)
    api_destinations: list[ApiDestination] = field(default_factory=list)
    s3_buckets: list[Bucket] = field(default_factory=list)
    macie: list[MacieSession] = field(default_factory=list)
    cloudformation_stacks: list[CloudFormationStack] = field(default_factory=list)


@dataclass
class Scenario:
    """A whole simulated organization: the management account first, then the members."""

    name: str
    management_account_id: str
    regions: tuple[str, ...]
    accounts: list[Account]
    organization_id: str = "o-exampleorg01"
    organizational_units: tuple[str, ...] = ()
    role_name: str = DEFAULT_ROLE_NAME
    role_policy: str = ADMINISTRATOR_POLICY
    management_policy: str = ADMINISTRATOR_POLICY
    external_id: str | None = None
    source: str = "<scenario>"

    @property
    def account_ids(self) -> list[str]:
        return [account.id for account in self.accounts]

    def account(self, account_id: str) -> Account:
        for account in self.accounts:
            if account.id == account_id:
                return account
        raise KeyError(account_id)

    @property
    def management(self) -> Account:
        return self.account(self.management_account_id)


def aws_default_key_policy(account_id: str, partition: str = "aws") -> str:
    """The key policy AWS gives a key created without one: the account root may do everything."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "key-default-1",
            "Statement": [
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )


# -- loading --------------------------------------------------------------------------------------


class _Place:
    """Where in the file a value sits, for error messages: ``accounts[3].kms_keys[0].policy``."""

    def __init__(self, source: str, path: str = ""):
        self.source = source
        self.path = path

    def child(self, name: str | int) -> "_Place":
        if isinstance(name, int):
            return _Place(self.source, f"{self.path}[{name}]")
        return _Place(self.source, f"{self.path}.{name}" if self.path else name)

    def fail(self, problem: str) -> UsageError:
        where = f"{self.source}:{self.path}" if self.path else self.source
        return UsageError(f"{where}: {problem}")


class _Table:
    """A TOML table being read: typed getters that name the place on error, and a check for unknown keys."""

    def __init__(self, data: Any, place: _Place):
        if not isinstance(data, Mapping):
            raise place.fail(f"expected a table, got {type(data).__name__}")
        self.data = data
        self.place = place
        self.used: set[str] = set()

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None, required: bool = False) -> Any:
        self.used.add(key)
        if key not in self.data:
            if required:
                raise self.place.fail(f"missing required key {key!r}")
            return default
        value = self.data[key]
        # bool is an int in Python; a scenario saying `rotation = 1` is a mistake worth reporting.
        if kind is not bool and isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.place.child(key).fail(f"expected {_kind_name(kind)}, got a boolean")
        if not isinstance(value, kind):
            raise self.place.child(key).fail(f"expected {_kind_name(kind)}, got {type(value).__name__}")
        return value

    def choice(self, key: str, allowed: tuple[str, ...], default: str | None = None, required: bool = False) -> Any:
        value = self.get(key, str, default, required)
        if value is not None and value not in allowed:
            raise self.place.child(key).fail(f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        values = self.get(key, list, None)
        if values is None:
            return default
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise self.place.child(key).child(index).fail(f"expected a string, got {type(value).__name__}")
        return tuple(values)

    def tags(self, key: str = "tags") -> dict[str, str]:
        table = self.get(key, Mapping, {})
        tags = {}
        for tag_key, tag_value in table.items():
            if not isinstance(tag_value, str):
                raise self.place.child(key).child(tag_key).fail(f"tag values are strings, got {type(tag_value).__name__}")
            if not 1 <= len(tag_key) <= 128:
                raise self.place.child(key).child(tag_key).fail("tag keys are 1 to 128 characters long")
            if len(tag_value) > 256:
                raise self.place.child(key).child(tag_key).fail("tag values are at most 256 characters long")
            tags[str(tag_key)] = tag_value
        return tags

    def tables(self, key: str) -> list["_Table"]:
        items = self.get(key, list, [])
        return [_Table(item, self.place.child(key).child(index)) for index, item in enumerate(items)]

    def policy(self, key: str = "policy") -> str | None:
        """A policy given as a TOML table (serialised to JSON) or as JSON text (which must parse)."""
        self.used.add(key)
        if key not in self.data:
            return None
        value = self.data[key]
        if isinstance(value, Mapping):
            try:
                return json.dumps(value)
            except (TypeError, ValueError) as error:
                raise self.place.child(key).fail(f"cannot be written as JSON ({error})") from None
        if isinstance(value, str):
            try:
                json.loads(value)
            except ValueError as error:
                raise self.place.child(key).fail(f"not valid JSON ({error})") from None
            return value
        raise self.place.child(key).fail(f"expected a table or JSON text, got {type(value).__name__}")

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.place.child(unknown[0]).fail(f"unknown key (known: {', '.join(sorted(self.used))})")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", bool: "true or false", int: "an integer", list: "a list", Mapping: "a table", dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def load_scenario(path: str | Path) -> Scenario:
    """The scenario in the TOML file at ``path``; a :class:`UsageError` names the file, place and problem."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{source}: cannot read scenario ({error.strerror or error})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{source}: not valid TOML ({error})") from None
    return scenario_from_dict(data, source=source)


def scenario_from_dict(data: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    """A scenario from already-parsed data (the TOML layout), checked like a file."""
    root = _Table(data, _Place(source))
    name = root.get("name", str, "scenario")
    organization = _Table(root.get("organization", Mapping, required=True), root.place.child("organization"))
    management_id = organization.get("management_account", str, required=True)
    if not ACCOUNT_ID.fullmatch(management_id):
        raise organization.place.child("management_account").fail(f"{management_id!r} is not a 12-digit account id")
    organization_id = organization.get("id", str, "o-exampleorg01")
    if not ORG_ID.match(organization_id):
        raise organization.place.child("id").fail(f"{organization_id!r} is not an organization id (o- and 10 to 32 lower-case letters or digits)")
    regions = organization.strings("regions")
    if not regions:
        raise organization.place.child("regions").fail("name at least one region")
    known_regions = _partition_regions()
    for index, region in enumerate(regions):
        if region not in known_regions:
            raise organization.place.child("regions").child(index).fail(f"{region!r} is not a region of the aws partition")
    units = organization.strings("units")
    for index, unit in enumerate(units):
        if not unit or unit.startswith("/") or unit.endswith("/") or "//" in unit:
            raise organization.place.child("units").child(index).fail(f"{unit!r} is not an OU path like 'Workloads/Prod'")
    role_name = organization.get("role_name", str, DEFAULT_ROLE_NAME)
    if not re.fullmatch(r"[\w+=,.@-]{1,64}", role_name):
        raise organization.place.child("role_name").fail(f"{role_name!r} is not an IAM role name")
    external_id = organization.get("external_id", str, None)
    if external_id is not None and not re.fullmatch(r"[\w+=,.@:/-]{2,1224}", external_id):
        raise organization.place.child("external_id").fail("an external id is 2 to 1224 of letters, digits and +=,.@:/-")
    role_policy = organization.policy("role_policy") or ADMINISTRATOR_POLICY
    management_policy = organization.policy("management_policy") or ADMINISTRATOR_POLICY
    organization.finish()

    accounts = [_read_account(table, regions, units) for table in root.tables("accounts")]
    root.finish()

    seen: dict[str, int] = {}
    for index, account in enumerate(accounts):
        if account.id in seen:
            raise root.place.child("accounts").child(index).child("id").fail(
                f"account {account.id} is already declared at accounts[{seen[account.id]}]"
            )
        seen[account.id] = index
    if management_id not in seen:
        raise organization.place.child("management_account").fail(f"{management_id} is not one of the declared accounts")
    for index, account in enumerate(accounts):
        for store_index, store in enumerate(account.event_data_stores):
            # An organization event data store lives in the management account, even when a
            # delegated administrator creates it (CloudTrail User Guide, "Organization event data stores").
            if store.organization and account.id != management_id:
                raise root.place.child("accounts").child(index).child("event_data_stores").child(store_index).child(
                    "organization").fail("an organization event data store belongs to the management account")
    _check_key_ids_unique(accounts, root.place)
    _check_dns_references(accounts, root.place)
    return Scenario(
        name=name,
        management_account_id=management_id,
        regions=tuple(regions),
        accounts=accounts,
        organization_id=organization_id,
        organizational_units=_with_parents(units),
        role_name=role_name,
        role_policy=role_policy,
        management_policy=management_policy,
        external_id=external_id,
        source=source,
    )


@functools.lru_cache(maxsize=1)
def _endpoint_data() -> tuple[Any, Any]:
    """botocore's data loader and endpoint resolver, read without a Session (which would read AWS_PROFILE)."""
    import botocore.loaders
    import botocore.regions

    loader = botocore.loaders.create_loader()
    return loader, botocore.regions.EndpointResolver(loader.load_data("endpoints"))


def service_regions(service: str) -> frozenset[str]:
    """The ``aws`` partition regions where a botocore service has an endpoint (empty for global services)."""
    return _service_regions(service)


@functools.lru_cache(maxsize=None)
def _service_regions(service: str) -> frozenset[str]:
    loader, resolver = _endpoint_data()
    model = loader.load_service_model(service, "service-2")
    prefix = model["metadata"].get("endpointPrefix", service)
    return frozenset(resolver.get_available_endpoints(prefix, "aws"))


def _partition_regions() -> frozenset[str]:
    """The regions of the ``aws`` partition, from botocore's endpoint data."""
    return service_regions("ec2")


def _with_parents(units: tuple[str, ...]) -> tuple[str, ...]:
    """Every OU path with its ancestors, parents before children."""
    paths: list[str] = []
    for unit in units:
        parts = unit.split("/")
        for depth in range(1, len(parts) + 1):
            path = "/".join(parts[:depth])
            if path not in paths:
                paths.append(path)
    return tuple(sorted(paths, key=lambda p: p.count("/")))


def _region(table: _Table, regions: tuple[str, ...]) -> str:
    region = table.get("region", str, regions[0])
    if region not in regions:
        raise table.place.child("region").fail(f"{region!r} is not one of the organization's regions ({', '.join(regions)})")
    return region


def _read_account(table: _Table, regions: tuple[str, ...], units: tuple[str, ...]) -> Account:
    account_id = table.get("id", str, required=True)
    if not ACCOUNT_ID.fullmatch(account_id):
        raise table.place.child("id").fail(f"{account_id!r} is not a 12-digit account id")
    ou = table.get("ou", str, "")
    if ou and ou not in _with_parents(units):
        raise table.place.child("ou").fail(f"OU {ou!r} is not declared in organization.units")
    account = Account(
        id=account_id,
        name=table.get("name", str, required=True),
        email=table.get("email", str, required=True),
        ou=ou,
        status=table.choice("status", ACCOUNT_STATUSES, "ACTIVE"),
        role_assumable=table.get("role_assumable", bool, True),
        root_mfa=table.get("root_mfa", bool, True),
        root_password=table.get("root_password", bool, True),
        root_access_keys=table.get("root_access_keys", bool, False),
        root_signing_certificates=table.get("root_signing_certificates", bool, False),
        default_vpc=table.get("default_vpc", bool, True),
    )
    if account.root_mfa and not (account.root_password or account.root_access_keys or account.root_signing_certificates):
        # AWS deactivates the root user's MFA when its credentials are deleted (IAM User Guide, "AWS account root user").
        raise table.place.child("root_mfa").fail("a root user without password, access keys or signing certificates has no MFA: set root_mfa = false")
    if "@" not in account.email:
        raise table.place.child("email").fail(f"{account.email!r} is not an email address")
    for index, key_table in enumerate(table.tables("kms_keys")):
        account.kms_keys.append(_read_key(key_table, account_id, regions, index))
    for guru_table in table.tables("devops_guru"):
        account.devops_guru.append(_read_devops_guru(guru_table, regions))
    seen_guru_regions = set()
    for index, setup in enumerate(account.devops_guru):
        if setup.region in seen_guru_regions:
            raise table.place.child("devops_guru").child(index).child("region").fail(f"DevOps Guru in {setup.region} is already declared")
        seen_guru_regions.add(setup.region)
    for vpc_table in table.tables("vpcs"):
        account.vpcs.append(_read_vpc(vpc_table, regions, account_id))
    for zone_table in table.tables("hosted_zones"):
        zone = HostedZone(name=_dns_name(zone_table, "name"), region=_region(zone_table, regions))
        if any(existing.name == zone.name for existing in account.hosted_zones):
            raise zone_table.place.child("name").fail(f"a hosted zone {zone.name} is already declared in this account")
        if not account.default_vpc and not any(vpc.region == zone.region for vpc in account.vpcs):
            raise zone_table.place.child("region").fail(f"a private hosted zone is created with a VPC of its account: declare one in {zone.region}")
        zone_table.finish()
        account.hosted_zones.append(zone)
    for rule_table in table.tables("resolver_rules"):
        account.resolver_rules.append(_read_resolver_rule(rule_table, regions, account))
    for trail_table in table.tables("trails"):
        account.trails.append(_read_trail(trail_table, regions))
    for store_table in table.tables("event_data_stores"):
        account.event_data_stores.append(_read_event_data_store(store_table, regions))
    for role_table in table.tables("iam_roles"):
        account.iam_roles.append(_read_principal(role_table))
    for user_table in table.tables("iam_users"):
        account.iam_users.append(_read_user(user_table))
    for topic_table in table.tables("sns_topics"):
        account.sns_topics.append(_read_topic(topic_table, regions))
    for destination_table in table.tables("api_destinations"):
        account.api_destinations.append(
            ApiDestination(
                name=destination_table.get("name", str, required=True),
                region=_region(destination_table, regions),
                url=destination_table.get("url", str, required=True),
                connection=destination_table.get("connection", str, ""),
                http_method=destination_table.choice("http_method", ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"), "POST"),
            )
        )
        destination_table.finish()
    for bucket_table in table.tables("s3_buckets"):
        account.s3_buckets.append(
            Bucket(name=bucket_table.get("name", str, required=True), region=_region(bucket_table, regions), tags=bucket_table.tags())
        )
        bucket_table.finish()
    for macie_table in table.tables("macie"):
        session = MacieSession(region=_region(macie_table, regions), status=macie_table.choice("status", MACIE_STATUSES, "ENABLED"))
        if any(existing.region == session.region for existing in account.macie):
            raise macie_table.place.child("region").fail(f"Macie in {session.region} is already declared")
        account.macie.append(session)
        macie_table.finish()
    for stack_table in table.tables("cloudformation_stacks"):
        stack = CloudFormationStack(name=stack_table.get("name", str, required=True), region=_region(stack_table, regions),
                                    description=stack_table.get("description", str, ""))
        if not STACK_NAME.fullmatch(stack.name):
            raise stack_table.place.child("name").fail(f"{stack.name!r} is not a stack name (a letter, then letters, digits and hyphens; at most 128)")
        if len(stack.description) > 1024:
            raise stack_table.place.child("description").fail("a template Description is at most 1024 characters")
        if any(existing.name == stack.name and existing.region == stack.region for existing in account.cloudformation_stacks):
            raise stack_table.place.child("name").fail(f"stack {stack.name} in {stack.region} is already declared")
        account.cloudformation_stacks.append(stack)
        stack_table.finish()
    table.finish()
    return account


def _read_key(table: _Table, account_id: str, regions: tuple[str, ...], index: int) -> KmsKey:
    region = _region(table, regions)
    multi_region = table.get("multi_region", bool, False)
    key_id = table.get("id", str, None) or _derived_key_id(account_id, region, index, multi_region)
    if not KEY_ID.match(key_id):
        raise table.place.child("id").fail(f"{key_id!r} is not a key id (a UUID, or mrk- and 32 hex digits)")
    if multi_region and not key_id.startswith("mrk-"):
        raise table.place.child("id").fail("multi-Region key ids start with mrk-")
    aliases = table.strings("aliases")
    for alias_index, alias in enumerate(aliases):
        if not re.fullmatch(r"alias/[a-zA-Z0-9/_-]+", alias):
            raise table.place.child("aliases").child(alias_index).fail(f"{alias!r} is not an alias name like alias/my-key")
    manager = table.choice("manager", KEY_MANAGERS, "CUSTOMER")
    if manager == "CUSTOMER" and any(alias.startswith("alias/aws/") for alias in aliases):
        raise table.place.child("aliases").fail("alias/aws/ names are reserved for AWS managed keys (set manager = \"AWS\")")
    replicas = table.strings("replica_regions")
    for replica_index, replica in enumerate(replicas):
        if replica not in regions or replica == region:
            raise table.place.child("replica_regions").child(replica_index).fail(f"{replica!r} is not another of the organization's regions")
    if replicas and not multi_region:
        raise table.place.child("replica_regions").fail("only multi-Region keys have replicas")
    key = KmsKey(
        id=key_id,
        region=region,
        description=table.get("description", str, ""),
        policy=table.policy("policy"),
        rotation=table.get("rotation", bool, False),
        state=table.choice("state", KEY_STATES, "Enabled"),
        spec=table.choice("spec", KEY_SPECS, "SYMMETRIC_DEFAULT"),
        usage=table.choice("usage", KEY_USAGES, "ENCRYPT_DECRYPT"),
        multi_region=multi_region,
        replica_regions=replicas,
        manager=manager,
        aliases=aliases,
        tags=table.tags(),
        origin=table.choice("origin", KEY_ORIGINS, "AWS_KMS"),
    )
    _check_key_origin(key, table.place)
    # A raw policy is kept as written, even when it is not JSON: malformed policies are a test case.
    raw = table.get("policy_text", str, None)
    if raw is not None:
        if key.policy is not None:
            raise table.place.child("policy_text").fail("give either policy or policy_text, not both")
        key.policy = raw
    table.finish()
    return key


def _check_key_origin(key: KmsKey, place: _Place) -> None:
    """Refuse combinations of origin, state and settings that KMS itself does not allow."""
    if key.state == "PendingImport" and key.origin != "EXTERNAL":
        raise place.child("state").fail("only keys with origin = \"EXTERNAL\" (imported key material) can be PendingImport")
    if key.state == "Unavailable" and key.origin not in CUSTOM_KEY_STORE_ORIGINS:
        raise place.child("state").fail(
            f"only keys of a custom key store (origin {' or '.join(CUSTOM_KEY_STORE_ORIGINS)}) can be Unavailable"
        )
    if key.origin == "AWS_KMS":
        return
    if key.manager == "AWS":
        raise place.child("origin").fail("AWS managed keys have origin AWS_KMS")
    if key.rotation:
        raise place.child("rotation").fail(f"KMS does not rotate keys with origin {key.origin} automatically")
    if key.origin in CUSTOM_KEY_STORE_ORIGINS and (key.spec != "SYMMETRIC_DEFAULT" or key.multi_region):
        raise place.child("origin").fail("custom key stores hold single-Region symmetric encryption keys only")


def _derived_key_id(account_id: str, region: str, index: int, multi_region: bool) -> str:
    """A key id that stays the same across runs, so ARNs and result fingerprints are stable."""
    import uuid

    value = uuid.uuid5(uuid.NAMESPACE_URL, f"orgscan-simulator:{account_id}:{region}:key:{index}")
    return f"mrk-{value.hex}" if multi_region else str(value)


def _read_devops_guru(table: _Table, regions: tuple[str, ...]) -> DevOpsGuruSetup:
    setup = DevOpsGuruSetup(region=_region(table, regions))
    encryption = table.get("encryption", Mapping, None)
    if encryption is not None:
        enc = _Table(encryption, table.place.child("encryption"))
        setup.encryption_type = enc.choice("type", ENCRYPTION_TYPES, "AWS_OWNED_KMS_KEY")
        setup.encryption_opt_in = enc.choice("opt_in_status", OPT_IN, "ENABLED")
        setup.kms_key = enc.get("kms_key", str, None)
        enc.finish()
    omitted = table.strings("omit_fields")
    for index, name in enumerate(omitted):
        if name not in OMITTABLE_INTEGRATION_FIELDS:
            raise table.place.child("omit_fields").child(index).fail(f"{name!r} is not one of {', '.join(OMITTABLE_INTEGRATION_FIELDS)}")
    setup.omit_fields = omitted
    key_id_reported = not {"KMSServerSideEncryption", "KMSServerSideEncryption.KMSKeyId"} & set(omitted)
    if setup.encryption_type == "CUSTOMER_MANAGED_KEY" and not setup.kms_key and key_id_reported:
        raise table.place.child("encryption").child("kms_key").fail(
            "a customer managed key needs kms_key (key id, key ARN, alias name or alias ARN)"
        )
    setup.stacks = table.strings("stacks")
    tag_table = table.get("tags", Mapping, {})
    for key, values in tag_table.items():
        place = table.place.child("tags").child(key)
        if not key.lower().startswith("devops-guru-"):
            raise place.fail("DevOps Guru tag boundaries start with DevOps-Guru-")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise place.fail("expected a list of tag values")
        setup.tags[key] = tuple(values)
    setup.notification_topics = table.strings("notification_topics")
    setup.ops_center = table.choice("ops_center", OPT_IN, "DISABLED")
    setup.logs_anomaly_detection = table.choice("logs_anomaly_detection", OPT_IN, "DISABLED")
    setup.grant_revoked = table.get("grant_revoked", bool, False)
    operations = table.strings("grant_operations", setup.grant_operations)
    for index, operation in enumerate(operations):
        if operation not in GRANT_OPERATIONS:
            raise table.place.child("grant_operations").child(index).fail(f"{operation!r} is not a KMS grant operation")
    setup.grant_operations = operations
    table.finish()
    return setup


def _dns_name(table: _Table, key: str) -> str:
    """A DNS name as Route 53 and Resolver report it: lower case, ending with a dot."""
    name = table.get(key, str, required=True)
    labels = name.rstrip(".").split(".")
    if not name or len(name) > 255 or not all(re.fullmatch(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?", label) for label in labels):
        raise table.place.child(key).fail(f"{name!r} is not a DNS name")
    return name.rstrip(".").lower() + "."


def _dns_references(table: _Table, key: str, account_id: str) -> list[DnsReference]:
    references = []
    for item in table.tables(key):
        account = item.get("account", str, account_id)
        if not ACCOUNT_ID.fullmatch(account):
            raise item.place.child("account").fail(f"{account!r} is not a 12-digit account id")
        references.append(DnsReference(account, item.get("name", str, required=True)))
        item.finish()
    return references


def _read_resolver_rule(table: _Table, regions: tuple[str, ...], account: Account) -> ResolverRule:
    import ipaddress

    rule = ResolverRule(
        name=table.get("name", str, required=True),
        region=_region(table, regions),
        domain=_dns_name(table, "domain"),
        type=table.choice("type", RESOLVER_RULE_TYPES, "FORWARD"),
        target_ips=table.strings("target_ips"),
        status=table.choice("status", RESOLVER_RULE_STATES, "COMPLETE"),
        shared_with=table.strings("shared_with"),
    )
    if not re.fullmatch(r"[A-Za-z0-9_ -]{1,64}", rule.name) or rule.name.isdigit():
        raise table.place.child("name").fail(f"{rule.name!r} is not a Resolver rule name (letters, digits, - _ and spaces; at most 64)")
    if any(existing.name == rule.name and existing.region == rule.region for existing in account.resolver_rules):
        raise table.place.child("name").fail(f"a Resolver rule {rule.name} is already declared in {rule.region}")
    for index, address in enumerate(rule.target_ips):
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            raise table.place.child("target_ips").child(index).fail(f"{address!r} is not an IPv4 address") from None
    if rule.type == "FORWARD" and not rule.target_ips:
        raise table.place.child("target_ips").fail("a FORWARD rule forwards to at least one IP address")
    if rule.type == "SYSTEM" and rule.target_ips:
        raise table.place.child("target_ips").fail("a SYSTEM rule has no target IP addresses")
    for index, shared in enumerate(rule.shared_with):
        if not ACCOUNT_ID.fullmatch(shared) or shared == account.id:
            raise table.place.child("shared_with").child(index).fail(f"{shared!r} is not another account's 12-digit id")
    table.finish()
    return rule


def _read_vpc(table: _Table, regions: tuple[str, ...], account_id: str = "") -> Vpc:
    import ipaddress

    vpc = Vpc(region=_region(table, regions), default=table.get("default", bool, False))
    vpc.cidr = table.get("cidr", str, "172.31.0.0/16" if vpc.default else "10.0.0.0/16")
    try:
        network = ipaddress.IPv4Network(vpc.cidr)
    except ValueError as error:
        raise table.place.child("cidr").fail(f"not an IPv4 CIDR ({error})") from None
    vpc.subnets = table.strings("subnets", () if vpc.default else ("10.0.1.0/24",))
    for index, subnet in enumerate(vpc.subnets):
        try:
            subnet_network = ipaddress.IPv4Network(subnet)
        except ValueError as error:
            raise table.place.child("subnets").child(index).fail(f"not an IPv4 CIDR ({error})") from None
        if not subnet_network.subnet_of(network):
            raise table.place.child("subnets").child(index).fail(f"{subnet} is not inside the VPC's {vpc.cidr}")
    vpc.tags = table.tags()
    for endpoint_table in table.tables("endpoints"):
        endpoint = VpcEndpoint(
            service=endpoint_table.get("service", str, required=True),
            type=endpoint_table.choice("type", ENDPOINT_TYPES, "Interface"),
            state=endpoint_table.choice("state", ENDPOINT_STATES, "available"),
            private_dns=endpoint_table.get("private_dns", bool, True),
            policy=endpoint_table.policy("policy"),
            tags=endpoint_table.tags(),
            without_policy=endpoint_table.get("without_policy", bool, False),
        )
        if endpoint.without_policy and endpoint.policy is not None:
            raise endpoint_table.place.child("without_policy").fail("give either policy or without_policy, not both")
        endpoint_table.finish()
        vpc.endpoints.append(endpoint)
    vpc.hosted_zones = _dns_references(table, "hosted_zones", account_id)
    vpc.resolver_rules = _dns_references(table, "resolver_rules", account_id)
    table.finish()
    return vpc


def _read_trail(table: _Table, regions: tuple[str, ...]) -> Trail:
    name = table.get("name", str, required=True)
    if not re.fullmatch(r"[0-9a-zA-Z][.\-_0-9a-zA-Z]{1,126}[0-9a-zA-Z]", name):
        raise table.place.child("name").fail(f"{name!r} is not a trail name (3-128 letters, digits, . _ -)")
    trail = Trail(
        name=name,
        region=_region(table, regions),
        multi_region=table.get("multi_region", bool, True),
        logging=table.get("logging", bool, True),
        log_file_validation=table.get("log_file_validation", bool, True),
        kms_key_id=table.get("kms_key_id", str, None),
        organization=table.get("organization", bool, False),
        include_global_events=table.get("include_global_events", bool, True),
        bucket=table.get("bucket", str, None),
        tags=table.tags(),
    )
    if trail.organization and not trail.multi_region:
        raise table.place.child("multi_region").fail("an organization trail must be multi-Region in this simulator")
    for index, selector in enumerate(table.get("event_selectors", list, [])):
        trail.event_selectors.append(_read_selector(selector, table.place.child("event_selectors").child(index), basic=True))
    for index, selector in enumerate(table.get("advanced_event_selectors", list, [])):
        trail.advanced_event_selectors.append(_read_selector(selector, table.place.child("advanced_event_selectors").child(index), basic=False))
    if trail.event_selectors and trail.advanced_event_selectors:
        raise table.place.child("advanced_event_selectors").fail("a trail has basic or advanced event selectors, not both")
    table.finish()
    return trail


def _read_event_data_store(table: _Table, regions: tuple[str, ...]) -> EventDataStore:
    name = table.get("name", str, required=True)
    if not re.fullmatch(r"[a-zA-Z0-9._\-]{3,128}", name):
        raise table.place.child("name").fail(f"{name!r} is not an event data store name (3-128 letters, digits, . _ -)")
    store = EventDataStore(
        name=name,
        region=_region(table, regions),
        organization=table.get("organization", bool, False),
        multi_region=table.get("multi_region", bool, True),
        status=table.get("status", str, "ENABLED"),
    )
    if store.status not in EVENT_DATA_STORE_STATES:
        raise table.place.child("status").fail(f"{store.status!r} is not one of {', '.join(EVENT_DATA_STORE_STATES)}")
    for index, selector in enumerate(table.get("advanced_event_selectors", list, [])):
        store.advanced_event_selectors.append(_read_selector(selector, table.place.child("advanced_event_selectors").child(index), basic=False))
    table.finish()
    return store


_BASIC_SELECTOR_KEYS = {"ReadWriteType", "IncludeManagementEvents", "DataResources", "ExcludeManagementEventSources"}
_ADVANCED_SELECTOR_KEYS = {"Name", "FieldSelectors"}
_FIELD_SELECTOR_KEYS = {"Field", "Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith"}


def _read_selector(selector: Any, place: _Place, basic: bool) -> dict[str, Any]:
    """An event selector in the CloudTrail API's own shape (keys as in PutEventSelectors)."""
    if not isinstance(selector, Mapping):
        raise place.fail("expected a table")
    allowed = _BASIC_SELECTOR_KEYS if basic else _ADVANCED_SELECTOR_KEYS
    for key in selector:
        if key not in allowed:
            raise place.child(key).fail(f"unknown key (known: {', '.join(sorted(allowed))})")
    if basic:
        read_write = selector.get("ReadWriteType", "All")
        if read_write not in ("ReadOnly", "WriteOnly", "All"):
            raise place.child("ReadWriteType").fail(f"{read_write!r} is not one of ReadOnly, WriteOnly, All")
        return {"ReadWriteType": read_write, "IncludeManagementEvents": bool(selector.get("IncludeManagementEvents", True)),
                "DataResources": list(selector.get("DataResources", [])),
                "ExcludeManagementEventSources": list(selector.get("ExcludeManagementEventSources", []))}
    fields = selector.get("FieldSelectors")
    if not isinstance(fields, list) or not fields:
        raise place.child("FieldSelectors").fail("an advanced event selector needs FieldSelectors")
    for index, field_selector in enumerate(fields):
        if not isinstance(field_selector, Mapping) or "Field" not in field_selector:
            raise place.child("FieldSelectors").child(index).fail("each field selector needs Field")
        for key in field_selector:
            if key not in _FIELD_SELECTOR_KEYS:
                raise place.child("FieldSelectors").child(index).child(key).fail(f"unknown key (known: {', '.join(sorted(_FIELD_SELECTOR_KEYS))})")
    return dict(selector)


def _read_principal(table: _Table) -> IamPrincipal:
    principal = IamPrincipal(name=table.get("name", str, required=True), description=table.get("description", str, ""), tags=table.tags())
    if not re.fullmatch(r"[\w+=,.@-]{1,64}", principal.name):
        raise table.place.child("name").fail(f"{principal.name!r} is not an IAM name (1-64 of letters, digits and +=,.@_-)")
    table.finish()
    return principal


def _read_user(table: _Table) -> IamUser:
    user = IamUser(
        name=table.get("name", str, required=True),
        tags=table.tags(),
        console_password=table.get("console_password", bool, False),
        mfa_devices=table.get("mfa_devices", int, 0),
    )
    if not re.fullmatch(r"[\w+=,.@-]{1,64}", user.name):
        raise table.place.child("name").fail(f"{user.name!r} is not an IAM name (1-64 of letters, digits and +=,.@_-)")
    # IAM quotas: at most 8 MFA devices and 2 access keys per user.
    if not 0 <= user.mfa_devices <= 8:
        raise table.place.child("mfa_devices").fail("an IAM user has 0 to 8 MFA devices")
    keys = table.tables("access_keys")
    if len(keys) > 2:
        raise table.place.child("access_keys").fail("an IAM user has at most 2 access keys")
    for key_table in keys:
        key = UserAccessKey(
            status=key_table.choice("status", ACCESS_KEY_STATUSES, "Active"),
            age_days=key_table.get("age_days", int, 0),
            last_used_days_ago=key_table.get("last_used_days_ago", int, None),
        )
        if key.age_days < 0:
            raise key_table.place.child("age_days").fail("a key's age is 0 or more days")
        if key.last_used_days_ago is not None and not 0 <= key.last_used_days_ago <= key.age_days:
            raise key_table.place.child("last_used_days_ago").fail("a key is last used between its creation and now (0 to age_days)")
        key_table.finish()
        user.access_keys.append(key)
    table.finish()
    return user


def _read_topic(table: _Table, regions: tuple[str, ...]) -> SnsTopic:
    topic = SnsTopic(
        name=table.get("name", str, required=True),
        region=_region(table, regions),
        tags=table.tags(),
        kms_key=table.get("kms_key", str),
        policy=table.policy("policy"),
    )
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", topic.name):
        raise table.place.child("name").fail(f"{topic.name!r} is not an SNS topic name")
    for sub_table in table.tables("subscriptions"):
        topic.subscriptions.append(
            Subscription(protocol=sub_table.choice("protocol", SUBSCRIPTION_PROTOCOLS, required=True), endpoint=sub_table.get("endpoint", str, required=True))
        )
        sub_table.finish()
    table.finish()
    return topic


def _check_dns_references(accounts: list[Account], place: _Place) -> None:
    """Every zone and rule a VPC names exists; another account's rule must be shared with the VPC's account."""
    by_id = {account.id: account for account in accounts}
    for account_index, account in enumerate(accounts):
        for vpc_index, vpc in enumerate(account.vpcs):
            where = place.child("accounts").child(account_index).child("vpcs").child(vpc_index)
            for index, zone in enumerate(vpc.hosted_zones):
                owner = by_id.get(zone.account)
                name = zone.name.rstrip(".").lower() + "."
                if owner is None or not any(z.name == name for z in owner.hosted_zones):
                    raise where.child("hosted_zones").child(index).fail(f"account {zone.account} declares no hosted zone {name}")
            for index, reference in enumerate(vpc.resolver_rules):
                owner = by_id.get(reference.account)
                rule = next((r for r in owner.resolver_rules if r.name == reference.name and r.region == vpc.region), None) if owner else None
                if rule is None:
                    raise where.child("resolver_rules").child(index).fail(
                        f"account {reference.account} declares no Resolver rule {reference.name!r} in {vpc.region}")
                if reference.account != account.id and account.id not in rule.shared_with:
                    raise where.child("resolver_rules").child(index).fail(
                        f"Resolver rule {reference.name!r} of account {reference.account} is not shared with {account.id} (shared_with)")


def _check_key_ids_unique(accounts: list[Account], place: _Place) -> None:
    seen: dict[tuple[str, str, str], str] = {}
    for account_index, account in enumerate(accounts):
        for key_index, key in enumerate(account.kms_keys):
            where = f"accounts[{account_index}].kms_keys[{key_index}]"
            for region in (key.region, *key.replica_regions):
                identity = (account.id, region, key.id)
                if identity in seen:
                    raise _Place(place.source, f"{where}.id").fail(f"key {key.id} is already declared at {seen[identity]}")
                seen[identity] = where
            for alias in key.aliases:
                alias_identity = (account.id, key.region, alias)
                if alias_identity in seen:
                    raise _Place(place.source, f"{where}.aliases").fail(f"{alias} is already used at {seen[alias_identity]}")
                seen[alias_identity] = where


# -- shipped scenarios ----------------------------------------------------------------------------

SCENARIO_DIR = Path(__file__).parent / "scenarios"


def default_scenario() -> Scenario:
    """The demo organization shipped with orgscan (``scenarios/default.toml``)."""
    return load_scenario(SCENARIO_DIR / "default.toml")
