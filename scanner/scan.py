"""One scan from settings to ``results.json``: plan, fan out, spool, account for everything, render."""
from __future__ import annotations

import concurrent.futures
import logging
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, TextIO

import pluggy

from scanner.aws import AwsReader
from scanner.baseline import compare_with_baseline, counts_toward_exit, load_baseline
from scanner.config import ScanSettings, settings_from_plan, validate
from scanner.document import MAX_NAME, PLAN_FILE, Spool, build_document, find_gaps, new_scan_id, utc_now
from scanner.errors import AwsError, HistoryError, UsageError
from scanner.history import entry_name, open_history, scope_of
from scanner.findings import incomplete_reason
from scanner.frameworks import check_entry, collect_frameworks, mappings_by_check
from scanner.iam_policy import member_actions
from scanner.model import Check, Severity, Status
from scanner.options import validate_check_options
from scanner.output_dir import record_written, remove_earlier_reports
from scanner.plugins import collect_checks, collect_report_formats, notify
from scanner.results_schema import result_problem
from scanner.sanitizer import safe_optional_text, safe_text
from scanner.reporting import ReportFormat
from scanner.runner import (
    ORIGIN_KEY,
    LocalExecutor,
    Progress,
    Target,
    TargetOutcome,
    build_target_runner,
    error_records,
    planned_targets,
    targets_per_account,
)
from scanner.sessions import AccountSessions
from scanner.suppressions import SuppressionFile, apply_suppressions, is_suppressed, load_suppressions, today_utc
from scanner.targets import PlannedAccount, enabled_regions, plan_accounts, validate_regions

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_ERROR = 3
EXIT_INCOMPLETE = 5
EXIT_HISTORY = 6
EXIT_INTERRUPTED = 130


@dataclass
class ScanOutcome:
    document: dict[str, Any]
    output_dir: Path
    written: list[Path]
    exit_code: int


def select_checks(available: Mapping[str, Check], include: list[str], exclude: list[str]) -> dict[str, Check]:
    """The checks to run; an unknown id is a usage error that names it."""
    for check_id in [*include, *exclude]:
        if check_id not in available:
            raise UsageError(f"unknown check id {check_id!r} (see `orgscan checks list`)")
    chosen = {cid: c for cid, c in available.items() if (not include or cid in include) and cid not in exclude}
    if not chosen:
        raise UsageError("no checks selected")
    return chosen


def select_formats(available: Mapping[str, ReportFormat], names: list[str]) -> list[ReportFormat]:
    """The report formats asked for, always including ``json``."""
    wanted = ["json", *[n for n in names if n != "json"]]
    for name in wanted:
        if name not in available:
            raise UsageError(f"--format: unknown report format {name!r} (available: {', '.join(sorted(available))})")
    return [available[n] for n in wanted]


def exit_code_for(results: list[Mapping[str, Any]], fail_on: str, fail_on_incomplete: bool = False,
                  fail_on_new: bool = False) -> int:
    """5 for an incomplete scan when asked to tell it apart, else 1 for a FAIL at or above ``fail_on``, else 3 for any ERROR, else 0.

    "Incomplete" (``--fail-on-incomplete``): some result is ERROR because AWS
    could not be asked (``scanner.findings.incomplete_reason``): its FAILs are a
    partial list, so it wins over 1. A suppressed FAIL (an accepted risk,
    ``scanner.suppressions``) does not count, and with ``fail_on_new`` only FAILs
    new since the baseline (``scanner.baseline.counts_toward_exit``) can give 1.
    """
    if fail_on_incomplete and any(incomplete_reason(r) for r in results):
        return EXIT_INCOMPLETE
    if fail_on != "none":
        threshold = Severity(fail_on).rank
        if any(r["status"] == Status.FAIL.value and Severity(r["severity"]).rank >= threshold and not is_suppressed(r)
               for r in counts_toward_exit(results, fail_on_new)):
            return EXIT_FAIL
    if any(r["status"] == Status.ERROR.value for r in results):
        return EXIT_ERROR
    return EXIT_OK


