"""A check plugin whose check never returns until released (loaded with --plugin tests.reliability.hanging_plugin).

The check waits on :data:`RELEASE`, which the test sets when it is done, so no
thread is left sleeping after the test.
"""
from __future__ import annotations

import threading

from scanner import hookimpl
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

RELEASE = threading.Event()
#: Longest a hanging check waits if nobody releases it (a safety net, not part of the test).
LONGEST_WAIT_SECONDS = 120
#: Accounts whose hanging check started, and those whose check returned (only once released).
STARTED: list[str] = []
RETURNED: list[str] = []


@check(
    CheckMetadata(
        id="hanging_check",
        title="A check that hangs",
        severity=Severity.LOW,
        service="iam",
        resource_type="AWS::::Account",
        scope=Scope.ACCOUNT,
        rationale="Exercises the per-check timeout.",
        remediation=Remediation(text="Fix the plugin."),
        iam_actions=("iam:GetAccountSummary",),
    )
)
def hanging_check(ctx):
    ctx.aws.call("iam", "get_account_summary")
    STARTED.append(ctx.account_id)
    RELEASE.wait(LONGEST_WAIT_SECONDS)
    RETURNED.append(ctx.account_id)
    yield Finding(Status.PASS, resource_id=ctx.account_id, message="released")


@hookimpl
def orgscan_register_checks(options):
    return [hanging_check]
