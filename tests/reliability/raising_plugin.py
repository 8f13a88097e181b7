"""A check plugin with a bug: its check raises on every target (loaded with --plugin tests.reliability.raising_plugin)."""
from __future__ import annotations

from scanner import hookimpl
from scanner.model import CheckMetadata, Remediation, Scope, Severity, check

MESSAGE = "simulated bug in a third-party check"


@check(
    CheckMetadata(
        id="raising_check",
        title="A check that raises",
        severity=Severity.MEDIUM,
        service="ec2",
        resource_type="AWS::EC2::VPC",
        scope=Scope.REGIONAL,
        rationale="Exercises the runner's handling of an exception escaping a check.",
        remediation=Remediation(text="Fix the plugin."),
        iam_actions=("ec2:DescribeVpcs",),
    )
)
def raising_check(ctx):
    ctx.aws.collect("ec2", "describe_vpcs", "Vpcs")
    raise ValueError(MESSAGE)


@hookimpl
def orgscan_register_checks(options):
    return [raising_check]
