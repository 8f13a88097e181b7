"""Gathering for the sensitive-data checks: tagged resources, free-form names, URLs given to services.

Every listing is paginated. Tags stream page by page (``AwsReader.stream``):
an account with tens of thousands of tagged resources is judged without
holding its tags in memory; only the ids already judged are remembered, so a
resource that two sources return (the tagging API and EC2 DescribeTags) is
judged once.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Iterator

from checks.kms_aliases import aliases_by_key, aws_managed
from checks.trails import own_trails_in_region

from scanner.errors import MalformedResponse

#: The region that judges IAM (a global service) when the context does not say
#: which region is the scan's first: IAM's home region per partition.
IAM_HOME_REGIONS = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-north-1"}
#: The ``iam_region`` option of the checks that judge IAM names and tags (a ``CheckMetadata.option_schemas`` entry).
IAM_REGION_OPTION_SCHEMA = {"type": "string", "minLength": 1}


def judges_iam(ctx: Any) -> bool:
    """True for exactly one region target per account: the one that judges IAM (global) resources.

    IAM is global, but the tag and name checks run per region; judging IAM in
    every region would repeat each IAM result once per region. The scan's first
    region judges it when the context carries the account's planned regions
    (``scan_regions``); otherwise the ``iam_region`` option, or IAM's home
    region of the partition (us-east-1 in ``aws``).
    """
    scan_regions = getattr(ctx, "scan_regions", None)
    if scan_regions:
        return ctx.region == scan_regions[0]
    options = {str(key).replace("-", "_"): value for key, value in ctx.options.items()}
    return ctx.region == options.get("iam_region", IAM_HOME_REGIONS.get(ctx.partition, "us-east-1"))


@dataclass(frozen=True)
class TaggedResource:
    """A resource and its tags as ``(key, value)`` pairs, from whichever API listed it."""

    arn: str
    tags: tuple[tuple[str, str], ...]
    source: str
    #: Why this resource's tags could not be read (its tags are then empty); the other resources are still judged.
    error: Exception | None = None


def _tagged(arn: str, tags: Any, source: str, key_name: str = "Key", value_name: str = "Value") -> TaggedResource:
    """The resource with its tags, or with the error that makes its tag list unreadable (an ERROR for it alone)."""
    try:
        return TaggedResource(arn, _tag_pairs(tags, key_name, value_name), source)
    except Exception as error:  # noqa: BLE001 - one malformed tag list never hides the other resources' tags
        return TaggedResource(arn, (), source, error)


def _tag_pairs(tags: Any, key_name: str, value_name: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(tags, list):
        raise MalformedResponse("tags are not a list")
    pairs = []
    for tag in tags:
        if not isinstance(tag, Mapping) or not isinstance(tag.get(key_name), str):
            raise MalformedResponse(f"a tag without a string {key_name}")
        value = tag.get(value_name, "")
        pairs.append((tag[key_name], value if isinstance(value, str) else ""))
    return tuple(pairs)


def resource_id_of(arn: str) -> str:
    """The id at the end of an ARN (``vpce-0abc`` of ``arn:aws:ec2:...:vpc-endpoint/vpce-0abc``)."""
    return arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def tagging_api_resources(ctx: Any) -> Iterator[TaggedResource]:
    """Every resource the Resource Groups Tagging API returns in the region (streamed)."""
    for page in ctx.aws.stream("resourcegroupstaggingapi", "get_resources", ResourcesPerPage=100):
        for mapping in page.get("ResourceTagMappingList", []):
            arn = mapping.get("ResourceARN") if isinstance(mapping, Mapping) else None
            if not isinstance(arn, str):
                raise MalformedResponse("GetResources returned a mapping without ResourceARN")
            parts = arn.split(":")
            if len(parts) >= 6 and parts[2] == "iam":
                continue  # IAM is global: judged once per account by the IAM part, not in every region
            if len(parts) >= 6 and parts[3] and parts[3] != ctx.region:
                continue  # judged by the target of its own region
            yield _tagged(arn, mapping.get("Tags", []), "tag:GetResources")


#: EC2 resource types whose ARNs carry no account id.
_EC2_ARN_WITHOUT_ACCOUNT = frozenset({"image", "snapshot", "fpga-image"})


def ec2_arn(ctx: Any, resource_type: str, resource_id: str) -> str:
    account = "" if resource_type in _EC2_ARN_WITHOUT_ACCOUNT else ctx.account_id
    return f"arn:{ctx.partition}:ec2:{ctx.region}:{account}:{resource_type}/{resource_id}"


def ec2_tag_pages(ctx: Any) -> Iterator[list[tuple[str, str, str, str]]]:
    """EC2 DescribeTags, one page at a time, as ``(resource_id, resource_type, key, value)``.

    DescribeTags lists one tag per entry, so a resource's tags may span pages;
    the caller groups them by id.
    """
    for page in ctx.aws.stream("ec2", "describe_tags", MaxResults=1000):
        entries = []
        for tag in page.get("Tags", []):
            if not isinstance(tag, Mapping) or not all(isinstance(tag.get(k), str) for k in ("ResourceId", "Key")):
                raise MalformedResponse("DescribeTags returned a tag without ResourceId or Key")
            value = tag.get("Value", "")
            entries.append((tag["ResourceId"], str(tag.get("ResourceType", "")), tag["Key"], value if isinstance(value, str) else ""))
        yield entries


def own_trail_arns(ctx: Any) -> list[str]:
    return [t.arn for t in own_trails_in_region(ctx.aws, ctx.region, ctx.account_id) if not isinstance(t, MalformedResponse)]


def cloudtrail_tagged(ctx: Any, trail_arns: list[str]) -> Iterator[TaggedResource]:
    """Tags of the region's own trails (ListTags takes up to 20 trails a call)."""
    for start in range(0, len(trail_arns), 20):
        for page in ctx.aws.stream("cloudtrail", "list_tags", ResourceIdList=trail_arns[start:start + 20]):
            for entry in page.get("ResourceTagList", []):
                if not isinstance(entry, Mapping) or not isinstance(entry.get("ResourceId"), str):
                    raise MalformedResponse("ListTags returned an entry without ResourceId")
                yield _tagged(entry["ResourceId"], entry.get("TagsList", []), "cloudtrail:ListTags")


