"""The ``prowler_bridge`` check: one Prowler CLI run per account, its findings as orgscan results.

The check is built per scan from the bridge's settings: its ``max_parallel_runs``
is ``--prowler-concurrency``, which the runner enforces per scanner process, on
threads apart from orgscan's own targets.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Iterator

from checks.prowler.invocation import ProwlerRun, ProwlerRunError, prowler_environment, run_prowler
from checks.prowler.ocsf import AccountMismatch, findings_from_ocsf
from checks.prowler.settings import ProwlerSettings
from scanner.context import CheckContext
from scanner.model import Check, CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

#: The runner's per-check timeout must not cut a run short: the run bounds
#: itself with --prowler-timeout.
BRIDGE_TIMEOUT_SECONDS = 7 * 24 * 3600.0

#: The AWS managed policies Prowler's role needs (https://docs.prowler.com/user-guide/providers/aws/authentication).
PROWLER_MANAGED_POLICIES = ("SecurityAudit", "job-function/ViewOnlyAccess")
#: Prowler's additional read actions: permissions/prowler-additions-policy.json of prowler-cloud/prowler
#: (commit 608fd92861b1633ad928f6f7f3d3ba9ca5d74dbc). Prowler grants apigateway:GET on REST APIs only;
#: a declaration has no resource, so the generated policy grants it on "*" (still a read).
PROWLER_ADDITIONS_ACTIONS = (
    "account:Get*", "appstream:Describe*", "appstream:List*", "codeartifact:List*", "codebuild:BatchGet*",
    "ds:Describe*", "ds:Get*", "ds:List*", "ec2:GetEbsEncryptionByDefault", "ecr:Describe*",
    "elasticfilesystem:DescribeBackupPolicy", "glue:GetConnections", "glue:GetSecurityConfiguration*", "glue:SearchTables",
    "lambda:GetFunction*", "macie2:GetMacieSession", "s3:GetAccountPublicAccessBlock", "shield:DescribeProtection",
    "shield:GetSubscriptionState", "ssm:GetDocument", "support:Describe*", "tag:GetTagKeys",
    "organizations:DescribeOrganization", "organizations:ListPolicies*", "organizations:DescribePolicy", "apigateway:GET",
)

METADATA = CheckMetadata(
    id="prowler_bridge",
    title="Prowler's AWS checks, run for this account by the Prowler CLI",
    severity=Severity.MEDIUM,
    service="prowler",
    resource_type="AWS::::Account",
    scope=Scope.ACCOUNT,
    rationale=(
        "Runs the Prowler checks, services or compliance frameworks selected with --prowler-checks, "
        "--prowler-services and --prowler-compliance in every account of the scan, with that account's "
        "assumed-role credentials. Each Prowler finding becomes a result with check id prowler.<CheckID>; "
        "this check's own results are ERROR when a Prowler run fails or times out."
    ),
    remediation=Remediation(
        text=(
            "Follow each prowler.<CheckID> result's remediation. For an ERROR of this check, read the exit "
            "status and stderr in its message: the audit role also needs the AWS managed policies SecurityAudit "
            "and ViewOnlyAccess plus Prowler's additions policy."
        ),
        url="https://docs.prowler.com/user-guide/providers/aws/authentication",
    ),
    # Prowler's calls are its own; its permissions are the managed policies
    # SecurityAudit and ViewOnlyAccess plus prowler-additions-policy.json (docs/prowler.md).
    iam_actions=("sts:GetCallerIdentity", *PROWLER_ADDITIONS_ACTIONS),
    iam_managed_policies=PROWLER_MANAGED_POLICIES,
    references=(
        "https://github.com/prowler-cloud/prowler/blob/master/permissions/prowler-additions-policy.json",
        "https://docs.prowler.com/user-guide/cli/tutorials/reporting",
    ),
    timeout_seconds=BRIDGE_TIMEOUT_SECONDS,
)


def build_prowler_bridge(settings: ProwlerSettings) -> Check:
    """The ``prowler_bridge`` check for one scan; at most ``settings.concurrency`` Prowler runs at once."""

    @check(dataclasses.replace(METADATA, max_parallel_runs=settings.concurrency))
    def prowler_bridge(ctx: CheckContext) -> Iterator[Finding]:
        # Credentials are issued when the run starts, as a whole new role session:
        # Prowler cannot refresh them, and an account that waited for a run slot
        # may have waited long enough for credentials read earlier to run out.
        try:
            environment = prowler_environment(os.environ, ctx.credentials_environment(fresh=True), ctx.api_region)
            run: ProwlerRun | ProwlerRunError = run_prowler(settings, environment, prowler_regions(ctx))
        except ProwlerRunError as error:
            run = error
        if isinstance(run, ProwlerRunError):
            yield _run_error(ctx, run)
            return
        try:
            findings = list(findings_from_ocsf(run.records, ctx.account_id))
        except AccountMismatch as error:
            yield Finding(
                Status.ERROR,
                resource_id=ctx.account_id,
                message=f"{error}; its findings were discarded",
                evidence={"exit_status": run.exit_status},
            )
            return
        yield from findings
        if run.logged_error_count:
            yield _logged_errors(ctx, run)

    return prowler_bridge


def prowler_regions(ctx: CheckContext) -> tuple[str, ...]:
    """The regions one account's run covers: the account's planned regions (``--regions``, decided in the scan plan)."""
    return tuple(ctx.scan_regions) or ((ctx.api_region,) if ctx.api_region else ())


def _logged_errors(ctx: CheckContext, run: ProwlerRun) -> Finding:
    # A Prowler check whose service call failed writes no finding at all; without
    # this result the gap would look like "nothing to report".
    return Finding(
        Status.ERROR,
        resource_id=ctx.account_id,
        message=(
            f"Prowler logged {run.logged_error_count} error(s) for account {ctx.account_id}; findings of the "
            f"affected checks may be missing: " + "; ".join(run.logged_errors[:3])
        ),
        evidence={"exit_status": run.exit_status, "logged_errors": list(run.logged_errors)},
    )


def _run_error(ctx: CheckContext, error: ProwlerRunError) -> Finding:
    return Finding(
        Status.ERROR,
        resource_id=ctx.account_id,
        message=f"Prowler run for account {ctx.account_id} failed: {error}",
        evidence={"exit_status": error.exit_status, "stderr_tail": error.stderr_tail},
    )
