"""``orgscan upload securityhub results.json``: import findings into each account's own Security Hub.

Security Hub accepts a finding from a finding provider only when the caller is
the finding's account and the finding names that account's default product, so
every finding is imported by that account itself, in its own region, through
the same role the scan assumed (``--role-name``; the caller's own account uses
the caller's credentials).

For each (account, region) the command:

1. reads the orgscan findings already there (``GetFindings``, ACTIVE only);
2. imports every FAIL and ERROR result (new, or refreshing an earlier import);
3. updates earlier findings whose result now passes to ``Compliance.Status PASSED``;
4. archives (``RecordState ARCHIVED``) earlier findings whose resource is gone:
   their check ran for the same target (the account and region, or the account
   as a whole) in this scan without ERROR, yet produced no result for that
   resource. Targets that errored, and checks or regions that were not part of
   this scan, keep their findings untouched.

``BatchImportFindings`` takes at most 100 findings a call; throttling and
``FailedFindings`` are retried with backoff. It prints how many findings were
imported, updated, archived and failed, and exits 1 if any failed. Accounts the
scan could not reach (status ``error`` or ``skipped``) are left out and named.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import botocore.exceptions

from scanner.arguments import UsageErrorParser
from scanner.aws import credentials_expired
from scanner.config import DEFAULT_ROLE_SESSION_NAME, MAX_CONCURRENCY, ScanSettings, validate_role_name
from scanner.document_view import check_catalogue, text
from scanner.errors import AwsError, DocumentError, UsageError
from scanner.integrations.asff import PROVIDER_NAME, build_finding, product_arn, security_hub_region
from scanner.results_schema import load_document
from scanner.sessions import DEFAULT_ROLE_NAME, AccountSessions, account_sessions

MAX_FINDINGS_PER_CALL = 100
# BatchImportFindings rejects requests over 6 MB; stay well below.
MAX_BYTES_PER_CALL = 4_000_000
ATTEMPTS = 5
THROTTLING_CODES = {
    "Throttling", "ThrottlingException", "TooManyRequestsException", "LimitExceededException",
    "RequestLimitExceeded", "SlowDown", "ProvisionedThroughputExceededException",
}
# Only these fields are sent back when an earlier finding is archived: the
# ones BatchImportFindings requires, plus what identifies it as orgscan's.
_ARCHIVE_FIELDS = (
    "SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Types", "CreatedAt", "Title",
    "Description", "Resources", "Severity", "Compliance", "ProductFields", "Remediation",
)


@dataclass
class ImportOutcome:
    """What happened to the findings sent in one or more BatchImportFindings calls."""

    succeeded: int = 0
    #: (finding id, error code, message) of findings still failing after every attempt
    failed: list[tuple[str, str, str]] = field(default_factory=list)


def _backoff(attempt: int) -> float:
    """Seconds to wait before attempt ``attempt + 1``: exponential with full jitter, at most 20 s."""
    return random.uniform(0, min(20.0, 0.5 * 2 ** attempt))


def _batches(findings: Sequence[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = 0
    for finding in findings:
        finding_size = len(json.dumps(finding, separators=(",", ":")))
        if batch and (len(batch) >= MAX_FINDINGS_PER_CALL or size + finding_size > MAX_BYTES_PER_CALL):
            yield batch
            batch, size = [], 0
        batch.append(finding)
        size += finding_size
    if batch:
        yield batch


def import_findings(client: Any, findings: Sequence[dict[str, Any]], *, attempts: int = ATTEMPTS,
                    sleep: Callable[[float], None] = time.sleep,
                    renew_credentials: Callable[[], bool] | None = None) -> ImportOutcome:
    """Import ``findings`` in calls of at most 100, retrying throttled calls and ``FailedFindings``.

    A call AWS answers with expired credentials renews them once (``renew_credentials``, which
    assumes the account's role anew) and is tried again. Any other error of a call fails that
    call's findings at once (retrying an access denial or a disabled Security Hub cannot help).
    """
    outcome = ImportOutcome()
    renewed = False
    pending = list(findings)
    last_error: dict[str, tuple[str, str]] = {}
    for attempt in range(attempts):
        retry: list[dict[str, Any]] = []
        for batch in _batches(pending):
            try:
                response = client.batch_import_findings(Findings=batch)
            except botocore.exceptions.ClientError as error:
                code = error.response.get("Error", {}).get("Code", "ClientError")
                message = error.response.get("Error", {}).get("Message", str(error))
                if code in THROTTLING_CODES:
                    retry.extend(batch)
                    last_error.update({f["Id"]: (code, message) for f in batch})
                elif credentials_expired(error) and not renewed and renew_credentials is not None and renew_credentials():
                    renewed = True
                    retry.extend(batch)
                    last_error.update({f["Id"]: (code, message) for f in batch})
                else:
                    outcome.failed.extend((f["Id"], code, message) for f in batch)
                continue
            except botocore.exceptions.BotoCoreError as error:
                # Connection errors outlasting the SDK's own retries: try the batch again later.
                retry.extend(batch)
                last_error.update({f["Id"]: (type(error).__name__, str(error)) for f in batch})
                continue
            failed_ids = {}
            for failure in response.get("FailedFindings") or []:
                failed_ids[failure.get("Id")] = (failure.get("ErrorCode") or "Failed", failure.get("ErrorMessage") or "")
            outcome.succeeded += len(batch) - sum(1 for f in batch if f["Id"] in failed_ids)
            for finding in batch:
                if finding["Id"] in failed_ids:
                    retry.append(finding)
                    last_error[finding["Id"]] = failed_ids[finding["Id"]]
        pending = retry
        if not pending:
            break
        if attempt < attempts - 1:
            sleep(_backoff(attempt))
    outcome.failed.extend((f["Id"], *last_error.get(f["Id"], ("Failed", ""))) for f in pending)
    return outcome


def existing_findings(client: Any, account_id: str, region: str) -> list[dict[str, Any]]:
    """orgscan's ACTIVE findings in the account's default product in this region (filtered here too)."""
    arn = product_arn(account_id, region)
    filters = {
        "ProductArn": [{"Value": arn, "Comparison": "EQUALS"}],
        "AwsAccountId": [{"Value": account_id, "Comparison": "EQUALS"}],
        "ProductFields": [{"Key": "ProviderName", "Value": PROVIDER_NAME, "Comparison": "EQUALS"}],
        "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
    }
    found = []
    kwargs: dict[str, Any] = {"Filters": filters, "MaxResults": 100}
    while True:
        page = client.get_findings(**kwargs)
        for finding in page.get("Findings") or []:
            if (finding.get("ProductArn") == arn and finding.get("AwsAccountId") == account_id
                    and (finding.get("ProductFields") or {}).get("ProviderName") == PROVIDER_NAME
                    and finding.get("RecordState", "ACTIVE") == "ACTIVE"):
                found.append(finding)
        token = page.get("NextToken")
        if not token:
            return found
        kwargs["NextToken"] = token


@dataclass
class TargetPlan:
    """The findings of one account and region, and which (check, target region) pairs the account had judged.

    ``judged`` is shared by all the plans of one account: a check that ran for
    the account as a whole (target ``global``) may have reported a resource in
    any region, so an earlier finding anywhere in the account is gone when its
    target was judged and no result names it any more.
    """

    account_id: str
    region: str
    current: list[dict[str, Any]] = field(default_factory=list)
    passing: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: every finding id this scan places in this account and region, whatever its status (a finding
    #: found elsewhere under one of these ids was placed there by an earlier scan, e.g. one whose
    #: first region differed, and is archived there)
    known_ids: set[str] = field(default_factory=set)
    judged: set[tuple[str, str]] = field(default_factory=set)


def plan_targets(document: Mapping[str, Any]) -> dict[tuple[str, str], TargetPlan]:
    """A plan for every Security Hub (account, region) the scan covered, holding the findings that belong there.

    Every region of the scan gets a plan for every account with results, even
    one without findings now: that is where findings of resources that are gone wait to be archived.
    """
    catalogue = check_catalogue(document)
    judged: dict[str, set[tuple[str, str]]] = {}
    errored: dict[str, set[tuple[str, str]]] = {}
    plans: dict[tuple[str, str], TargetPlan] = {}

    def plan_for(account_id: str, region: str) -> TargetPlan:
        key = (account_id, region)
        if key not in plans:
            plans[key] = TargetPlan(account_id, region, judged=judged.setdefault(account_id, set()))
        return plans[key]

    for result in document["results"]:
        account_id = result["account_id"]
        plan = plan_for(account_id, security_hub_region(result, document))
        target = (result["check_id"], text(result.get("target_region")) or result["region"])
        status = result["status"]
        (errored if status == "ERROR" else judged).setdefault(account_id, set()).add(target)
        if status == "NOT_APPLICABLE":
            continue
        finding = build_finding(result, catalogue[result["check_id"]], document)
        plan.known_ids.add(finding["Id"])
        if status == "PASS":
            plan.passing[finding["Id"]] = finding
        else:
            plan.current.append(finding)
    scan_regions = [r for r in document["scan"].get("regions") or [] if r and r != "global"]
    for account_id in list(judged):
        for region in scan_regions:
            plan_for(account_id, region)
        judged[account_id] -= errored.get(account_id, set())
    return plans


@dataclass
class TargetOutcome:
    imported: int = 0
    updated: int = 0
    archived: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)


def _instant(timestamp: Any) -> datetime | None:
    """An ISO 8601 timestamp as an aware datetime (``Z``, offsets and any number of fractional digits), else ``None``.

    Security Hub returns ``2026-11-28T21:05:00.000Z`` for a finding imported as
    ``2026-11-28T21:05:00Z``: compare instants, never strings.
    """
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?", text(timestamp).strip())
    if not match:
        return None
    base, fraction, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z") else zone
    if len(zone) == 5:
        zone = zone[:3] + ":" + zone[3:]
    return datetime.fromisoformat(f"{base}.{(fraction or '0')[:6].ljust(6, '0')}{zone}")


def _newer(timestamp: Any, than: datetime | None) -> bool:
    instant = _instant(timestamp)
    return instant is not None and than is not None and instant > than


def changes_for(plan: TargetPlan, existing: Sequence[Mapping[str, Any]], updated_at: str
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The PASSED updates and the archivals that ``existing`` findings need, given this scan's ``plan``.

    An earlier finding updated after this scan finished is newer than this
    document and is left alone (an old results.json must not undo a newer import).
    """
    updates, archivals = [], []
    scan_end = _instant(updated_at)
    for finding in existing:
        if _newer(finding.get("UpdatedAt"), scan_end):
            continue
        fields = finding.get("ProductFields") or {}
        finding_id = finding.get("Id")
        if finding_id in plan.passing:
            if (finding.get("Compliance") or {}).get("Status") != "PASSED":
                update = dict(plan.passing[finding_id])
                update["CreatedAt"] = finding.get("CreatedAt") or update["CreatedAt"]
                updates.append(update)
            continue
        if finding_id in plan.known_ids:
            continue
        target = (fields.get("orgscan/CheckId", finding.get("GeneratorId")), fields.get("orgscan/TargetRegion"))
        if target in plan.judged:
            archived = {key: finding[key] for key in _ARCHIVE_FIELDS if key in finding}
            archived["UpdatedAt"] = updated_at
            archived["RecordState"] = "ARCHIVED"
            archivals.append(archived)
    return updates, archivals


def upload_target(client: Any, plan: TargetPlan, updated_at: str, *, dry_run: bool = False,
                  sleep: Callable[[float], None] = time.sleep,
                  renew_credentials: Callable[[], bool] | None = None) -> TargetOutcome:
    """Bring one account and region's Security Hub in line with the scan (``renew_credentials``: see :func:`import_findings`)."""
    existing = existing_findings(client, plan.account_id, plan.region)
    earlier = {finding.get("Id"): finding for finding in existing}
    current = []
    for finding in plan.current:
        previous = earlier.get(finding["Id"])
        if previous is not None:
            if _newer(previous.get("UpdatedAt"), _instant(updated_at)):
                continue  # imported from a newer scan than this document
            if previous.get("CreatedAt"):
                finding = dict(finding, CreatedAt=previous["CreatedAt"])
        current.append(finding)
    updates, archivals = changes_for(plan, existing, updated_at)
    if dry_run:
        return TargetOutcome(imported=len(current), updated=len(updates), archived=len(archivals))
    outcome = TargetOutcome()
    failed_ids: set[str] = set()
    for findings, counter in ((current, "imported"), (updates, "updated"), (archivals, "archived")):
        if not findings:
            continue
        result = import_findings(client, findings, sleep=sleep, renew_credentials=renew_credentials)
        outcome.failed.extend(result.failed)
        failed_ids.update(item[0] for item in result.failed)
        setattr(outcome, counter, sum(1 for f in findings if f["Id"] not in failed_ids))
    return outcome


@dataclass
class UploadSummary:
    imported: int = 0
    updated: int = 0
    archived: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)
    not_scanned: set[str] = field(default_factory=set)

    def add(self, outcome: TargetOutcome) -> None:
        self.imported += outcome.imported
        self.updated += outcome.updated
        self.archived += outcome.archived
        self.failed += len(outcome.failed)

    def merge(self, other: "UploadSummary") -> None:
        self.imported += other.imported
        self.updated += other.updated
        self.archived += other.archived
        self.failed += other.failed
        self.problems.extend(other.problems)
        self.not_scanned |= other.not_scanned


