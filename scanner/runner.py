"""Fan-out of checks over (account, region) targets, with results spooled as they arrive.

The plan (accounts, their regions, the checks) is fixed before any check runs,
so the document can account for every planned (account, region, check). A
target is one account and one region (or ``global`` for account-wide checks);
its checks run one after another and share the account's answer cache, and
targets run concurrently (``--concurrency``). Each check runs with a timeout;
whatever a check, a region or an account does, the others go on.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import gc
import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

import botocore.exceptions

from scanner.aws import AwsReader, TargetCache
from scanner.context import Account, CheckContext, OrganizationFacts
from scanner.document import result_record
from scanner.errors import AccessDenied, AwsError, OrgscanError, ServiceNotAvailable, UndeclaredAction, UnmappedOperation
from scanner.findings import error_kind
from scanner.model import GLOBAL_REGION, Check, Finding, Scope, Status
from scanner.sessions import AccountSessions
from scanner.targets import PlannedAccount

if TYPE_CHECKING:
    from scanner.config import ScanSettings

log = logging.getLogger(__name__)

MAX_MESSAGE = 500
#: Spool-only key naming the check that produced a bridged result; removed from the document.
ORIGIN_KEY = "_origin"


@dataclass(frozen=True)
class Target:
    account_id: str
    region: str  # a region, or "global" for account-wide checks


@dataclass
class TargetOutcome:
    target: Target
    planned_checks: list[str]
    records: list[dict[str, Any]]


def planned_targets(account: PlannedAccount, checks: Mapping[str, Check]) -> list[tuple[Target, list[str]]]:
    """The account's targets and the checks planned for each."""
    regional = [c.id for c in checks.values() if c.metadata.scope is Scope.REGIONAL]
    account_wide = [c.id for c in checks.values() if c.metadata.scope is Scope.ACCOUNT]
    targets = []
    if account_wide:
        targets.append((Target(account.id, GLOBAL_REGION), account_wide))
    if regional:
        targets.extend((Target(account.id, region), regional) for region in account.regions)
    return targets


def targets_per_account(work: Iterable[tuple[Target, list[str]]]) -> Counter[str]:
    """How many targets of the work belong to each account (to know when an account is done)."""
    return Counter(target.account_id for target, _ in work)