def write_reports(document: Mapping[str, Any], output_dir: Path, formats: list[ReportFormat]) -> list[Path]:
    """Render every asked-for format from the document alone; the files written are listed for the next scan to remove."""
    written: list[Path] = []
    try:
        for report in formats:
            written.extend(report.write(document, output_dir))
    finally:
        if written:
            record_written(output_dir, written)
    return written


class Scan:
    """A scan's state: settings, plugins, checks, sessions and the plan."""

    def __init__(
        self,
        settings: ScanSettings,
        manager: pluggy.PluginManager,
        *,
        stderr: TextIO | None = None,
        only_checks: list[str] | None = None,
    ) -> None:
        self.settings = settings
        self.manager = manager
        # Looked up at call time: pytest's capsys swaps sys.stderr after import.
        self.stderr = stderr or sys.stderr
        self.output_dir = Path(settings.output_dir)
        # Validated (the output directory too), not created: run() creates the spool once the plan is made.
        validate(settings)
        self.spool = Spool(self.output_dir)
        available = collect_checks(manager, settings.options())
        if only_checks is None:
            self.checks = select_checks(available, settings.checks, settings.exclude_checks)
        else:
            # Resuming: exactly the interrupted scan's checks, whatever else is loaded now.
            missing = [c for c in only_checks if c not in available]
            if missing:
                raise UsageError(
                    f"--resume: check {safe_text(missing[0], 200)!r} of the interrupted scan is not loaded; "
                    "name the plugin it came from again with --plugin"
                )
            self.checks = {c: available[c] for c in only_checks}
        # Before any AWS call: a wrong [checks.<id>] option is exit 2 naming the file, table and key.
        validate_check_options(available, settings.check_options, settings.config)
        self.formats = select_formats(collect_report_formats(manager), settings.format)
        # Read and validated now, before any AWS call: a bad entry is a usage error (exit 2).
        self.suppressions: SuppressionFile | None = None
        if settings.suppressions:
            self.suppressions = load_suppressions(settings.suppressions, max_days=settings.suppressions_max_days,
                                                  today=today_utc())
        # Read and validated now, before any AWS call: a bad baseline is a usage error (exit 2).
        self.baseline = load_baseline(settings.baseline) if settings.baseline else None
        self.history = (open_history(settings.history, kms_key=settings.history_kms_key, profile=settings.profile,
                                     region=settings.regions[0] if settings.regions and settings.regions != ["all"] else None)
                        if settings.history else None)
        # Validated now (exit 2 before any AWS call), recorded in the document so reports need nothing else.
        self.frameworks = collect_frameworks(manager)
        self.sessions = AccountSessions(
            profile=settings.profile,
            role_name=settings.role_name,
            external_id=settings.external_id,
            role_session_name=settings.role_session_name,
            max_pool_connections=max(10, settings.concurrency),
            default_region=(settings.regions[0] if settings.regions and settings.regions != ["all"] else None),
            member_actions=member_actions(self.checks),
        )
        self.stop = threading.Event()

    # planning ----------------------------------------------------------------

    def plan(self) -> dict[str, Any]:
        """Accounts, their regions and the checks: fixed before any check runs, stored in the spool."""
        settings = self.settings
        if settings.regions and settings.regions != ["all"]:
            if "all" in settings.regions:
                raise UsageError("--regions: 'all' cannot be combined with named regions")
            regions = validate_regions(settings.regions, self.sessions.known_regions())
        elif settings.regions == ["all"]:
            regions = None
        else:
            regions = [self.sessions.default_region]
        account_plan = plan_accounts(
            self.sessions,
            organization=settings.org,
            ous=settings.ou,
            accounts=settings.accounts,
            exclude_accounts=settings.exclude_accounts,
            concurrency=settings.concurrency,
        )
        if not account_plan.accounts:
            raise UsageError("no accounts to scan (check --ou, --accounts and --exclude-accounts)")
        fallback_regions = regions
        if regions is None:
            caller_reader = AwsReader(self.sessions.target_cache(self.sessions.caller_account_id), self.sessions.default_region)
            fallback_regions = self._enabled_regions(caller_reader)
        scannable = [a for a in account_plan.accounts if a.status == "scanned"]
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.settings.concurrency) as pool:
            list(pool.map(lambda a: self._prepare_account(a, regions, fallback_regions), scannable))
        all_regions = sorted({r for a in account_plan.accounts for r in a.regions} or set(fallback_regions or []))
        return {
            "scan_id": new_scan_id(),
            "started_at": utc_now(),
            "mode": account_plan.mode,
            "organization_id": safe_optional_text(account_plan.organization_id, MAX_NAME),
            "management_account_id": account_plan.management_account_id,
            "caller_account_id": self.sessions.caller_account_id,
            "partition": self.sessions.partition,
            "regions": all_regions,
            "checks": list(self.checks),
            # Account names and errors come from AWS (the account's owner names it): made safe here, once.
            "accounts": [
                {"id": a.id, "name": safe_text(a.name, MAX_NAME), "status": a.status, "error": safe_optional_text(a.error, MAX_NAME),
                 "regions": a.regions, "ou_path": a.ou_path}
                for a in account_plan.accounts
            ],
            "settings": self.settings.to_dict(),
        }

    def _enabled_regions(self, reader: AwsReader) -> list[str]:
        try:
            return enabled_regions(reader, self.sessions.known_regions())
        except AwsError as error:
            raise UsageError(f"--regions all: cannot list the enabled regions: {error}") from None

    def _prepare_account(self, account: PlannedAccount, regions: list[str] | None, fallback: list[str] | None) -> None:
        """Assume the account's role once and find its regions; a failure makes the account ERROR."""
        account.regions = list(regions or fallback or [])
        try:
            self.sessions.verify_access(account.id)
            if regions is None:
                reader = AwsReader(self.sessions.target_cache(account.id), self.sessions.default_region)
                account.regions = enabled_regions(reader, self.sessions.known_regions())
        except AwsError as error:
            account.status = "error"
            if error.action == "sts:AssumeRole":
                account.error = f"cannot assume {self.sessions.role_arn(account.id)}: {error.code}: {error.detail}"[:500]
            else:
                account.error = f"{error.action} failed: {error.code}: {error.detail}"[:500]

    # running -------------------------------------------------------------------

    def _baseline_from_history(self, plan: Mapping[str, Any]) -> None:
        """Check that the history can be read and, without ``--baseline``, take the baseline from it (HistoryError otherwise).

        Done before any check runs: a history that cannot be read stops the scan
        before it costs anything (exit code 6).
        """
        if self.history is None:
            return
        self.history.check_access()
        if self.baseline is not None:
            return
        found = self.history.find_baseline(scope_of(plan), entry_name({"started_at": plan["started_at"], "id": plan["scan_id"]}))
        if found is not None:
            entry, self.baseline = found
            if not self.settings.quiet:
                print(f"orgscan: comparing with scan {entry.scan_id} from the history ({self.history.where(entry.name)})",
                      file=self.stderr)

    def _store_in_history(self, document: Mapping[str, Any], written: list[Path]) -> str | None:
        """Store the complete scan in the history and prune it; the one-line reason when that failed, else ``None``."""
        if self.history is None:
            return None
        try:
            entry = self.history.store(document, written)
            pruned = self.history.prune(self.settings.history_keep, scope_of(document["scan"])) if self.settings.history_keep else []
        except HistoryError as error:
            return str(error)
        if not self.settings.quiet:
            note = f"; removed {len(pruned)} older scan(s)" if pruned else ""
            print(f"orgscan: stored in the history: {self.history.where(entry.name)}{note}", file=self.stderr)
        return None

    def run(self, plan: dict[str, Any], resuming: bool = False) -> ScanOutcome:
        settings = self.settings
        self._baseline_from_history(plan)
        accounts = {a["id"]: PlannedAccount(a["id"], a["name"], a["status"], a["error"], a["regions"], a.get("ou_path"))
                    for a in plan["accounts"]}
        self._ou_paths = {a.id: a.ou_path for a in accounts.values()}
        scan_section = self._scan_section(plan)
        if not resuming:
            self.spool.create()
            self.spool.write_plan(plan)
        self._remove_earlier_reports()
        self.spool.open(truncate=not resuming)
        done = self.spool.completed_targets() if resuming else set()
        notify(self.manager, "orgscan_scan_started", scan=scan_section)

        work: list[tuple[Target, list[str]]] = []
        for account in accounts.values():
            if account.status == "skipped":
                continue
            for target, planned in planned_targets(account, self.checks):
                if (target.account_id, target.region) in done:
                    continue
                if account.status == "error":
                    records = [error_records(self.checks[c], account.id, target.region, f"account not scanned: {account.error}") for c in planned]
                    self._target_done(TargetOutcome(target, planned, records), None)
                else:
                    work.append((target, planned))

        remaining_per_account = targets_per_account(work)
        progress = Progress(self.stderr, self.stderr.isatty() and not settings.quiet, len(remaining_per_account), len(work))

        def on_done(outcome: TargetOutcome) -> None:
            remaining_per_account[outcome.target.account_id] -= 1
            self._target_done(outcome, progress, remaining_per_account[outcome.target.account_id] == 0)

        interrupted = False
        previous = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
        if previous is not None:
            signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            self._executor(plan).run(lambda: build_target_runner(self.sessions, self.checks, plan, settings), work, on_done, self.stop)
        except KeyboardInterrupt:
            interrupted = True
            self.stop.set()
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            progress.close()
            self.spool.close()
        return self._finish(plan, scan_section, accounts, interrupted, resuming)

    def _remove_earlier_reports(self) -> None:
        """Remove the reports of the scan before this one, so that a scan that fails leaves none looking current."""
        removed = remove_earlier_reports(self.output_dir)
        if removed and not self.settings.quiet:
            print(f"orgscan: removed {len(removed)} report file(s) of the previous scan from {self.output_dir}: "
                  f"{', '.join(removed)}", file=self.stderr)

    def _executor(self, plan: Mapping[str, Any]) -> Any:
        if self.settings.executor == "dask":
            from scanner.executors.dask import DaskExecutor

            return DaskExecutor(self.settings, plan)
        return LocalExecutor(self.settings.concurrency)

    def _with_ou_path(self, record: dict[str, Any]) -> dict[str, Any]:
        """``record`` with its account's OU path (read once, at planning), so every result says which OU owns it."""
        record["ou_path"] = self._ou_paths.get(record["account_id"])
        return record

    def _target_done(self, outcome: TargetOutcome, progress: Progress | None, account_finished: bool = False) -> None:
        for record in outcome.records:
            self._with_ou_path(record)
        self.spool.write_target(outcome.target.account_id, outcome.target.region, outcome.planned_checks, outcome.records)
        for record in outcome.records:
            notify(self.manager, "orgscan_result", result=_public(record))
        if progress is not None:
            progress.target_done(outcome.records, account_finished)

    def _unplanned(self, record: Any, planned: set[tuple[str, str, str]], check_schema: bool) -> str | None:
        """Why a spooled record cannot be part of this scan's document (``None`` if it can).

        The spool's HMAC already refuses records this scan did not write; this
        is the second line: a record must belong to a planned (account, target
        region, check) and, when it was written by an earlier process
        (``check_schema``: resuming), fit the results schema. Records made by
        this process come from ``result_record`` and are not validated again
        (jsonschema costs about half a millisecond per record).
        """
        if not isinstance(record, dict):
            return "not an object"
        origin = record.get(ORIGIN_KEY)
        if check_schema:
            problem = result_problem({k: v for k, v in record.items() if k != ORIGIN_KEY})
            if problem:
                return problem
        if (record["account_id"], record["target_region"], origin or record["check_id"]) not in planned:
            return f"{record['account_id']} {record['target_region']} {record['check_id']} was not planned"
        return None

    def _scan_section(self, plan: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": plan["scan_id"],
            "started_at": plan["started_at"],
            "finished_at": None,
            "mode": plan["mode"],
            "organization_id": plan["organization_id"],
            "management_account_id": plan["management_account_id"],
            "regions": plan["regions"],
            "checks": [check_entry(self.checks[c].metadata, mappings_by_check(self.frameworks)) for c in plan["checks"]],
            "frameworks": [framework.to_dict() for framework in self.frameworks],
            "accounts": [{**{k: a[k] for k in ("id", "name", "status", "error")}, "ou_path": a.get("ou_path")} for a in plan["accounts"]],
        }

    def _finish(
        self,
        plan: Mapping[str, Any],
        scan_section: dict[str, Any],
        accounts: Mapping[str, PlannedAccount],
        interrupted: bool,
        resuming: bool = False,
    ) -> ScanOutcome:
        results: list[dict[str, Any]] = []
        origin_of: dict[str, str] = {}
        planned = [
            (account.id, target.region, check_id)
            for account in accounts.values()
            if account.status != "skipped"
            for target, checks in planned_targets(account, self.checks)
            for check_id in checks
        ]
        planned_set = set(planned)
        for record in self.spool.results():
            problem = self._unplanned(record, planned_set, check_schema=resuming)
            if problem:
                log.warning("spool %s: a record is ignored: %s", self.spool.path, problem)
                continue
            origin = record.pop(ORIGIN_KEY, None)
            if origin:
                origin_of[record["check_id"]] = origin
            results.append(record)
        for account_id, region, check_id in find_gaps(planned, results, origin_of):
            reason = (
                f"not scanned: the scan was interrupted; finish it with `orgscan scan --resume {self.output_dir}`"
                if interrupted
                else "no result was recorded for this check (internal error)"
            )
            results.append(self._with_ou_path(error_records(self.checks[check_id], account_id, region, reason)))
        bridged = {}
        for record in results:
            if record["check_id"] not in self.checks and record["check_id"] not in bridged:
                evidence = record.get("evidence") or {}
                bridged[record["check_id"]] = {
                    "id": record["check_id"],
                    "title": record["title"],
                    "severity": record["severity"],
                    "service": record["service"],
                    "remediation": evidence.get("remediation") or {},
                    "compliance": evidence.get("compliance") or [],
                    "bridged_by": origin_of.get(record["check_id"]),
                }
        scan_section["checks"] = scan_section["checks"] + sorted(bridged.values(), key=lambda c: c["id"])
        scan_section["finished_at"] = utc_now()
        if interrupted:
            scan_section["interrupted"] = True
        document = build_document(scan_section, results)
        if self.suppressions is not None:
            document = apply_suppressions(document, self.suppressions, today_utc())
        if self.baseline is not None:
            document = compare_with_baseline(document, self.baseline)
        written = write_reports(document, self.output_dir, self.formats)
        notify(self.manager, "orgscan_scan_finished", document=document, output_dir=str(self.output_dir))
        code = EXIT_INTERRUPTED if interrupted else exit_code_for(document["results"], self.settings.fail_on,
                                                                        self.settings.fail_on_incomplete,
                                                                        self.settings.fail_on_new)
        # Only a complete scan is kept, and only once its reports are all written.
        problem = None if interrupted else self._store_in_history(document, written)
        if problem is not None:
            print(f"orgscan: error: {problem} (the reports are in {self.output_dir})", file=self.stderr)
            code = EXIT_HISTORY
        return ScanOutcome(document, self.output_dir, written, code)