def _upload_account(account_id: str, plans: list[TargetPlan], sessions: Any, updated_at: str, dry_run: bool,
                    sleep: Callable[[float], None]) -> UploadSummary:
    """One account's regions, in order; a role that cannot be assumed fails them all with one message."""
    summary = UploadSummary()
    try:
        sessions.verify_access(account_id)
    except AwsError as error:
        summary.failed += sum(len(plan.current) for plan in plans)
        summary.problems.append(f"account {account_id}: {error}")
        return summary

    def renew() -> bool:
        return sessions.renew_credentials(account_id)

    for plan in plans:
        try:
            client = sessions.client(account_id, "securityhub", plan.region)
            try:
                outcome = upload_target(client, plan, updated_at, dry_run=dry_run, sleep=sleep, renew_credentials=renew)
            except botocore.exceptions.ClientError as error:
                # GetFindings answered that the role's credentials expired: assume it anew and go once more
                # (an import already made is made again harmlessly: BatchImportFindings updates by Id).
                if not (credentials_expired(error) and renew()):
                    raise
                outcome = upload_target(client, plan, updated_at, dry_run=dry_run, sleep=sleep, renew_credentials=renew)
        except (AwsError, botocore.exceptions.BotoCoreError) as error:
            summary.failed += len(plan.current)
            summary.problems.append(f"account {account_id} {plan.region}: {error}")
            continue
        except botocore.exceptions.ClientError as error:
            # e.g. Security Hub is not enabled there (InvalidAccessException), or GetFindings is denied
            code = error.response.get("Error", {}).get("Code", "ClientError")
            message = error.response.get("Error", {}).get("Message", "")
            summary.failed += len(plan.current)
            summary.problems.append(f"account {account_id} {plan.region}: {code}: {message}")
            continue
        summary.add(outcome)
        for reason in sorted({f"{code}: {message}" for _, code, message in outcome.failed})[:3]:
            summary.problems.append(f"account {account_id} {plan.region}: {reason}")
    return summary


