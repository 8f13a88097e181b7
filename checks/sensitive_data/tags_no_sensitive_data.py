"""No tag key or value holds a secret or personal data."""
from __future__ import annotations

import fnmatch
from typing import Any, Callable, Iterable, Iterator

from checks.sensitive_data import inventory
from checks.sensitive_data.detector import DETECTOR_OPTION_SCHEMAS, SensitiveDataDetector, detector_from_options, redact_identifier
from scanner.errors import AccessDenied, ServiceNotAvailable
from scanner.findings import describe_failure, error_kind, judge_apart, one_line
from scanner.model import GLOBAL_REGION, CheckMetadata, Finding, Remediation, Scope, Severity, Status, check
from scanner.options import option_values

METADATA = CheckMetadata(
    id="tags_no_sensitive_data",
    title="Tags hold no secrets or personal data",
    severity=Severity.HIGH,
    service="resourcegroupstaggingapi",
    resource_type="Other",
    scope=Scope.REGIONAL,
    rationale=(
        "Tags are metadata, not data: they are readable by anyone with tag:GetResources or a service's "
        "describe permission, copied into billing reports, CloudTrail, AWS Config and third-party tools, and never "
        "encrypted with your keys. AWS's data-protection guidance for DevOps Guru (and every service) says never to "
        "put confidential information such as customers' email addresses into tags. A credential in a tag is a "
        "leaked credential."
    ),
    remediation=Remediation(
        text=(
            "Remove the tag (or replace its value with a reference such as a Secrets Manager ARN), then rotate any "
            "credential it held: it has already been copied to every system that reads tags. Allowlist reviewed "
            "false positives with [checks.tags_no_sensitive_data] allow_tag_keys / allow_value_patterns."
        ),
        cli=(
            "aws resourcegroupstaggingapi untag-resources --resource-arn-list <arn> --tag-keys <key>  "
            "# IAM: aws iam untag-role --role-name <role> --tag-keys <key>; EC2: aws ec2 delete-tags --resources <id> --tags Key=<key>"
        ),
        url="https://docs.aws.amazon.com/tag-editor/latest/userguide/best-practices-and-strats.html",
    ),
    iam_actions=(
        "tag:GetResources",
        "ec2:DescribeTags",
        "cloudtrail:DescribeTrails",
        "cloudtrail:ListTags",
        "kms:ListKeys",
        "kms:ListAliases",
        "kms:DescribeKey",
        "kms:ListResourceTags",
        "iam:ListRoles",
        "iam:ListRoleTags",
        "iam:ListUsers",
        "iam:ListUserTags",
    ),
    option_schemas={
        **DETECTOR_OPTION_SCHEMAS,
        # Glob patterns, case-insensitive: tags with these keys are not judged.
        "allow_tag_keys": {"type": "array", "items": {"type": "string"}, "default": []},
        "iam_region": inventory.IAM_REGION_OPTION_SCHEMA,
    },
    references=(
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
        "https://docs.aws.amazon.com/whitepapers/latest/tagging-best-practices/other-considerations.html",
    ),
)

#: CloudFormation-style types for the resources whose kind the tag sources tell us.
_RESOURCE_TYPES = {
    "cloudtrail:ListTags": "AWS::CloudTrail::Trail",
    "kms:ListResourceTags": "AWS::KMS::Key",
    "iam:ListRoleTags": "AWS::IAM::Role",
    "iam:ListUserTags": "AWS::IAM::User",
}
_EC2_TYPES = {
    "instance": "AWS::EC2::Instance", "vpc": "AWS::EC2::VPC", "subnet": "AWS::EC2::Subnet",
    "vpc-endpoint": "AWS::EC2::VPCEndpoint", "security-group": "AWS::EC2::SecurityGroup", "volume": "AWS::EC2::Volume",
    "snapshot": "AWS::EC2::Snapshot", "image": "AWS::EC2::Image", "network-interface": "AWS::EC2::NetworkInterface",
    "internet-gateway": "AWS::EC2::InternetGateway", "natgateway": "AWS::EC2::NatGateway", "route-table": "AWS::EC2::RouteTable",
}


