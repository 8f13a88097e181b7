"""No free-form name or description holds a secret or personal data."""
from __future__ import annotations

from typing import Any, Iterator

from checks.trails import own_trails_in_region

from checks.sensitive_data import inventory
from checks.sensitive_data.detector import DETECTOR_OPTION_SCHEMAS, SensitiveDataDetector, detector_from_options, redact_identifier
from scanner.errors import MalformedResponse, ServiceNotAvailable
from scanner.findings import describe_failure, error_kind, judge_apart, one_line
from scanner.model import GLOBAL_REGION, CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

METADATA = CheckMetadata(
    id="names_no_sensitive_data",
    title="Names and descriptions hold no secrets or personal data",
    severity=Severity.MEDIUM,
    service="multiple",
    resource_type="Other",
    scope=Scope.REGIONAL,
    rationale=(
        "Names and descriptions are free-form fields that appear in ARNs, consoles, logs, billing and every tool "
        "that lists resources; AWS's data-protection guidance says never to put confidential information such as "
        "customers' email addresses in them. An IAM user named after a person's email address, or a key whose "
        "description holds a password, leaks it to everyone who can list resources."
    ),
    remediation=Remediation(
        text=(
            "Rename the resource (names usually cannot be changed: create a new one and migrate) or rewrite the "
            "description without the data; rotate any credential it held."
        ),
        cli=(
            "aws kms update-key-description --key-id <key> --description '<text>'; "
            "aws iam update-role-description --role-name <role> --description '<text>'; "
            "aws iam update-user --user-name <user> --new-user-name <name>; "
            "aws cloudformation update-stack --stack-name <stack> --use-previous-template  # after editing the template's Description; "
            "aws devops-guru update-resource-collection --action REMOVE --resource-collection "
            "'{\"Tags\": [{\"AppBoundaryKey\": \"DevOps-Guru-<key>\", \"TagValues\": [\"<value>\"]}]}'"
        ),
        url="https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
    ),
    iam_actions=(
        "kms:ListKeys",
        "kms:ListAliases",
        "kms:DescribeKey",
        "cloudtrail:DescribeTrails",
        "sns:ListTopics",
        "iam:ListRoles",
        "iam:ListUsers",
        "cloudformation:DescribeStacks",
        "devops-guru:GetResourceCollection",
    ),
    option_schemas={**DETECTOR_OPTION_SCHEMAS, "iam_region": inventory.IAM_REGION_OPTION_SCHEMA},
    references=(
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html",
        "https://docs.aws.amazon.com/devops-guru/latest/APIReference/API_GetResourceCollection.html",
    ),
)


def _judge(detector: SensitiveDataDetector, arn: str, fields: dict[str, str], region: str, resource_type: str) -> Finding:
    entries = []
    for field, text in fields.items():
        if isinstance(text, str) and text:
            entries.extend({"field": field, **d.to_evidence()} for d in detector.scan(text, name=field, location=field))
    return _verdict(entries, arn, list(fields), region, resource_type)


def _verdict(entries: list[dict[str, Any]], resource: str, fields: list[str], region: str, resource_type: str) -> Finding:
    """PASS for ``resource`` when ``entries`` (detections with their field) is empty, else FAIL naming the fields."""
    shown = redact_identifier(resource)
    arn = shown if shown.startswith("arn:") else None
    if not entries:
        return Finding(Status.PASS, resource_id=shown, resource_arn=arn, resource_type=resource_type, region=region,
                       message=f"{', '.join(fields)}: no secrets or personal data", evidence={"fields": sorted(fields)})
    described = sorted({f"{e['field']} ({e['kind'].replace('_', ' ')})" for e in entries})
    return Finding(Status.FAIL, resource_id=shown, resource_arn=arn, resource_type=resource_type, region=region,
                   message="sensitive data in " + ", ".join(described), evidence={"findings": entries})


STACK_TYPE = "AWS::CloudFormation::Stack"
COLLECTION_TYPE = "AWS::DevOpsGuru::ResourceCollection"
COLLECTION_ID = "devops-guru-resource-collection"


