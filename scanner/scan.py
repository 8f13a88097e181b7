"""One scan from settings to ``results.json``: plan, fan out, spool, account for everything, render."""
from __future__ import annotations

import logging
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, TextIO

import pluggy

from scanner.baseline import compare_with_baseline, counts_toward_exit, load_baseline
from scanner.config import ScanSettings, settings_from_plan, validate
from scanner.document import PLAN_FILE, Spool, build_document, find_gaps, utc_now
from scanner.error_results import error_records
from scanner.errors import HistoryError, UsageError
from scanner.executors import Executor, TargetOutcome
from scanner.executors.local import LocalExecutor
from scanner.history import entry_name, open_history, scope_of
from scanner.findings import incomplete_reason
from scanner.frameworks import check_entry, collect_frameworks, mappings_by_check
from scanner.iam_policy import member_actions
from scanner.model import Check, Severity, Status
from scanner.options import validate_check_options
from scanner.output_dir import record_written, remove_earlier_reports
from scanner.plugins import collect_checks, collect_report_formats, notify
from scanner.results_schema import result_problem
from scanner.plan import ScanPlan, Work, planned_targets, targets_per_account, validate_plan
from scanner.progress import Progress
from scanner.sanitizer import safe_text
from scanner.reporting import ReportFormat
from scanner.runner import ORIGIN_KEY, build_target_runner
from scanner.sessions import account_sessions
from scanner.suppressions import SuppressionFile, apply_suppressions, is_suppressed, load_suppressions, today_utc
from scanner.targets import plan_scan

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


def select_formats(available: Mapping[str, ReportFormat], names: list[str], *, always_json: bool = True) -> list[ReportFormat]:
    """The report formats asked for, ``json`` first when it is one of them.

    A scan always writes ``json`` (``results.json`` is the scan's record, which
    ``orgscan report`` and ``--resume`` read); ``orgscan report`` renders it
    again only when named (``always_json=False``).
    """
    with_json = always_json or "json" in names
    wanted = (["json"] if with_json else []) + [n for n in names if n != "json"]
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
                                     region=settings.first_named_region)
                        if settings.history else None)
        # Validated now (exit 2 before any AWS call), recorded in the document so reports need nothing else.
        self.frameworks = collect_frameworks(manager)
        self.sessions = account_sessions(settings, member_actions(self.checks))
        self.stop = threading.Event()

    # planning ----------------------------------------------------------------

    def plan(self) -> ScanPlan:
        """Accounts, their regions and the checks: fixed before any check runs, stored in the spool."""
        return plan_scan(self.sessions, self.settings, self.checks)

    def stored_plan(self, stored: Mapping[str, Any], source: str) -> ScanPlan:
        """An interrupted scan's plan (``plan.json``), validated, with this scan's role settings and default region."""
        return ScanPlan.from_dict(stored, source, role=self.settings.role, default_region=self.sessions.default_region)

    # running -------------------------------------------------------------------

    def _baseline_from_history(self, plan: ScanPlan) -> None:
        """Check that the history can be read and, without ``--baseline``, take the baseline from it (HistoryError otherwise).

        Done before any check runs: a history that cannot be read stops the scan
        before it costs anything (exit code 6).
        """
        if self.history is None:
            return
        self.history.check_access()
        if self.baseline is not None:
            return
        found = self.history.find_baseline(scope_of(plan.to_dict()), entry_name({"started_at": plan.started_at, "id": plan.scan_id}))
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

    def run(self, plan: ScanPlan, resuming: bool = False) -> ScanOutcome:
        settings = self.settings
        self._baseline_from_history(plan)
        # Read once per account here, not converted again for every result.
        self._ou_paths = {a.id: a.ou_path_dicts() for a in plan.accounts}
        scan_section = self._scan_section(plan)
        if not resuming:
            self.spool.create()
            self.spool.write_plan({**plan.to_dict(), "settings": settings.to_dict()})
        self._remove_earlier_reports()
        self.spool.open(truncate=not resuming)
        done = self.spool.completed_targets() if resuming else set()
        notify(self.manager, "orgscan_scan_started", scan=scan_section)

        work: Work = []
        for account in plan.accounts:
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
        return self._finish(plan, scan_section, interrupted, resuming)

    def _remove_earlier_reports(self) -> None:
        """Remove the reports of the scan before this one, so that a scan that fails leaves none looking current."""
        removed = remove_earlier_reports(self.output_dir)
        if removed and not self.settings.quiet:
            print(f"orgscan: removed {len(removed)} report file(s) of the previous scan from {self.output_dir}: "
                  f"{', '.join(removed)}", file=self.stderr)

    def _executor(self, plan: ScanPlan) -> Executor:
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

    def _scan_section(self, plan: ScanPlan) -> dict[str, Any]:
        return {
            "id": plan.scan_id,
            "started_at": plan.started_at,
            "finished_at": None,
            "mode": plan.mode,
            "organization_id": plan.organization_id,
            "management_account_id": plan.management_account_id,
            "regions": list(plan.regions),
            "checks": [check_entry(self.checks[c].metadata, mappings_by_check(self.frameworks)) for c in plan.checks],
            "frameworks": [framework.to_dict() for framework in self.frameworks],
            "accounts": [{"id": a.id, "name": a.name, "status": a.status, "error": a.error, "ou_path": self._ou_paths[a.id]}
                         for a in plan.accounts],
        }

    def _finish(
        self,
        plan: ScanPlan,
        scan_section: dict[str, Any],
        interrupted: bool,
        resuming: bool = False,
    ) -> ScanOutcome:
        results: list[dict[str, Any]] = []
        origin_of: dict[str, str] = {}
        planned = [
            (account.id, target.region, check_id)
            for account in plan.accounts
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
    validate_plan(plan, source)  # before its settings are read
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
    return scan.run(scan.stored_plan(plan, source), resuming=True)
