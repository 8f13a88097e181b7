"""A plugin whose account-wide checks may run only once at a time (``max_parallel_runs=1``), as the Prowler bridge's runs.

``limited_waits_for_regional`` does not finish until every regional target of
the scan has reported (it watches ``orgscan_result``), or 30 s have passed.
If its runs held the threads of orgscan's other targets, those targets could
not report and its runs would give up: FAIL instead of PASS.

``limited_overruns`` goes on past its timeout: each run waits until the host has
reported it timed out (its ERROR result reaches ``orgscan_result``), then ends;
``overruns.peak`` says how many of its runs were ever going on at once.
"""
from __future__ import annotations

import contextlib
import threading
import time
from typing import Iterator

from scanner import hookimpl
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

GIVE_UP_SECONDS = 30.0


class _Runs:
    """Runs of a check going on right now, and the most ever at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self.peak = 0

    @contextlib.contextmanager
    def one(self) -> Iterator[None]:
        with self._lock:
            self._running += 1
            self.peak = max(self.peak, self._running)
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1


class _Watch:
    """What this scan has seen: the regional targets yet to report, and the limited check's runs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.regional_pending: set[tuple[str, str]] = set()
        self.regional_done = threading.Event()
        self.runs = _Runs()
        #: Per account: the host has reported ``limited_overruns`` (timed out) for it.
        self.overrun_reported: dict[str, threading.Event] = {}

    def overrun_reported_for(self, account_id: str) -> threading.Event:
        with self.lock:
            return self.overrun_reported.setdefault(account_id, threading.Event())


_watch = _Watch()


@check(
    CheckMetadata(
        id="limited_waits_for_regional",
        title="A slow account-wide check limited to one run at a time",
        severity=Severity.INFORMATIONAL,
        service="test",
        resource_type="AWS::::Account",
        scope=Scope.ACCOUNT,
        rationale="Stands in for the Prowler bridge: few runs at once, each long.",
        remediation=Remediation(text="Nothing to do."),
        iam_actions=("sts:GetCallerIdentity",),
        max_parallel_runs=1,
    )
)
def limited_waits_for_regional(ctx):
    with _watch.runs.one():
        peak = _watch.runs.peak
        started = time.monotonic()
        released = _watch.regional_done.wait(GIVE_UP_SECONDS)
    # By now the account's other checks are done and the host may have dropped its clients: reading
    # AWS must still work, as the account's own role.
    caller = ctx.aws.call("sts", "get_caller_identity")["Account"]
    status = Status.PASS if released else Status.FAIL
    yield Finding(status, resource_id=ctx.account_id, message=f"waited {time.monotonic() - started:.1f} s",
                  evidence={"peak_parallel_runs": peak, "caller_account": caller})


@hookimpl
def orgscan_register_checks(options):
    return [limited_waits_for_regional, limited_overruns]


@hookimpl
def orgscan_scan_started(scan):
    global _watch
    _watch = _Watch()
    _watch.regional_pending = {(a["id"], r) for a in scan["accounts"] if a["status"] != "skipped" for r in scan["regions"]}


@hookimpl
def orgscan_result(result):
    if result["check_id"] == "limited_overruns":
        _watch.overrun_reported_for(result["account_id"]).set()
    if result["target_region"] == "global":
        return
    with _watch.lock:
        _watch.regional_pending.discard((result["account_id"], result["target_region"]))
        if not _watch.regional_pending:
            _watch.regional_done.set()


overruns = _Runs()


@check(
    CheckMetadata(
        id="limited_overruns",
        title="A one-at-a-time check that overruns its timeout",
        severity=Severity.INFORMATIONAL,
        service="test",
        resource_type="AWS::::Account",
        scope=Scope.ACCOUNT,
        rationale="Its runs go on after the runner has reported them timed out; the next must still wait.",
        remediation=Remediation(text="Nothing to do."),
        iam_actions=("sts:GetCallerIdentity",),
        max_parallel_runs=1,
        timeout_seconds=0.2,
    )
)
def limited_overruns(ctx):
    with overruns.one():
        # Still running after the host reported it timed out: the next run must wait for this one to end.
        _watch.overrun_reported_for(ctx.account_id).wait(GIVE_UP_SECONDS)
    yield Finding(Status.PASS, resource_id=ctx.account_id, message="done")