def resource_type_of(arn: str) -> str | None:
    """The CloudFormation-style type of a resource from its ARN, where orgscan knows it (``None``: "Other")."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None
    service, resource = parts[2], parts[5]
    kind = resource.split("/", 1)[0] if "/" in resource else resource.split(":", 1)[0]
    if service == "ec2":
        return _EC2_TYPES.get(kind)
    return {
        ("s3", None): "AWS::S3::Bucket",
        ("sns", None): "AWS::SNS::Topic",
        ("kms", "key"): "AWS::KMS::Key",
        ("cloudtrail", "trail"): "AWS::CloudTrail::Trail",
        ("iam", "role"): "AWS::IAM::Role",
        ("iam", "user"): "AWS::IAM::User",
    }.get((service, None if service in ("s3", "sns") else kind))


class TagJudge:
    """Judges tag sets with one detector and key allowlist, counting what it saw."""

    def __init__(self, detector: SensitiveDataDetector, allowed_keys: Iterable[str]) -> None:
        self.detector = detector
        self.allowed_keys = [pattern.lower() for pattern in allowed_keys]
        self.resources = 0
        self.tags = 0

    def findings(self, tags: Iterable[tuple[str, str]], new_resource: bool = True) -> list[dict[str, str]]:
        """Evidence entries (tag key, kind, masked preview) for the sensitive data in a resource's tags."""
        self.resources += int(new_resource)
        entries = []
        for key, value in tags:
            self.tags += 1
            if any(fnmatch.fnmatchcase(key.lower(), pattern) for pattern in self.allowed_keys):
                continue
            detections = self.detector.scan_tag(key, value)
            if not detections:
                continue
            # A key that is itself sensitive is named by its masked form.
            shown_key = self.detector.redact(key) if any(d.location == "key" for d in detections) else key
            entries.extend({"tag_key": shown_key, **d.to_evidence()} for d in detections)
        return entries


def _fail(arn: str, entries: list[dict[str, str]], region: str, resource_type: str | None, source: str) -> Finding:
    shown = redact_identifier(arn)
    described = sorted({f"{e['tag_key']!r} ({e['kind'].replace('_', ' ')} in the {e['location']})" for e in entries})
    return Finding(
        Status.FAIL,
        resource_id=shown,
        resource_arn=shown if arn.startswith("arn:") else None,
        resource_type=resource_type,
        region=region,
        message=f"{len(described)} tag(s) hold sensitive data: " + ", ".join(described),
        evidence={"source": source, "tags": entries},
    )


def _source_error(action: str, error: Exception, region: str) -> Finding:
    return Finding(
        Status.ERROR,
        resource_id=action,
        region=region,
        message=one_line(redact_identifier(f"could not read tags through {action}: {describe_failure(error)}") or ""),
        evidence={"source": action, "error": type(error).__name__, "error_kind": error_kind(error)},
    )


def _judged_apart(arn: str, region: str, resource_type: str | None, errors: list[str], action: str,
                  judge: Callable[[], Finding | None], reraise: tuple[type[BaseException], ...] = ()) -> list[Finding]:
    """The findings of one resource's tags, or its own ERROR when judging them raised (noted in ``errors``)."""
    shown = redact_identifier(arn)
    findings = judge_apart(shown, judge, resource_arn=shown if arn.startswith("arn:") else None, resource_type=resource_type,
                           region=region, redact_text=redact_identifier, reraise=reraise)
    if any(f.status is Status.ERROR for f in findings):
        errors.append(action)
    return findings


def _tagged_findings(resource: inventory.TaggedResource, judge: TagJudge, region: str, resource_type: str | None,
                     errors: list[str], failed: list[int]) -> list[Finding]:
    """The FAIL for a resource whose tags hold sensitive data, its ERROR when they cannot be judged, else nothing."""
    def judge_tags() -> Finding | None:
        if resource.error is not None:
            raise resource.error
        entries = judge.findings(resource.tags)
        if not entries:
            return None
        failed.append(1)
        return _fail(resource.arn, entries, region, resource_type, resource.source)

    return _judged_apart(resource.arn, region, resource_type, errors, resource.source, judge_tags)


def _guarded(action: str, region: str, produce: Callable[[], Iterator[Finding]], errors: list[str]) -> Iterator[Finding]:
    """The findings of one tag source; its failure is one ERROR result naming it, and the other sources go on."""
    try:
        yield from produce()
    except ServiceNotAvailable:
        return
    except Exception as error:  # noqa: BLE001 - a source that cannot be read (or parsed) never hides the other sources
        errors.append(action)
        yield _source_error(action, error, region)