def _public(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != ORIGIN_KEY}


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_scan(settings: ScanSettings, manager: pluggy.PluginManager, *, stderr: TextIO | None = None) -> ScanOutcome:
    """Plan and run a new scan."""
    scan = Scan(settings, manager, stderr=stderr)
    return scan.run(scan.plan())


def resume_scan(
    output_dir: Path,
    manager_factory: Any,
    *,
    overrides: Mapping[str, Any] | None = None,
    stderr: TextIO | None = None,
) -> ScanOutcome:
    """Finish an interrupted scan: run only the targets not yet in its spool.

    The output directory, ``plan.json`` and the spool are checked before
    anything is written: the directory must be private to this user, the
    plan must match its HMAC and pass the same validation as fresh options
    (:func:`scanner.config.settings_from_plan`), and ``manager_factory``
    (given the stored settings) must load only plugins the command line names.
    """
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        raise UsageError(f"--resume {output_dir}: no such directory")
    spool = Spool(output_dir)
    if not spool.directory.exists() and not spool.directory.is_symlink():
        raise UsageError(f"--resume {output_dir}: no interrupted scan there (missing {spool.directory / PLAN_FILE})")
    spool.check_existing()
    if not spool.has_plan():
        raise UsageError(f"--resume {output_dir}: no interrupted scan there (missing {spool.directory / PLAN_FILE})")
    source = str(spool.directory / PLAN_FILE)
    plan = spool.read_plan()
    validate_plan(plan, source)
    stored = dict(plan["settings"])
    stored["output_dir"] = str(output_dir)
    stored.update(overrides or {})
    settings = settings_from_plan(stored, source)
    try:
        scan = Scan(settings, manager_factory(settings), stderr=stderr, only_checks=plan["checks"])
    except UsageError as error:
        planned_plugins = [p for p in plan["settings"].get("plugin") or [] if isinstance(p, str) and p not in settings.plugin]
        if planned_plugins and "is not loaded" in str(error):
            named = ", ".join(safe_text(p, 200) for p in planned_plugins)
            raise UsageError(f"{error} (the interrupted scan loaded: {named})") from None
        raise
    return scan.run(plan, resuming=True)


