"""DevOps Guru facts read once per account and region and shared by the ``devopsguru_*`` checks.

DescribeServiceIntegration and GetResourceCollection go through ``ctx.aws``
with the same parameters in every check, so the cache makes each call once
per target. The configured key is resolved the same way in every key check.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from checks.kms.gather import KeyFacts, describe_key
from checks.kms_aliases import AWS_MANAGED_ALIAS_PREFIX, aliases_by_key, aws_managed

from scanner.errors import AccessDenied, AwsError, MalformedResponse
from scanner.model import Finding, Status

DESCRIBE_SERVICE_INTEGRATION = "devops-guru:DescribeServiceIntegration"
DESCRIBE_VPC_ENDPOINTS = "ec2:DescribeVpcEndpoints"
GET_RESOURCE_COLLECTION = "devops-guru:GetResourceCollection"
#: Every devopsguru_* check first asks whether DevOps Guru is in use at all.
USAGE_ACTIONS = (GET_RESOURCE_COLLECTION,)

INTEGRATION_RESOURCE_ID = "devops-guru-service-integration"
INTEGRATION_RESOURCE_TYPE = "AWS::DevOpsGuru::ServiceIntegration"

_OPT_IN_STATUSES = frozenset({"ENABLED", "DISABLED"})
_ENCRYPTION_TYPES = frozenset({"CUSTOMER_MANAGED_KEY", "AWS_OWNED_KMS_KEY"})

#: Remediation shared by the checks that end with "configure a usable customer managed key".
UPDATE_INTEGRATION_CLI = (
    "aws devops-guru update-service-integration --region <region> --service-integration "
    "'{\"KMSServerSideEncryption\": {\"OptInStatus\": \"ENABLED\", \"Type\": \"CUSTOMER_MANAGED_KEY\", "
    "\"KMSKeyId\": \"arn:aws:kms:<region>:<account-id>:key/<key-id>\"}}'"
)


@dataclass(frozen=True)
class Usage:
    """Whether DevOps Guru analyses anything here: CloudFormation stacks or tag boundaries."""

    in_use: bool
    stack_names: tuple[str, ...] = ()
    tag_boundaries: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def evidence(self) -> dict[str, Any]:
        return {
            "cloudformation_stacks": list(self.stack_names[:20]),
            "cloudformation_stack_count": len(self.stack_names),
            "tag_boundaries": {k: list(v[:20]) for k, v in self.tag_boundaries.items()},
        }


def _resource_collection_pages(ctx, collection_type: str) -> list[Mapping[str, Any]]:
    pages = ctx.aws.pages("devops-guru", "get_resource_collection", ResourceCollectionType=collection_type)
    collections = []
    for page in pages:
        collection = page.get("ResourceCollection", {}) if isinstance(page, Mapping) else None
        if collection is None:
            collection = {}
        if not isinstance(collection, Mapping):
            raise MalformedResponse(f"GetResourceCollection({collection_type}): ResourceCollection is not an object")
        collections.append(collection)
    return collections


def devops_guru_usage(ctx) -> Usage:
    """:class:`Usage` from GetResourceCollection (CloudFormation first; tags only when no stack is analysed)."""
    stacks: list[str] = []
    for collection in _resource_collection_pages(ctx, "AWS_CLOUD_FORMATION"):
        cloudformation = collection.get("CloudFormation") or {}
        names = cloudformation.get("StackNames", []) if isinstance(cloudformation, Mapping) else None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise MalformedResponse("GetResourceCollection(AWS_CLOUD_FORMATION): CloudFormation.StackNames is not a list of names")
        stacks.extend(names)
    if stacks:
        return Usage(True, tuple(stacks))
    boundaries: dict[str, tuple[str, ...]] = {}
    for collection in _resource_collection_pages(ctx, "AWS_TAGS"):
        tags = collection.get("Tags", [])
        if tags is None:
            tags = []
        if not isinstance(tags, list):
            raise MalformedResponse("GetResourceCollection(AWS_TAGS): Tags is not a list")
        for entry in tags:
            key = entry.get("AppBoundaryKey") if isinstance(entry, Mapping) else None
            values = entry.get("TagValues", []) if isinstance(entry, Mapping) else None
            if not isinstance(key, str) or not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise MalformedResponse("GetResourceCollection(AWS_TAGS): a tag boundary has no AppBoundaryKey or TagValues list")
            if values:
                boundaries[key] = boundaries.get(key, ()) + tuple(values)
    return Usage(bool(boundaries), (), boundaries)


def not_in_use_finding(usage: Usage, resource_id: str = INTEGRATION_RESOURCE_ID) -> Finding:
    return Finding(
        Status.NOT_APPLICABLE,
        resource_id=resource_id,
        resource_type=INTEGRATION_RESOURCE_TYPE,
        message="DevOps Guru is not in use here: its resource collection has no CloudFormation stacks and no tag boundaries",
        evidence=usage.evidence(),
    )


@dataclass(frozen=True)
class EncryptionSetting:
    """``ServiceIntegration.KMSServerSideEncryption`` as read; missing fields mean the AWS owned key."""

    opt_in_status: str | None
    type: str | None
    key_ref: str | None

    @property
    def uses_customer_managed_key(self) -> bool:
        return self.opt_in_status == "ENABLED" and self.type == "CUSTOMER_MANAGED_KEY" and bool(self.key_ref)

    def evidence(self) -> dict[str, Any]:
        return {
            "KMSServerSideEncryption.OptInStatus": self.opt_in_status,
            "KMSServerSideEncryption.Type": self.type,
            "KMSServerSideEncryption.KMSKeyId": self.key_ref,
        }


def encryption_setting(ctx) -> EncryptionSetting:
    """The service integration's KMS setting (DescribeServiceIntegration); unknown enum values are malformed."""
    response = ctx.aws.call("devops-guru", "describe_service_integration")
    integration = response.get("ServiceIntegration") if isinstance(response, Mapping) else None
    if integration is None:
        integration = {}
    if not isinstance(integration, Mapping):
        raise MalformedResponse("DescribeServiceIntegration: ServiceIntegration is not an object")
    kms = integration.get("KMSServerSideEncryption")
    if kms is None:
        return EncryptionSetting(None, None, None)
    if not isinstance(kms, Mapping):
        raise MalformedResponse("DescribeServiceIntegration: KMSServerSideEncryption is not an object")
    opt_in, kind, key = kms.get("OptInStatus"), kms.get("Type"), kms.get("KMSKeyId")
    if opt_in is not None and opt_in not in _OPT_IN_STATUSES:
        raise MalformedResponse(f"DescribeServiceIntegration: unknown KMSServerSideEncryption.OptInStatus {opt_in!r:.40}")
    if kind is not None and kind not in _ENCRYPTION_TYPES:
        raise MalformedResponse(f"DescribeServiceIntegration: unknown KMSServerSideEncryption.Type {kind!r:.40}")
    if key is not None and not isinstance(key, str):
        raise MalformedResponse("DescribeServiceIntegration: KMSServerSideEncryption.KMSKeyId is not a string")
    return EncryptionSetting(opt_in, kind, key or None)