def _regional_findings(ctx: Any, judge: TagJudge, errors: list[str], failed: list[int]) -> Iterator[Finding]:
    judged: set[str] = set()

    def tagging_api() -> Iterator[Finding]:
        for resource in inventory.tagging_api_resources(ctx):
            judged.add(resource.arn)
            if ":ec2:" in resource.arn:
                judged.add(inventory.resource_id_of(resource.arn))
            yield from _tagged_findings(resource, judge, ctx.region, resource_type_of(resource.arn), errors, failed)

    def ec2_tags() -> Iterator[Finding]:
        # DescribeTags lists one tag per entry; only the flagged tags are kept per resource.
        flagged: dict[str, tuple[str, list[dict[str, str]]]] = {}
        counted: set[str] = set()
        for entries in inventory.ec2_tag_pages(ctx):
            for resource_id, resource_type, key, value in entries:
                if resource_id in judged:
                    continue
                first_tag_of_resource = resource_id not in counted
                counted.add(resource_id)
                found = judge.findings([(key, value)], new_resource=first_tag_of_resource)
                if found:
                    flagged.setdefault(resource_id, (resource_type, []))[1].extend(found)
        for resource_id, (resource_type, found) in sorted(flagged.items()):
            failed.append(1)
            yield _fail(inventory.ec2_arn(ctx, resource_type, resource_id), found, ctx.region,
                        _EC2_TYPES.get(resource_type), "ec2:DescribeTags")

    def trail_tags() -> Iterator[Finding]:
        arns = [arn for arn in inventory.own_trail_arns(ctx) if arn not in judged]
        for resource in inventory.cloudtrail_tagged(ctx, arns):
            judged.add(resource.arn)
            yield from _tagged_findings(resource, judge, ctx.region, _RESOURCE_TYPES[resource.source], errors, failed)

    def key_tags() -> Iterator[Finding]:
        for key_arn, metadata in inventory.customer_managed_keys(ctx):
            if key_arn in judged:
                continue
            if isinstance(metadata, Exception):
                errors.append("kms:DescribeKey")
                yield Finding(Status.ERROR, resource_id=key_arn, resource_arn=key_arn, resource_type="AWS::KMS::Key",
                              region=ctx.region, message=redact_identifier(f"could not describe the key: {metadata}"))
                continue

            # A key whose policy denies us, or whose tags are malformed, is an ERROR for that key only.
            def judge_key(key_arn: str = key_arn) -> list[Finding]:
                return _tagged_findings(inventory.kms_tagged(ctx, key_arn), judge, ctx.region, "AWS::KMS::Key", errors, failed)

            yield from _judged_apart(key_arn, ctx.region, "AWS::KMS::Key", errors, "kms:ListResourceTags", judge_key)

    yield from _guarded("tag:GetResources", ctx.region, tagging_api, errors)
    yield from _guarded("ec2:DescribeTags", ctx.region, ec2_tags, errors)
    yield from _guarded("cloudtrail:ListTags", ctx.region, trail_tags, errors)
    yield from _guarded("kms:ListKeys", ctx.region, key_tags, errors)


def _iam_findings(ctx: Any, judge: TagJudge, errors: list[str], failed: list[int]) -> Iterator[Finding]:
    for kind, action in (("role", "iam:ListRoleTags"), ("user", "iam:ListUserTags")):
        def principals(kind: str = kind) -> Iterator[Finding]:
            for principal in inventory.iam_principals(ctx, kind):
                def judge_principal(principal: Any = principal) -> list[Finding]:
                    resource = inventory.iam_tagged(ctx, kind, principal)
                    return _tagged_findings(resource, judge, GLOBAL_REGION, _RESOURCE_TYPES[resource.source], errors, failed)

                # Access to List*Tags is granted (or not) for the whole account: one ERROR for the source then.
                yield from _judged_apart(principal["Arn"], GLOBAL_REGION, f"AWS::IAM::{kind.capitalize()}", errors, action,
                                         judge_principal, reraise=(AccessDenied,))

        yield from _guarded(action, GLOBAL_REGION, principals, errors)


def _summary(ctx: Any, judge: TagJudge, region: str, scope: str) -> Finding:
    return Finding(
        Status.PASS,
        resource_id=ctx.account_id,
        resource_type="AWS::::Account",
        region=region,
        message=f"{judge.resources} {scope} resource(s) with {judge.tags} tag(s): no secrets or personal data",
        evidence={"resources_examined": judge.resources, "tags_examined": judge.tags},
    )


def options_of(ctx: Any) -> tuple[SensitiveDataDetector, list[str]]:
    """The detector and the allowed tag-key patterns the check's options ask for (validated when the scan was planned)."""
    return detector_from_options(METADATA, ctx.options), option_values(METADATA, ctx.options)["allow_tag_keys"]


@check(METADATA)
def tags_no_sensitive_data(ctx):
    detector, allowed_keys = options_of(ctx)
    parts = [(ctx.region, "tagged", _regional_findings)]
    if inventory.judges_iam(ctx):
        parts.append((GLOBAL_REGION, "IAM", _iam_findings))
    for region, scope, produce in parts:
        judge, errors, failed = TagJudge(detector, allowed_keys), [], []
        yield from produce(ctx, judge, errors, failed)
        if not failed and not errors and judge.resources:
            yield _summary(ctx, judge, region, scope)
