"""Gathering KMS facts once per account and region, for the KMS and DevOps Guru checks.

Every read goes through ``ctx.aws`` with the same parameters wherever it is
made, so the cache answers each question (ListKeys, ListAliases, DescribeKey
of one key, GetKeyPolicy of one key) once per target, however many checks ask.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from checks.kms_aliases import aliases_by_key, aws_managed
from checks.policy import Policy, PolicyError, parse_policy
from scanner.errors import AwsError, MalformedResponse
from scanner.findings import resource_error
from scanner.model import Finding, Status


KNOWN_KEY_STATES = frozenset(
    {"Creating", "Enabled", "Disabled", "PendingDeletion", "PendingImport", "PendingReplicaDeletion", "Unavailable", "Updating"}
)
KNOWN_KEY_MANAGERS = frozenset({"AWS", "CUSTOMER"})

#: IAM actions behind the helpers below, for the checks' declarations.
LIST_KEYS = "kms:ListKeys"
DESCRIBE_KEY = "kms:DescribeKey"
GET_KEY_POLICY = "kms:GetKeyPolicy"
GET_KEY_ROTATION_STATUS = "kms:GetKeyRotationStatus"


#: What a result names when the region's keys cannot be listed at all.
KEYS_OF_REGION = "kms-keys"


@dataclass(frozen=True)
class KeyFacts:
    """What DescribeKey says about one key, checked for shape."""

    key_id: str
    arn: str
    account_id: str
    key_state: str
    key_manager: str
    key_spec: str | None
    key_usage: str | None
    origin: str | None
    multi_region_type: str | None  # "PRIMARY" | "REPLICA" | None
    raw: Mapping[str, Any]

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]


def parse_key_metadata(response: Mapping[str, Any], asked_for: str) -> KeyFacts:
    """:class:`KeyFacts` from a DescribeKey answer; raises :class:`MalformedResponse` naming the bad field."""
    metadata = response.get("KeyMetadata") if isinstance(response, Mapping) else None
    where = f"DescribeKey({asked_for})"
    if not isinstance(metadata, Mapping):
        raise MalformedResponse(f"{where}: response has no KeyMetadata object")

    def text(name: str, required: bool = True) -> str | None:
        value = metadata.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise MalformedResponse(f"{where}: KeyMetadata.{name} is missing or not a string")
        return value

    arn = text("Arn")
    if len(arn.split(":")) < 6 or not arn.startswith("arn:"):
        raise MalformedResponse(f"{where}: KeyMetadata.Arn {arn!r:.80} is not an ARN")
    state = text("KeyState")
    if state not in KNOWN_KEY_STATES:
        raise MalformedResponse(f"{where}: unknown KeyMetadata.KeyState {state!r:.40}")
    manager = text("KeyManager")
    if manager not in KNOWN_KEY_MANAGERS:
        raise MalformedResponse(f"{where}: unknown KeyMetadata.KeyManager {manager!r:.40}")
    multi_region = metadata.get("MultiRegionConfiguration")
    multi_region_type = None
    if metadata.get("MultiRegion") is True:
        if not isinstance(multi_region, Mapping):
            raise MalformedResponse(f"{where}: MultiRegion key without MultiRegionConfiguration")
        multi_region_type = multi_region.get("MultiRegionKeyType")
        if multi_region_type not in ("PRIMARY", "REPLICA"):
            raise MalformedResponse(f"{where}: unknown MultiRegionConfiguration.MultiRegionKeyType {multi_region_type!r:.40}")
    return KeyFacts(
        key_id=text("KeyId"),
        arn=arn,
        account_id=text("AWSAccountId", required=False) or arn.split(":")[4],
        key_state=state,
        key_manager=manager,
        key_spec=text("KeySpec", required=False) or text("CustomerMasterKeySpec", required=False),
        key_usage=text("KeyUsage", required=False),
        origin=text("Origin", required=False),
        multi_region_type=multi_region_type,
        raw=metadata,
    )


def list_key_ids(ctx) -> list[str]:
    """Ids of every key of this account and region (ListKeys, every page)."""
    ids = []
    for entry in ctx.aws.collect("kms", "list_keys", "Keys"):
        key_id = entry.get("KeyId") if isinstance(entry, Mapping) else None
        if not isinstance(key_id, str) or not key_id:
            raise MalformedResponse("ListKeys: an entry has no KeyId")
        ids.append(key_id)
    return ids


def describe_key(ctx, key_ref: str, region: str | None = None) -> KeyFacts:
    """DescribeKey of a key id, key ARN, alias name or alias ARN (aliases resolve to their key)."""
    return parse_key_metadata(ctx.aws.call("kms", "describe_key", region=region, KeyId=key_ref), key_ref)


def key_policy_text(ctx, key_id: str) -> str:
    """The key policy document (GetKeyPolicy, policy name ``default``) as returned: JSON text, unparsed."""
    response = ctx.aws.call("kms", "get_key_policy", KeyId=key_id, PolicyName="default")
    policy = response.get("Policy")
    if not isinstance(policy, str):
        raise MalformedResponse(f"GetKeyPolicy({key_id}): response has no Policy text")
    return policy


@dataclass(frozen=True)
class KeyListing:
    """One key of the region as the key-policy checks see it: facts, or the reason they could not be read."""

    key_id: str
    arn: str
    facts: KeyFacts | None
    aliases: tuple[str, ...]
    error: str | None


def customer_managed_keys(ctx) -> Iterator[KeyListing]:
    """Every key of the region that is not AWS managed; a key whose DescribeKey fails comes with the error."""
    aliases = aliases_by_key(ctx)
    for key_id in list_key_ids(ctx):
        arn = f"arn:{ctx.partition}:kms:{ctx.region}:{ctx.account_id}:key/{key_id}"
        key_aliases = tuple(aliases.get(key_id, ()))
        if aws_managed(key_aliases):
            continue  # AWS managed, as its alias alone says (checks/kms_aliases.py): no DescribeKey needed
        try:
            facts = describe_key(ctx, key_id)
        except (AwsError, MalformedResponse) as error:
            yield KeyListing(key_id, arn, None, key_aliases, str(error))
            continue
        if facts.key_manager == "AWS":
            continue
        yield KeyListing(key_id, facts.arn, facts, key_aliases, None)


def customer_managed_key_policies(ctx) -> Iterator[tuple[KeyListing, Policy] | Finding]:
    """Each customer managed key of the region with its parsed policy, or the ERROR finding that says why not.

    Yields ``(listing, policy)`` pairs for keys whose policy can be judged and
    ``Finding`` objects (status ERROR) for the rest, so every key-policy check
    reports unreadable keys, listings and policies the same way.
    """
    try:
        keys = list(customer_managed_keys(ctx))
    except (AwsError, MalformedResponse) as error:
        yield Finding(Status.ERROR, resource_id=KEYS_OF_REGION, message=f"cannot list the region's keys: {error}")
        return
    for key in keys:
        if key.error:
            yield Finding(Status.ERROR, resource_id=key.arn, resource_arn=key.arn, message=f"cannot read key {key.key_id}: {key.error}")
            continue
        try:
            policy = parse_policy(key_policy_text(ctx, key.key_id))
        except (AwsError, MalformedResponse) as error:
            yield Finding(Status.ERROR, resource_id=key.arn, resource_arn=key.arn, message=f"cannot read the key policy: {error}")
            continue
        except PolicyError as error:
            yield Finding(Status.ERROR, resource_id=key.arn, resource_arn=key.arn, message=f"key policy cannot be judged: {error}")
            continue
        except Exception as error:  # noqa: BLE001 - any other failure with one key's policy is an ERROR for that key only
            yield resource_error(key.arn, error, resource_arn=key.arn, doing="key policy cannot be judged")
            continue
        yield key, policy


LIST_GRANTS = "kms:ListGrants"


@dataclass(frozen=True)
class GrantFacts:
    """One entry of ListGrants, checked for shape (botocore's kms model, ``GrantListEntry``)."""

    grant_id: str
    name: str | None
    grantee_principal: str | None
    grantee_service_principal: str | None
    retiring_principal: str | None
    issuing_account: str | None
    operations: tuple[str, ...]
    has_constraints: bool


def list_grants(ctx, key_arn: str, region: str | None = None) -> list[GrantFacts]:
    """Every grant on one key (ListGrants by key ARN, every page; works across accounts where the key policy allows)."""
    grants = []
    for entry in ctx.aws.collect("kms", "list_grants", "Grants", region=region, KeyId=key_arn):
        if not isinstance(entry, Mapping):
            raise MalformedResponse(f"ListGrants({key_arn}): an entry is not an object")
        grant_id = entry.get("GrantId")
        if not isinstance(grant_id, str) or not grant_id:
            raise MalformedResponse(f"ListGrants({key_arn}): an entry has no GrantId")
        operations = entry.get("Operations", [])
        if operations is None:
            operations = []
        if not isinstance(operations, list) or not all(isinstance(o, str) for o in operations):
            raise MalformedResponse(f"ListGrants({key_arn}): Operations of grant {grant_id:.80} is not a list of names")

        def text(name: str) -> str | None:
            value = entry.get(name)
            if value is not None and not isinstance(value, str):
                raise MalformedResponse(f"ListGrants({key_arn}): {name} of grant {grant_id:.80} is not a string")
            return value or None

        grants.append(
            GrantFacts(
                grant_id=grant_id,
                name=text("Name"),
                grantee_principal=text("GranteePrincipal"),
                grantee_service_principal=text("GranteeServicePrincipal"),
                retiring_principal=text("RetiringPrincipal"),
                issuing_account=text("IssuingAccount"),
                operations=tuple(operations),
                has_constraints=bool(entry.get("Constraints")),
            )
        )
    return grants