@dataclass(frozen=True)
class KeyRef:
    """Where a KMSKeyId points: account, region, and a key id or alias name."""

    raw: str
    partition: str
    account_id: str
    region: str
    kind: str  # "key" | "alias"
    name: str  # key id, or "alias/..." name

    @property
    def arn(self) -> str:
        resource = f"key/{self.name}" if self.kind == "key" else self.name
        return f"arn:{self.partition}:kms:{self.region}:{self.account_id}:{resource}"

    def in_region(self, region: str) -> "KeyRef":
        return KeyRef(self.raw, self.partition, self.account_id, region, self.kind, self.name)


def parse_key_ref(raw: str, ctx) -> KeyRef:
    """A :class:`KeyRef` for a key id, key ARN, alias name or alias ARN; ids and names are this account's and region's."""
    if raw.startswith("arn:"):
        parts = raw.split(":", 5)
        if len(parts) != 6 or parts[2] != "kms" or not parts[3] or not parts[4]:
            raise MalformedResponse(f"KMSKeyId {raw!r:.120} is not a KMS key or alias ARN")
        resource = parts[5]
        if resource.startswith("key/") and len(resource) > 4:
            return KeyRef(raw, parts[1], parts[4], parts[3], "key", resource[4:])
        if resource.startswith("alias/") and len(resource) > 6:
            return KeyRef(raw, parts[1], parts[4], parts[3], "alias", resource)
        raise MalformedResponse(f"KMSKeyId {raw!r:.120} names neither a key nor an alias")
    if raw.startswith("alias/") and len(raw) > 6:
        return KeyRef(raw, ctx.partition, ctx.account_id, ctx.region, "alias", raw)
    if "/" in raw or ":" in raw or not raw.strip():
        raise MalformedResponse(f"KMSKeyId {raw!r:.120} is not a key id, key ARN, alias name or alias ARN")
    return KeyRef(raw, ctx.partition, ctx.account_id, ctx.region, "key", raw)