def upload(document: Mapping[str, Any], sessions: Any, *, dry_run: bool = False, concurrency: int = 8,
           sleep: Callable[[float], None] = time.sleep) -> UploadSummary:
    """Upload every account and region of ``document`` through ``sessions`` (a ``scanner.sessions.AccountSessions``).

    ``document`` is trusted as it is: :func:`main` read it through
    :func:`scanner.results_schema.load_document`, which validates it against the shipped schema.
    Accounts are handled ``concurrency`` at a time; the summary does not depend on their order.
    """
    scan = document["scan"]
    updated_at = text(scan.get("finished_at")) or text(scan.get("started_at"))
    summary = UploadSummary()
    # Accounts the scan itself could not reach have only ERROR results, and
    # their role would refuse this upload too: there is nothing to import.
    not_scanned = {text(a.get("id")) for a in scan.get("accounts") or [] if a.get("status") in ("error", "skipped")}
    by_account: dict[str, list[TargetPlan]] = {}
    for (account_id, _region), plan in sorted(plan_targets(document).items()):
        if account_id in not_scanned:
            summary.not_scanned.add(account_id)
        else:
            by_account.setdefault(account_id, []).append(plan)
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="orgscan-upload") as pool:
        futures = [pool.submit(_upload_account, account_id, plans, sessions, updated_at, dry_run, sleep)
                   for account_id, plans in by_account.items()]
        for future in futures:  # in account order, so the messages are too
            summary.merge(future.result())
    return summary


