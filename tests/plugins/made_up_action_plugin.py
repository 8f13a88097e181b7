"""A plugin whose check declares an IAM action that does not exist (``s3:ListBuckets``, the API operation's name)."""
from __future__ import annotations

from scanner import hookimpl
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check


@check(
    CheckMetadata(
        id="made_up_bucket_listing",
        title="Buckets are listed",
        severity=Severity.LOW,
        service="s3",
        resource_type="AWS::S3::Bucket",
        scope=Scope.ACCOUNT,
        rationale="Declares the API operation's name instead of the IAM action.",
        remediation=Remediation(text="Nothing to do."),
        iam_actions=("s3:ListBuckets",),
    )
)
def made_up_bucket_listing(ctx):
    for bucket in ctx.aws.call("s3", "list_buckets").get("Buckets", []):
        yield Finding(Status.PASS, resource_id=bucket["Name"], message="listed")


@hookimpl
def orgscan_register_checks(options):
    return [made_up_bucket_listing]