@dataclass(frozen=True)
class ConfiguredKey:
    """The key DevOps Guru is configured with, resolved in this account and region.

    Exactly one outcome: ``facts`` (the key was read), ``missing`` (it does not
    exist here: a FAIL for the key checks) or ``unreadable`` (it could not be
    read, e.g. another account's key: ERROR, never PASS).
    """

    ref: KeyRef
    facts: KeyFacts | None = None
    aliases: tuple[str, ...] = ()
    missing: str | None = None
    unreadable: str | None = None
    note: str | None = None

    @property
    def resource_arn(self) -> str:
        return self.facts.arn if self.facts else self.ref.arn

    @property
    def aws_managed(self) -> bool:
        if self.ref.kind == "alias" and self.ref.name.startswith(AWS_MANAGED_ALIAS_PREFIX):
            return True
        if self.facts is None:
            return False
        return self.facts.key_manager == "AWS" or aws_managed(self.aliases)

    def evidence(self) -> dict[str, Any]:
        data: dict[str, Any] = {"KMSKeyId": self.ref.raw, "key_account": self.ref.account_id, "key_region": self.ref.region}
        if self.facts:
            data.update(
                {
                    "key_arn": self.facts.arn,
                    "KeyState": self.facts.key_state,
                    "KeyManager": self.facts.key_manager,
                    "KeySpec": self.facts.key_spec,
                    "KeyUsage": self.facts.key_usage,
                    "Origin": self.facts.origin,
                    "MultiRegionKeyType": self.facts.multi_region_type,
                }
            )
            if self.aliases:
                data["aliases"] = list(self.aliases)
        if self.note:
            data["note"] = self.note
        return data


def _describe(ctx, ref: KeyRef, key_ref: str, region: str) -> ConfiguredKey:
    other_account = ref.account_id != ctx.account_id
    try:
        facts = describe_key(ctx, key_ref, region=region)
    except AccessDenied as error:
        where = f"key {ref.raw} in account {ref.account_id}" if other_account else f"key {ref.raw}"
        return ConfiguredKey(ref, unreadable=f"cannot read {where}: {error}")
    except AwsError as error:
        if error.code == "NotFoundException" and not other_account:
            return ConfiguredKey(ref, missing=f"key {ref.raw} does not exist in {region} ({error.code})")
        if other_account:
            return ConfiguredKey(
                ref,
                unreadable=(
                    f"key {ref.raw} is in account {ref.account_id} and cannot be read from account {ctx.account_id}: {error}; "
                    "scan that account, or allow kms:DescribeKey to this account in the key policy"
                ),
            )
        return ConfiguredKey(ref, unreadable=f"cannot read key {ref.raw}: {error}")
    aliases: tuple[str, ...] = ()
    if facts.account_id == ctx.account_id and facts.region == ctx.region:
        aliases = tuple(aliases_by_key(ctx).get(facts.key_id, ()))
    return ConfiguredKey(ref, facts=facts, aliases=aliases)


def resolve_configured_key(ctx, setting: EncryptionSetting) -> ConfiguredKey:
    """The configured key, resolved (aliases followed); a key ARN of another region is a key DevOps Guru cannot use here.

    A multi-Region key configured by its ARN in another region counts as that region's key, not as its replica
    here: AWS documents that services encrypting at rest "treat multi-Region keys as though they were single-Region
    keys" (KMS Developer Guide, Multi-Region keys in AWS KMS), and DevOps Guru's API reference
    (KMSServerSideEncryptionIntegrationConfig) documents no exception. When a related replica exists here, the
    finding names its ARN, which is what DevOps Guru should be configured with.
    """
    assert setting.key_ref is not None
    ref = parse_key_ref(setting.key_ref, ctx)
    if ref.region != ctx.region:
        if ref.kind == "key" and ref.name.startswith("mrk-"):
            local = ref.in_region(ctx.region)
            replica = _describe(ctx, ref, local.arn, ctx.region)
            if replica.facts is not None:
                return ConfiguredKey(
                    ref,
                    missing=(
                        f"multi-Region key {ref.raw} is configured by its {ref.region} ARN: DevOps Guru uses the key that ARN "
                        f"names, in {ref.region}, not its replica here (AWS services treat multi-Region keys as single-Region "
                        f"keys); configure the replica of this region, {replica.facts.arn}"
                    ),
                    note=f"a related multi-Region key exists in {ctx.region}: {replica.facts.arn}",
                )
            if replica.missing:
                return ConfiguredKey(ref, missing=f"multi-Region key {ref.raw} is in {ref.region} and has no replica in {ctx.region}")
            return replica
        return ConfiguredKey(ref, missing=f"key {ref.raw} is in {ref.region}, not in {ctx.region}")
    return _describe(ctx, ref, ref.raw, ctx.region)