def customer_managed_keys(ctx: Any) -> Iterator[tuple[str, Mapping[str, Any] | Exception]]:
    """``(key_arn, KeyMetadata or the error reading it)`` for the region's customer managed keys (and unreadable ones).

    A key with an ``alias/aws/`` alias is AWS managed and is skipped without a DescribeKey. Both reads use the
    parameters ``checks.kms.gather`` uses (ListAliases, DescribeKey by key id), so the target's cache answers
    each once for every check that asks.
    """
    aliases = aliases_by_key(ctx)
    for key in ctx.aws.collect("kms", "list_keys", "Keys"):
        key_id = key.get("KeyId") if isinstance(key, Mapping) else None
        arn = key.get("KeyArn") if isinstance(key, Mapping) else None
        if not isinstance(arn, str) or not isinstance(key_id, str) or not key_id:
            raise MalformedResponse("ListKeys returned a key without KeyId or KeyArn")
        if aws_managed(aliases.get(key_id, ())):
            continue
        try:
            metadata = ctx.aws.call("kms", "describe_key", KeyId=key_id).get("KeyMetadata")
        except Exception as error:  # noqa: BLE001 - one unreadable key is an ERROR result for that key
            yield arn, error
            continue
        if not isinstance(metadata, Mapping):
            yield arn, MalformedResponse("DescribeKey answer has no KeyMetadata")
        elif metadata.get("KeyManager") == "CUSTOMER":
            yield arn, metadata


def kms_tagged(ctx: Any, key_arn: str) -> TaggedResource:
    tags: list[tuple[str, str]] = []
    for page in ctx.aws.stream("kms", "list_resource_tags", KeyId=key_arn):
        tags.extend(_tag_pairs(page.get("Tags", []), "TagKey", "TagValue"))
    return TaggedResource(key_arn, tuple(tags), "kms:ListResourceTags")


def iam_principals(ctx: Any, kind: str) -> Iterator[Mapping[str, Any]]:
    """Every IAM role (``kind="role"``) or user (``"user"``) of the account.

    Cached, unlike tags: both the tag and the name check list them, and an
    account's principals are few enough to keep.
    """
    operation, result_key = ("list_roles", "Roles") if kind == "role" else ("list_users", "Users")
    for page in ctx.aws.pages("iam", operation):
        for principal in page.get(result_key, []):
            name_key = "RoleName" if kind == "role" else "UserName"
            if not isinstance(principal, Mapping) or not isinstance(principal.get(name_key), str) or not isinstance(principal.get("Arn"), str):
                raise MalformedResponse(f"{operation} returned a {kind} without {name_key} or Arn")
            yield principal


def iam_tagged(ctx: Any, kind: str, principal: Mapping[str, Any]) -> TaggedResource:
    if kind == "role":
        pages = ctx.aws.stream("iam", "list_role_tags", RoleName=principal["RoleName"])
    else:
        pages = ctx.aws.stream("iam", "list_user_tags", UserName=principal["UserName"])
    tags: list[tuple[str, str]] = []
    for page in pages:
        tags.extend(_tag_pairs(page.get("Tags", []), "Key", "Value"))
    return TaggedResource(principal["Arn"], tuple(tags), f"iam:List{kind.capitalize()}Tags")


def cloudformation_stacks(ctx: Any) -> Iterator[Any]:
    """Every stack DescribeStacks lists in the region (each entry as returned; the caller checks its shape)."""
    yield from ctx.aws.collect("cloudformation", "describe_stacks", "Stacks")


def devops_guru_collection_entries(ctx: Any, collection_type: str) -> Iterator[Any]:
    """The entries of DevOps Guru's resource collection: ``StackNames`` (``AWS_CLOUD_FORMATION``) or ``Tags`` (``AWS_TAGS``).

    The same GetResourceCollection call (same parameters) the ``devopsguru_*``
    checks make, so the cache reads it once per target. Entries are returned as
    AWS sent them; the caller judges each apart, so one malformed entry is an
    ERROR for itself only.
    """
    for page in ctx.aws.pages("devops-guru", "get_resource_collection", ResourceCollectionType=collection_type):
        collection = page.get("ResourceCollection") if isinstance(page, Mapping) else None
        if not isinstance(collection, Mapping):
            continue  # AWS leaves ResourceCollection out when nothing is collected
        if collection_type == "AWS_CLOUD_FORMATION":
            cloudformation = collection.get("CloudFormation")
            entries = cloudformation.get("StackNames") if isinstance(cloudformation, Mapping) else None
        else:
            entries = collection.get("Tags")
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise MalformedResponse(f"GetResourceCollection({collection_type}): the collection is not a list")
        yield from entries