def validate_plan(plan: Mapping[str, Any], source: str) -> None:
    """Nothing, or a UsageError naming what in a stored plan is not what a scan writes."""
    from scanner.config import ACCOUNT_ID_PATTERN

    def fail(where: str, what: str) -> None:
        raise UsageError(f"{source}: {where}: {what}")

    for key, kind in (("scan_id", str), ("started_at", str), ("mode", str), ("partition", str), ("caller_account_id", str),
                      ("regions", list), ("checks", list), ("accounts", list), ("settings", dict)):
        if not isinstance(plan.get(key), kind):
            fail(key, f"missing or not {'a string' if kind is str else 'an array' if kind is list else 'an object'}")
    if plan["mode"] not in ("organization", "account"):
        fail("mode", "must be organization or account")
    for key in ("organization_id", "management_account_id"):
        if plan.get(key) is not None and not isinstance(plan[key], str):
            fail(key, "must be a string or null")
    if not ACCOUNT_ID_PATTERN.fullmatch(plan["caller_account_id"]):
        fail("caller_account_id", "not a 12-digit account id")
    if not all(isinstance(c, str) for c in plan["checks"]) or not plan["checks"]:
        fail("checks", "must be a non-empty array of check ids")
    for index, account in enumerate(plan["accounts"]):
        where = f"accounts[{index}]"
        if not isinstance(account, dict):
            fail(where, "not an object")
        if not isinstance(account.get("id"), str) or not ACCOUNT_ID_PATTERN.fullmatch(account["id"]):
            fail(f"{where}.id", "not a 12-digit account id")
        if account.get("status") not in ("scanned", "error", "skipped"):
            fail(f"{where}.status", "must be scanned, error or skipped")
        if not isinstance(account.get("name"), str) or not (account.get("error") is None or isinstance(account["error"], str)):
            fail(where, "name must be a string and error a string or null")
        ou_path = account.get("ou_path")
        if ou_path is not None and not (isinstance(ou_path, list) and all(
                isinstance(unit, dict) and isinstance(unit.get("id"), str) and isinstance(unit.get("name"), str) for unit in ou_path)):
            fail(f"{where}.ou_path", "must be null or an array of {id, name} strings")
        regions = account.get("regions")
        if not isinstance(regions, list) or not all(isinstance(r, str) and r in plan["regions"] for r in regions):
            fail(f"{where}.regions", "must be regions of the plan")
    if not all(isinstance(r, str) and r for r in plan["regions"]):
        fail("regions", "must be region names")
