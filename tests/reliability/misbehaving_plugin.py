"""A check plugin that breaks the check contract: it yields a plain dict instead of a Finding (--plugin tests.reliability.misbehaving_plugin)."""
from __future__ import annotations

from scanner import hookimpl
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check


@check(
    CheckMetadata(
        id="wrong_yield_check",
        title="A check that yields something other than a Finding",
        severity=Severity.LOW,
        service="ec2",
        resource_type="AWS::EC2::VPC",
        scope=Scope.REGIONAL,
        rationale="Exercises the runner's handling of a check that breaks its contract after judging some resources.",
        remediation=Remediation(text="Fix the plugin."),
        iam_actions=("ec2:DescribeVpcs",),
    )
)
def wrong_yield_check(ctx):
    for vpc in ctx.aws.collect("ec2", "describe_vpcs", "Vpcs"):
        yield Finding(Status.PASS, resource_id=vpc["VpcId"], message="seen")
    yield {"status": "PASS", "resource_id": "not-a-finding"}


@hookimpl
def orgscan_register_checks(options):
    return [wrong_yield_check]