def _judge_boundary(detector: SensitiveDataDetector, where: str, boundary: Any, region: str) -> Finding:
    """The verdict on one DevOps Guru tag boundary: its ``DevOps-Guru-*`` key and each of its values (``*`` skipped)."""
    key = boundary.get("AppBoundaryKey") if isinstance(boundary, dict) else None
    values = boundary.get("TagValues", []) if isinstance(boundary, dict) else None
    if not isinstance(key, str) or not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise MalformedResponse("GetResourceCollection(AWS_TAGS): a tag boundary has no AppBoundaryKey or TagValues list")
    entries = [{"field": "AppBoundaryKey", **d.to_evidence()} for d in detector.scan(key, location="key")]
    for index, value in enumerate(values):
        if value != "*":  # every value of the key
            field = f"TagValues[{index}]"
            entries.extend({"field": field, **d.to_evidence()} for d in detector.scan(value, name=key, location="value"))
    return _verdict(entries, where, ["AppBoundaryKey", "TagValues"], region, COLLECTION_TYPE)


def _error(action: str, error: Exception, region: str) -> Finding:
    return Finding(Status.ERROR, resource_id=action, region=region,
                   message=one_line(redact_identifier(f"could not read names through {action}: {describe_failure(error)}") or ""),
                   evidence={"source": action, "error_kind": error_kind(error)})


def _apart(arn: Any, region: str, resource_type: str, judge: Any) -> list[Finding]:
    """The finding for one resource, or its own ERROR when judging it raised (the next resource is still judged)."""
    shown = redact_identifier(arn if isinstance(arn, str) else repr(arn))
    return judge_apart(shown, judge, resource_arn=shown if shown.startswith("arn:") else None, resource_type=resource_type,
                       region=region, redact_text=redact_identifier)


def _regional(ctx: Any, detector: SensitiveDataDetector) -> Iterator[tuple[str, Any, str]]:
    """``(action, producer, region)``: each producer yields the findings of one source."""

    def keys() -> Iterator[Finding]:
        for key_arn, metadata in inventory.customer_managed_keys(ctx):
            if isinstance(metadata, Exception):
                yield Finding(Status.ERROR, resource_id=key_arn, resource_arn=key_arn, resource_type="AWS::KMS::Key",
                              region=ctx.region, message=redact_identifier(f"could not describe the key: {metadata}"))
                continue
            yield from _apart(key_arn, ctx.region, "AWS::KMS::Key", lambda: _judge(
                detector, key_arn, {"Description": metadata.get("Description") or ""}, ctx.region, "AWS::KMS::Key"))

    def trails() -> Iterator[Finding]:
        for trail in own_trails_in_region(ctx.aws, ctx.region, ctx.account_id):
            if isinstance(trail, MalformedResponse):
                raise trail
            yield from _apart(trail.arn, ctx.region, "AWS::CloudTrail::Trail", lambda: _judge(
                detector, trail.arn, {"Name": trail.name}, ctx.region, "AWS::CloudTrail::Trail"))

    def topics() -> Iterator[Finding]:
        for position, topic in enumerate(ctx.aws.collect("sns", "list_topics", "Topics")):
            arn = topic.get("TopicArn") if isinstance(topic, dict) else None

            def judge_topic(arn: Any = arn) -> Finding:
                if not isinstance(arn, str):
                    raise MalformedResponse("ListTopics returned a topic without TopicArn")
                return _judge(detector, arn, {"TopicName": arn.rsplit(":", 1)[-1]}, ctx.region, "AWS::SNS::Topic")

            yield from _apart(arn if isinstance(arn, str) else f"Topics[{position}]", ctx.region, "AWS::SNS::Topic", judge_topic)

    def stacks() -> Iterator[Finding]:
        for position, stack in enumerate(inventory.cloudformation_stacks(ctx)):
            stack_id = stack.get("StackId") if isinstance(stack, dict) else None

            def judge_stack(stack: Any = stack) -> Finding:
                if not isinstance(stack, dict) or not isinstance(stack.get("StackId"), str) or not isinstance(stack.get("StackName"), str):
                    raise MalformedResponse("DescribeStacks returned a stack without StackId or StackName")
                description = stack.get("Description")
                fields = {"StackName": stack["StackName"], "Description": description if isinstance(description, str) else ""}
                return _judge(detector, stack["StackId"], fields, ctx.region, STACK_TYPE)

            yield from _apart(stack_id if isinstance(stack_id, str) else f"Stacks[{position}]", ctx.region, STACK_TYPE, judge_stack)

    def analysed_stack_names() -> Iterator[Finding]:
        for position, name in enumerate(inventory.devops_guru_collection_entries(ctx, "AWS_CLOUD_FORMATION")):
            if name == "*":
                continue  # "every stack of the account": no name to judge

            def judge_name(name: Any = name) -> Finding:
                if not isinstance(name, str):
                    raise MalformedResponse("GetResourceCollection(AWS_CLOUD_FORMATION): a stack name is not a string")
                return _judge(detector, f"{COLLECTION_ID}/AWS_CLOUD_FORMATION/{name}", {"StackNames": name}, ctx.region, COLLECTION_TYPE)

            where = f"{COLLECTION_ID}/AWS_CLOUD_FORMATION/{name if isinstance(name, str) else f'StackNames[{position}]'}"
            yield from _apart(where, ctx.region, COLLECTION_TYPE, judge_name)

    def tag_boundaries() -> Iterator[Finding]:
        for position, boundary in enumerate(inventory.devops_guru_collection_entries(ctx, "AWS_TAGS")):
            key = boundary.get("AppBoundaryKey") if isinstance(boundary, dict) else None
            where = f"{COLLECTION_ID}/AWS_TAGS/{key if isinstance(key, str) else f'Tags[{position}]'}"
            yield from _apart(where, ctx.region, COLLECTION_TYPE, lambda boundary=boundary, where=where: _judge_boundary(
                detector, where, boundary, ctx.region))

    yield "cloudformation:DescribeStacks", stacks, ctx.region
    def devops_guru_collection() -> Iterator[Finding]:
        # Two GetResourceCollection calls: one that cannot be read or parsed still lets the other be judged,
        # and the source then ends with one ERROR.
        failure: Exception | None = None
        for judge_collection in (analysed_stack_names, tag_boundaries):
            try:
                yield from judge_collection()
            except ServiceNotAvailable:
                raise
            except Exception as error:  # noqa: BLE001 - reported once the other collection is judged
                failure = failure or error
        if failure is not None:
            raise failure

    yield "devops-guru:GetResourceCollection", devops_guru_collection, ctx.region
    yield "kms:DescribeKey", keys, ctx.region
    yield "cloudtrail:DescribeTrails", trails, ctx.region
    yield "sns:ListTopics", topics, ctx.region