def _parser() -> argparse.ArgumentParser:
    parser = UsageErrorParser(
        prog="orgscan upload securityhub",
        description="Import the findings of results.json into AWS Security Hub, each into its own account and region.",
    )
    parser.add_argument("results", type=Path, help="the results.json of a scan")
    parser.add_argument("--role-name", default=DEFAULT_ROLE_NAME,
                        help=f"role to assume in every account but the caller's (default {DEFAULT_ROLE_NAME}); "
                             "it needs securityhub:BatchImportFindings and securityhub:GetFindings")
    parser.add_argument("--external-id", default=None, help="sts:ExternalId to pass when assuming the role")
    parser.add_argument("--role-session-name", default=DEFAULT_ROLE_SESSION_NAME,
                        help=f"role session name (default {DEFAULT_ROLE_SESSION_NAME})")
    parser.add_argument("--profile", default=None, help="AWS profile of the caller")
    parser.add_argument("--concurrency", type=int, default=8, metavar="N",
                        help="accounts to upload at the same time (default 8)")
    parser.add_argument("--dry-run", action="store_true",
                        help="read Security Hub and print what would change, without importing anything")
    return parser


def upload_sessions(args: argparse.Namespace) -> AccountSessions:
    """The upload's sessions: the caller's credentials, and the role it assumes in every other account."""
    settings = ScanSettings(profile=args.profile, role_name=args.role_name, external_id=args.external_id,
                            role_session_name=args.role_session_name, concurrency=args.concurrency)
    return account_sessions(settings)