def integration_error(message: str) -> Finding:
    return Finding(Status.ERROR, resource_id=INTEGRATION_RESOURCE_ID, resource_type=INTEGRATION_RESOURCE_TYPE, message=message)


def configured_key_or_finding(ctx) -> ConfiguredKey | Finding:
    """The configured key for the key checks, or the one finding that ends the check first.

    NOT_APPLICABLE when DevOps Guru is not in use or uses the AWS owned key
    (``devopsguru_cmk_enabled`` reports that); ERROR when a read is denied or fails
    (the message names the IAM action) or a response is malformed.
    """
    try:
        usage = devops_guru_usage(ctx)
        if not usage.in_use:
            return not_in_use_finding(usage)
        setting = encryption_setting(ctx)
        if not setting.uses_customer_managed_key:
            return Finding(
                Status.NOT_APPLICABLE,
                resource_id=INTEGRATION_RESOURCE_ID,
                resource_type=INTEGRATION_RESOURCE_TYPE,
                message="DevOps Guru uses the AWS owned key here, so there is no customer managed key to judge (see devopsguru_cmk_enabled)",
                evidence=setting.evidence(),
            )
        return resolve_configured_key(ctx, setting)
    except (MalformedResponse, AwsError) as error:
        return integration_error(str(error))


def customer_managed_key_or_finding(ctx, *, when_missing: str, when_aws_managed: str) -> ConfiguredKey | Finding:
    """The configured key when a key-policy or rotation check can judge it, or the finding that ends the check.

    On top of :func:`configured_key_or_finding`: ERROR when the key cannot be
    read, FAIL (``"<when_missing>: <why>"``) when it does not exist, and
    NOT_APPLICABLE (``when_aws_managed``) for an AWS managed key, which those
    checks never judge (``devopsguru_cmk_key_usable`` fails it).
    """
    key = configured_key_or_finding(ctx)
    if isinstance(key, Finding):
        return key
    arn = key.resource_arn
    if key.unreadable:
        return Finding(Status.ERROR, resource_id=arn, resource_arn=arn, message=key.unreadable, evidence=key.evidence())
    if key.missing:
        return Finding(Status.FAIL, resource_id=arn, resource_arn=arn, message=f"{when_missing}: {key.missing}", evidence=key.evidence())
    if key.aws_managed:
        return Finding(Status.NOT_APPLICABLE, resource_id=arn, resource_arn=arn, message=when_aws_managed, evidence=key.evidence())
    return key


def devops_guru_service_name(region: str) -> str:
    return f"com.amazonaws.{region}.devops-guru"


def devops_guru_endpoints(ctx) -> list[Mapping[str, Any]]:
    """Every VPC endpoint of this region for DevOps Guru (DescribeVpcEndpoints, every page, filtered here)."""
    service = devops_guru_service_name(ctx.region)
    endpoints = []
    for endpoint in ctx.aws.collect("ec2", "describe_vpc_endpoints", "VpcEndpoints"):
        if not isinstance(endpoint, Mapping):
            raise MalformedResponse("DescribeVpcEndpoints: an endpoint is not an object")
        if endpoint.get("ServiceName") != service:
            continue
        if not isinstance(endpoint.get("VpcEndpointId"), str) or not isinstance(endpoint.get("VpcId"), str):
            raise MalformedResponse("DescribeVpcEndpoints: a DevOps Guru endpoint has no VpcEndpointId or VpcId")
        endpoints.append(endpoint)
    return endpoints
