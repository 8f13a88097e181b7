"""One target's checks, run into result records: the part of a scan every executor shares.

A target is one account and one region (or ``global`` for account-wide
checks); its planned checks run one after another and share the account's
answer cache. Each check runs on a thread of its own, with a timeout; whatever
a check does, the others go on. Executors (``scanner.executors``) decide where
targets run and how many at once.
"""
from __future__ import annotations

import contextlib
import logging
import queue
import threading
from dataclasses import replace
from typing import Any, Callable, Iterator, Mapping

import botocore.exceptions

from scanner.aws import AwsReader, TargetCache
from scanner.config import ScanSettings
from scanner.context import Account, CheckContext, OrganizationFacts
from scanner.document import result_record
from scanner.error_results import describe_error, error_records
from scanner.errors import OrgscanError, ServiceNotAvailable
from scanner.findings import error_kind
from scanner.model import GLOBAL_REGION, Check, Finding, Status
from scanner.plan import ScanPlan, Target
from scanner.sessions import AccountSessions

log = logging.getLogger(__name__)

#: Spool-only key naming the check that produced a bridged result; removed from the document.
ORIGIN_KEY = "_origin"


class FailureWatchingReader:
    """An ``AwsReader`` for one check run that remembers which kinds of failure its calls met.

    A check may turn an AWS failure into ERROR findings of its own ("cannot list
    the region's keys: ..."), so the exception never reaches the runner; the
    reader still saw it. When it saw AWS unreachable (``transport``,
    ``throttling``, ``service``), the run's ERROR results are marked so, and
    ``--fail-on-incomplete`` can tell an incomplete scan from a finished one.
    """

    def __init__(self, reader: AwsReader) -> None:
        self._reader = reader
        self.failure_kinds: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_reader":
            raise AttributeError(name)  # copy/pickle probe before _reader exists
        return getattr(self._reader, name)

    @contextlib.contextmanager
    def _watching(self) -> Iterator[None]:
        try:
            yield
        except Exception as error:
            self.failure_kinds.add(error_kind(error))
            raise

    def call(self, *args: Any, **kwargs: Any) -> dict:
        with self._watching():
            return self._reader.call(*args, **kwargs)

    def pages(self, *args: Any, **kwargs: Any) -> list[dict]:
        with self._watching():
            return self._reader.pages(*args, **kwargs)

    def collect(self, *args: Any, **kwargs: Any) -> list:
        with self._watching():
            return self._reader.collect(*args, **kwargs)

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[dict]:
        with self._watching():
            yield from self._reader.stream(*args, **kwargs)

    def unreachable_kind(self) -> str | None:
        """``transport``, ``throttling`` or ``service`` when some call met AWS unreachable, else ``None``."""
        return next((kind for kind in ("transport", "throttling", "service") if kind in self.failure_kinds), None)


