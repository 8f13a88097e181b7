"""A fake third-party plugin that implements every orgscan hook (loaded with --plugin tests.plugins.fake_plugin).

It records what the host hands it into the file named by ``--fake-record``, so
tests can see each hook fire with the right arguments.
"""
from __future__ import annotations

import json
from pathlib import Path

from scanner import hookimpl
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check
from scanner.reporting import ReportFormat, write_private_file

_record_path: list[Path] = []


def _record(event: str, payload: object) -> None:
    if _record_path:
        with open(_record_path[0], "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"event": event, "payload": payload}, default=str) + "\n")


@check(
    CheckMetadata(
        id="fake_account_alias_present",
        title="The account has an IAM account alias",
        severity=Severity.LOW,
        service="iam",
        resource_type="AWS::::Account",
        scope=Scope.ACCOUNT,
        rationale="An alias makes the account recognisable in the console sign-in page.",
        remediation=Remediation(text="Create an account alias.", cli="aws iam create-account-alias --account-alias NAME"),
        iam_actions=("iam:ListAccountAliases",),
    )
)
def fake_account_alias_present(ctx):
    aliases = ctx.aws.call("iam", "list_account_aliases")["AccountAliases"]
    status = Status.PASS if aliases else Status.FAIL
    yield Finding(status, resource_id=ctx.account_id, message=f"{len(aliases)} alias(es)", evidence={"aliases": aliases})


@check(
    CheckMetadata(
        id="fake_vpc_count",
        title="Every VPC is listed",
        severity=Severity.INFORMATIONAL,
        service="ec2",
        resource_type="AWS::EC2::VPC",
        scope=Scope.REGIONAL,
        rationale="A check that passes for every VPC, to exercise the regional fan-out.",
        remediation=Remediation(text="Nothing to do."),
        iam_actions=("ec2:DescribeVpcs",),
    )
)
def fake_vpc_count(ctx):
    for vpc in ctx.aws.collect("ec2", "describe_vpcs", "Vpcs"):
        yield Finding(Status.PASS, resource_id=vpc["VpcId"], resource_arn=ctx.arn("ec2", f"vpc/{vpc['VpcId']}"), message="VPC seen")


@hookimpl
def orgscan_add_options(group):
    group.add_argument("--fake-record", metavar="FILE", help="fake plugin: record hook calls into FILE")


@hookimpl
def orgscan_register_checks(options):
    if options.get("fake_record"):
        _record_path[:] = [Path(options["fake_record"])]
    _record("register_checks", sorted(k for k in options if k == "fake_record"))
    return [fake_account_alias_present, fake_vpc_count]


def _write_fake_report(document, output_dir):
    count = len(document["results"])
    return [write_private_file(Path(output_dir) / "fake.txt", f"{count} results\n".encode())]


@hookimpl
def orgscan_register_report_formats():
    return [ReportFormat("fake", "one line with the number of results", _write_fake_report)]


@hookimpl
def orgscan_register_frameworks():
    return [Path(__file__).with_name("fake_framework.toml")]


@hookimpl
def orgscan_scan_started(scan):
    _record("scan_started", {"id": scan["id"], "accounts": len(scan["accounts"])})


@hookimpl
def orgscan_result(result):
    _record("result", {"check_id": result["check_id"], "status": result["status"]})


@hookimpl
def orgscan_scan_finished(document, output_dir):
    _record("scan_finished", {"results": len(document["results"]), "output_dir": output_dir})