def error_records(check: Check, account_id: str, target_region: str, message: str, evidence: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An ERROR result standing for a whole (account, region, check) that could not be judged."""
    meta = check.metadata
    return result_record(
        check_id=meta.id,
        title=meta.title,
        service=meta.service,
        status=Status.ERROR,
        severity=meta.severity,
        account_id=account_id,
        region=target_region,
        target_region=target_region,
        resource_type=meta.resource_type,
        resource_id=account_id,
        resource_arn=None,
        message=message[:MAX_MESSAGE],
        evidence=evidence,
    )


def describe_error(error: BaseException) -> tuple[str, dict[str, Any]]:
    """A one-line reason and evidence for an exception that escaped a check (never a traceback).

    The evidence's ``error_kind`` (``scanner.findings.error_kind``) tells a
    failure to reach AWS (``transport``, ``throttling``, ``service``) from one
    about the target itself; ``--fail-on-incomplete`` reads it.
    """
    kind = {"error_kind": error_kind(error)}
    if isinstance(error, AccessDenied):
        return f"access denied: {error.action} ({error.code})", {"action": error.action, "error_code": error.code, **kind}
    if isinstance(error, AwsError):
        return f"{error.action} failed: {error.code}: {error.detail}"[:MAX_MESSAGE], {"action": error.action, "error_code": error.code, **kind}
    if isinstance(error, UndeclaredAction):
        return str(error), {"action": error.action, **kind}
    if isinstance(error, UnmappedOperation):
        return str(error), {"operation": f"{error.service}.{error.operation}", **kind}
    if isinstance(error, botocore.exceptions.BotoCoreError):
        return f"AWS SDK error: {type(error).__name__}: {error}", {"error": type(error).__name__, **kind}
    return f"check failed: {type(error).__name__}: {' '.join(str(error).split())}"[:MAX_MESSAGE], {"error": type(error).__name__, **kind}


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
        api_region = target.region if target.region != GLOBAL_REGION else (regions[0] if regions else self.sessions.default_region)
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


class Progress:
    """One self-updating line on stderr: accounts done of total, errors so far, time left."""

    def __init__(self, stream: Any, enabled: bool, accounts_total: int, targets_total: int) -> None:
        self.stream = stream
        self.enabled = enabled
        self.accounts_total = accounts_total
        self.targets_total = targets_total
        self.targets_done = 0
        self.accounts_done = 0
        self.errors = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._last = 0.0

    def target_done(self, records: Iterable[Mapping[str, Any]], account_finished: bool) -> None:
        with self._lock:
            self.targets_done += 1
            self.accounts_done += int(account_finished)
            self.errors += sum(1 for r in records if r["status"] == Status.ERROR.value)
            now = time.monotonic()
            if not self.enabled or (now - self._last < 0.2 and self.targets_done < self.targets_total):
                return
            self._last = now
            elapsed = now - self.started
            left = elapsed / self.targets_done * (self.targets_total - self.targets_done) if self.targets_done else 0
            self.stream.write(
                f"\r\x1b[Korgscan: accounts {self.accounts_done}/{self.accounts_total}  "
                f"targets {self.targets_done}/{self.targets_total}  errors {self.errors}  ~{left:.0f}s left"
            )
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


class GarbageCollectionSetting:
    """The cyclic garbage collector's first threshold raised while scans run; restored after the last.

    botocore's service models stay loaded for the whole scan (hundreds of thousands of
    objects), and every full collection walks them again; creating clients allocates
    enough to trigger one every few accounts. With Python's default threshold (700), a
    scan of 100 accounts spent about 7 s in the collector, a quarter of its CPU; with
    20,000, about 2 s, for about 30 MB more peak memory (bench/, docs/benchmarks.md).
    Scans that run at once in one process (a Dask worker's) share the setting: the first
    raises it, the last restores what it was.
    """

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self._lock = threading.Lock()
        self._holders = 0
        self._before: tuple[int, ...] = gc.get_threshold()

    def hold(self) -> None:
        with self._lock:
            if self._holders == 0:
                self._before = gc.get_threshold()
                gc.set_threshold(max(self._before[0], self.threshold), *self._before[1:])
            self._holders += 1

    def release(self) -> None:
        with self._lock:
            if self._holders == 0:
                raise RuntimeError("garbage-collection setting released more often than held")
            self._holders -= 1
            if self._holders == 0:
                gc.set_threshold(*self._before)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.hold()
        try:
            yield
        finally:
            self.release()


SCAN_GARBAGE_COLLECTION = GarbageCollectionSetting(threshold=20_000)


class TargetPools:
    """The threads targets run on: ``concurrency`` of them, and apart from those, for each check
    with ``max_parallel_runs``, a pool of that many threads.

    A target's limited checks (the Prowler bridge's run, say) run on their own pools while its
    other checks run on the main one, so queueing for a run never holds up orgscan's own
    checks. :meth:`submit` gives one future per target, done when every part is: the target's
    records, in the order of its planned checks, or ``None`` if a part did not run (the scan
    stopped), so that the whole target runs again on resume.
    """

    def __init__(self, runner: TargetRunner, concurrency: int) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="orgscan-target")
        self._limited = {
            check_id: concurrent.futures.ThreadPoolExecutor(max_workers=limit, thread_name_prefix=f"orgscan-{check_id}")
            for check_id, limit in runner.run_limits.items()
        }

    def submit(
        self,
        target: Target,
        planned: list[str],
        run: Callable[[Target, list[str]], list[dict] | None],
        main_done: Callable[[], None] | None = None,
    ) -> concurrent.futures.Future:
        """Run ``run(target, checks)`` for the target's parts; the future's result is the whole target's.

        ``main_done`` is called once the part on the main pool is over (at once if there is none),
        while limited parts may still be queued.
        """
        main = [c for c in planned if c not in self._limited]
        parts = ([(self._pool, main)] if main else []) + [(self._limited[c], [c]) for c in planned if c in self._limited]
        if not main and main_done is not None:
            main_done()
        if len(parts) == 1:
            future = parts[0][0].submit(run, target, parts[0][1])
            if main and main_done is not None:
                future.add_done_callback(lambda _: main_done())
            return future
        whole: concurrent.futures.Future = concurrent.futures.Future()
        results: dict[int, list[dict] | None] = {}
        lock = threading.Lock()

        def part_done(index: int, future: concurrent.futures.Future) -> None:
            if index == 0 and main and main_done is not None:
                main_done()
            if future.cancelled():
                whole.cancel()
                return
            error = future.exception()
            with lock:
                if whole.done():
                    return
                if error is not None:
                    whole.set_exception(error)
                    return
                results[index] = future.result()
                if len(results) < len(parts):
                    return
                ordered = [results[i] for i in range(len(parts))]
                whole.set_result(None if any(r is None for r in ordered) else _in_planned_order(planned, ordered))

        for index, (pool, checks) in enumerate(parts):
            try:
                future = pool.submit(run, target, checks)
            except RuntimeError:  # the pool is shut down: the scan is stopping
                whole.cancel()
                break
            future.add_done_callback(lambda f, i=index: part_done(i, f))
        return whole

    def shutdown(self, wait: bool) -> None:
        for pool in (self._pool, *self._limited.values()):
            pool.shutdown(wait=wait, cancel_futures=True)


def _in_planned_order(planned: list[str], parts: list[list[dict]]) -> list[dict]:
    """The parts' records as one target's, ordered as its planned checks (a bridged result goes with its origin)."""
    position = {check_id: index for index, check_id in enumerate(planned)}
    records = [record for part in parts for record in part]
    return sorted(records, key=lambda record: position.get(record.get(ORIGIN_KEY) or record["check_id"], len(planned)))


class LocalExecutor:
    """Runs targets on bounded thread pools in this process (the default executor)."""

    name = "local"

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency

    def run(
        self,
        runner_factory: Callable[[], TargetRunner],
        work: list[tuple[Target, list[str]]],
        on_done: Callable[[TargetOutcome], None],
        stop: threading.Event,
    ) -> None:
        runner = runner_factory()
        remaining = targets_per_account(work)
        pools = TargetPools(runner, self.concurrency)
        main_parts_done = self._forget_after_main_parts(runner, work) if runner.run_limits else None
        with SCAN_GARBAGE_COLLECTION.held():
            try:
                futures = {}
                run = functools.partial(self._guarded, runner, stop=stop)
                for target, planned in work:
                    done = functools.partial(main_parts_done, target.account_id) if main_parts_done else None
                    futures[pools.submit(target, planned, run, done)] = (target, planned)
                for future in concurrent.futures.as_completed(futures):
                    target, planned = futures[future]
                    records = future.result()
                    if records is None:  # stopped before it started
                        continue
                    remaining[target.account_id] -= 1
                    if remaining[target.account_id] == 0:
                        runner.forget_account(target.account_id)
                    on_done(TargetOutcome(target, planned, records))
            finally:
                pools.shutdown(wait=not stop.is_set())
                runner.close()

    @staticmethod
    def _forget_after_main_parts(runner: TargetRunner, work: list[tuple[Target, list[str]]]) -> Callable[[str], None]:
        """Drop an account's answers and clients once its checks on the main pool are done.

        Its limited checks (a Prowler run) may wait for hours; the bridge needs none of it, and
        another limited check that reads AWS gets them again, at the cost of repeating its calls.
        """
        remaining = targets_per_account(work)
        lock = threading.Lock()

        def main_part_done(account_id: str) -> None:
            with lock:
                remaining[account_id] -= 1
                last = remaining[account_id] == 0
            if last:
                runner.forget_account(account_id)

        return main_part_done

    @staticmethod
    def _guarded(runner: TargetRunner, target: Target, planned: list[str], *, stop: threading.Event) -> list[dict] | None:
        if stop.is_set():
            return None
        return runner.run(target, planned)


def build_target_runner(sessions: AccountSessions, checks: Mapping[str, Check], plan: Mapping[str, Any], settings: "ScanSettings") -> TargetRunner:
    """A TargetRunner for a plan; Dask workers call this with their own sessions."""
    partition = plan["partition"]
    accounts = {a["id"]: Account(a["id"], a["name"], partition) for a in plan["accounts"]}
    organization = None
    caches = {}
    if plan["mode"] == "organization":
        # One cache for the caller's account, shared by its own checks and by
        # organization-wide reads (e.g. organization trails), so neither repeats the other's calls.
        caller_cache = caches[plan["caller_account_id"]] = sessions.target_cache(plan["caller_account_id"])
        organization = OrganizationFacts(
            id=plan["organization_id"],
            management_account_id=plan["management_account_id"],
            management=AwsReader(caller_cache, sessions.default_region),
        )
    return TargetRunner(
        sessions,
        checks,
        accounts=accounts,
        account_regions={a["id"]: tuple(a["regions"]) for a in plan["accounts"]},
        organization=organization,
        scan_mode=plan["mode"],
        check_options=settings.check_options,
        check_timeout=settings.check_timeout,
        caches=caches,
    )