def main(argv: list[str] | None = None) -> int:
    """Run ``orgscan upload securityhub``; 0 when every finding was imported, 1 when any failed, 2 on bad input."""
    args = _parser().parse_args(argv)
    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        print(f"orgscan upload securityhub: --concurrency must be between 1 and {MAX_CONCURRENCY}", file=sys.stderr)
        return 2
    try:
        validate_role_name(args.role_name)
        document = load_document(args.results)
        sessions = upload_sessions(args)
        sessions.caller_identity()
    except (DocumentError, UsageError) as error:
        print(f"orgscan upload securityhub: {error}", file=sys.stderr)
        return 2
    summary = upload(document, sessions, dry_run=args.dry_run, concurrency=args.concurrency)
    for problem in summary.problems:
        print(f"orgscan upload securityhub: {problem}", file=sys.stderr)
    if summary.not_scanned:
        print(f"orgscan upload securityhub: skipped {len(summary.not_scanned)} account(s) the scan could not reach: "
              f"{', '.join(sorted(summary.not_scanned))}", file=sys.stderr)
    verb = "would be " if args.dry_run else ""
    print(f"{summary.imported} {verb}imported, {summary.updated} {verb}updated, "
          f"{summary.archived} {verb}archived, {summary.failed} failed")
    return 1 if summary.failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