class CheckThreads:
    """Daemon threads that run checks, each reused from one check run to the next.

    A check runs on a thread of its own so that its timeout can be enforced; a
    check that overruns keeps its thread, and the scan goes on without it.
    Daemon threads, because such a check must not keep the process alive at exit
    (``concurrent.futures`` joins its threads at exit). Reused, because a new
    thread per check run (thousands per scan) made the interpreter take its
    thread-state lock as often, and under a profiler that samples every thread's
    stack (a Dask worker's) CPython before 3.11.9 and 3.12.3 can deadlock on that
    lock and the GIL (python/cpython#106883).
    """

    def __init__(self) -> None:
        self._idle: list[queue.SimpleQueue] = []
        self._lock = threading.Lock()
        self._closed = False

    def run(self, function: Callable[[], None], name: str) -> threading.Event:
        """Start ``function`` on an idle thread (or a new one); the event is set when it returns."""
        finished = threading.Event()
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
        if inbox is None:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._serve, args=(inbox,), name=name, daemon=True).start()
        inbox.put((function, name, finished))
        return finished

    def _serve(self, inbox: queue.SimpleQueue) -> None:
        while True:
            work = inbox.get()
            if work is None:
                return
            function, name, finished = work
            del work
            threading.current_thread().name = name
            try:
                function()
            finally:
                # Idle again before the run is reported finished: the next run finds this thread.
                # Nothing of the run stays referenced while the thread waits.
                del function
                with self._lock:
                    closed = self._closed
                    if not closed:
                        self._idle.append(inbox)
                finished.set()
                del finished
            if closed:
                return

    def close(self) -> None:
        """Let the threads end: idle ones now, busy ones (an overrunning check) when their check returns."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for inbox in idle:
            inbox.put(None)


class TargetRunner:
    """Runs the planned checks of one target and returns their result records.

    Used by every executor: in threads here, or inside a Dask worker (which
    builds its own ``AccountSessions`` from its own identity).
    """

    def __init__(
        self,
        sessions: AccountSessions,
        checks: Mapping[str, Check],
        *,
        accounts: Mapping[str, Account],
        account_regions: Mapping[str, tuple[str, ...]],
        default_region: str,
        organization: OrganizationFacts | None,
        scan_mode: str,
        check_options: Mapping[str, Mapping[str, Any]],
        check_timeout: float,
        caches: Mapping[str, TargetCache] | None = None,
    ) -> None:
        self.sessions = sessions
        self.checks = checks
        self.accounts = accounts
        self.account_regions = account_regions
        self.default_region = default_region
        self.organization = organization
        self.scan_mode = scan_mode
        self.check_options = check_options
        self.check_timeout = check_timeout
        # Pre-filled for the caller's account: the organization reader shares its answers.
        self._caches: dict[str, TargetCache] = dict(caches or {})
        self._lock = threading.Lock()
        self._check_threads = CheckThreads()
        self._run_slots = {
            check_id: threading.BoundedSemaphore(check.metadata.max_parallel_runs)
            for check_id, check in checks.items()
            if check.metadata.max_parallel_runs is not None
        }

    @property
    def run_limits(self) -> dict[str, int]:
        """``max_parallel_runs`` of every check that has one."""
        return {check_id: check.metadata.max_parallel_runs for check_id, check in self.checks.items() if check.metadata.max_parallel_runs}

    def _cache(self, account_id: str) -> TargetCache:
        with self._lock:
            cache = self._caches.get(account_id)
            if cache is None:
                cache = self._caches[account_id] = self.sessions.target_cache(account_id)
            return cache

    def close(self) -> None:
        """The scan is over: let the check threads end."""
        self._check_threads.close()

    def forget_account(self, account_id: str) -> None:
        """Drop an account's answers, clients and session once its last target is done, so memory stays flat."""
        with self._lock:
            self._caches.pop(account_id, None)
        self.sessions.forget(account_id)

    def run(self, target: Target, planned: list[str]) -> list[dict[str, Any]]:
        """The result records of every planned check of one target."""
        account = self.accounts[target.account_id]
        cache = self._cache(account.id)
        records: list[dict[str, Any]] = []
        for check_id in planned:
            check = self.checks[check_id]
            try:
                records.extend(self._run_check(check, account, target, cache))
            except Exception as error:  # noqa: BLE001 - a check breaking its contract is its own ERROR, never the scan's end
                message, evidence = describe_error(error)
                records.append(error_records(check, account.id, target.region, message, evidence))
        return records

    def _run_check(self, check: Check, account: Account, target: Target, cache: TargetCache) -> list[dict[str, Any]]:
        meta = check.metadata
        regions = self.account_regions[account.id]
        api_region = target.region if target.region != GLOBAL_REGION else (regions[0] if regions else self.default_region)
        reader = FailureWatchingReader(AwsReader(cache, api_region, frozenset(meta.iam_actions), meta.id))
        organization = self.organization
        if organization is not None and organization.management is not None:
            organization = replace(organization, management=organization.management.for_check(meta.id, meta.iam_actions))
        context = CheckContext(
            account=account,
            region=target.region,
            api_region=api_region,
            aws=reader,
            organization=organization,
            options=self.check_options.get(meta.id, {}),
            scan_mode=self.scan_mode,
            scan_regions=regions,
            credentials_provider=lambda fresh: self.sessions.environment(account.id, fresh),
        )
        findings: list[Finding] = []
        failure: list[BaseException] = []
        # A limited check holds its run slot for as long as it really runs, past its timeout
        # if it overruns; the timeout starts once it has the slot.
        slot = self._run_slots.get(meta.id)

        def judge() -> None:
            try:
                for finding in check(context) or ():
                    findings.append(finding)
            except BaseException as error:  # noqa: BLE001 - reported as ERROR, never stops the scan
                failure.append(error)
            finally:
                if slot is not None:
                    slot.release()

        if slot is not None:
            slot.acquire()
        try:
            finished = self._check_threads.run(judge, f"check-{meta.id}-{account.id}-{target.region}")
        except BaseException:
            if slot is not None:
                slot.release()
            raise
        timeout = meta.timeout_seconds if meta.timeout_seconds is not None else self.check_timeout
        if not finished.wait(timeout):
            return [error_records(check, account.id, target.region, f"check timed out after {timeout:g} s", {"timeout_seconds": timeout})]
        records = [self._record(check, account, target, finding) for finding in list(findings)]
        unreachable = reader.unreachable_kind()
        if unreachable is not None:
            for record in records:
                if record["status"] == Status.ERROR.value and not (record.get("evidence") or {}).get("error_kind"):
                    record["evidence"] = {**(record.get("evidence") or {}), "error_kind": unreachable}
        if failure:
            error = failure[0]
            if isinstance(error, ServiceNotAvailable) and not records:
                return [self._not_applicable(check, account, target, f"{error.service} is not available in {error.region}")]
            if not isinstance(error, (OrgscanError, botocore.exceptions.BotoCoreError)):
                log.debug("check %s failed in %s/%s", meta.id, account.id, target.region, exc_info=error)
            message, evidence = describe_error(error)
            records.append(error_records(check, account.id, target.region, message, evidence))
        elif not records:
            records.append(self._not_applicable(check, account, target, "no resources in scope"))
        return records

    def _not_applicable(self, check: Check, account: Account, target: Target, message: str) -> dict[str, Any]:
        record = error_records(check, account.id, target.region, message)
        record["status"] = Status.NOT_APPLICABLE.value
        return record

    def _record(self, check: Check, account: Account, target: Target, finding: Finding) -> dict[str, Any]:
        meta = check.metadata
        if not isinstance(finding, Finding):
            raise TypeError(f"check {meta.id} yielded {type(finding).__name__}, not a Finding")
        record = result_record(
            check_id=finding.check_id or meta.id,
            title=finding.title or meta.title,
            service=meta.service,
            status=finding.status,
            severity=finding.severity or meta.severity,
            account_id=account.id,
            region=finding.region or target.region,
            target_region=target.region,
            resource_type=finding.resource_type or meta.resource_type,
            resource_id=finding.resource_id,
            resource_arn=finding.resource_arn,
            message=finding.message,
            evidence=finding.evidence,
        )
        if finding.check_id and finding.check_id != meta.id:
            record[ORIGIN_KEY] = meta.id  # lets the completeness check credit the bridge that ran
        return record


def build_target_runner(sessions: AccountSessions, checks: Mapping[str, Check], plan: ScanPlan, settings: ScanSettings) -> TargetRunner:
    """A TargetRunner for a plan; Dask workers call this with their own sessions."""
    accounts = {a.id: Account(a.id, a.name, plan.partition) for a in plan.accounts}
    organization = None
    caches = {}
    if plan.mode == "organization":
        # One cache for the caller's account, shared by its own checks and by
        # organization-wide reads (e.g. organization trails), so neither repeats the other's calls.
        caller_cache = caches[plan.caller_account_id] = sessions.target_cache(plan.caller_account_id)
        organization = OrganizationFacts(
            id=plan.organization_id,
            management_account_id=plan.management_account_id,
            management=AwsReader(caller_cache, plan.default_region),
        )
    return TargetRunner(
        sessions,
        checks,
        accounts=accounts,
        account_regions={a.id: a.regions for a in plan.accounts},
        default_region=plan.default_region,
        organization=organization,
        scan_mode=plan.mode,
        check_options=settings.check_options,
        check_timeout=settings.check_timeout,
        caches=caches,
    )