def _iam(ctx: Any, detector: SensitiveDataDetector) -> Iterator[tuple[str, Any, str]]:
    def roles() -> Iterator[Finding]:
        for role in inventory.iam_principals(ctx, "role"):
            def judge_role(role: Any = role) -> Finding | None:
                if str(role.get("Path", "/")).startswith("/aws-service-role/"):
                    return None  # names AWS chose, not free-form fields
                fields = {"RoleName": role["RoleName"], "Description": role.get("Description") or ""}
                return _judge(detector, role["Arn"], fields, GLOBAL_REGION, "AWS::IAM::Role")

            yield from _apart(role["Arn"], GLOBAL_REGION, "AWS::IAM::Role", judge_role)

    def users() -> Iterator[Finding]:
        for user in inventory.iam_principals(ctx, "user"):
            yield from _apart(user["Arn"], GLOBAL_REGION, "AWS::IAM::User", lambda: _judge(
                detector, user["Arn"], {"UserName": user["UserName"]}, GLOBAL_REGION, "AWS::IAM::User"))

    yield "iam:ListRoles", roles, GLOBAL_REGION
    yield "iam:ListUsers", users, GLOBAL_REGION


@check(METADATA)
def names_no_sensitive_data(ctx):
    detector = detector_from_options(METADATA, ctx.options)
    sources = list(_regional(ctx, detector))
    if inventory.judges_iam(ctx):
        sources += list(_iam(ctx, detector))
    for action, producer, region in sources:
        try:
            yield from producer()
        except ServiceNotAvailable:
            continue
        except Exception as error:  # noqa: BLE001 - a source that cannot be read (or parsed) never hides the other sources
            yield _error(action, error, region)
