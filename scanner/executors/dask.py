"""Scale-out on Dask: account shards run on Dask workers, results stream back into the driver's spool.

``orgscan scan --executor dask --scheduler tcp://HOST:8786`` (extra ``orgscan[dask]``).

The driver plans the scan as usual, then sends shards of several accounts each
to the cluster. Only plain data crosses the wire: the settings, the plan and the
targets. No credentials are ever serialised: each worker builds its own
:class:`~scanner.sessions.AccountSessions` from its own identity (its
environment, instance role, or pod/task role) and assumes the accounts' roles
itself. Every target of an account lands in the same shard, so one worker at a
time talks to an account and that account's answer cache and adaptive-retry
rate limiters are shared by all its targets. Per worker process, the sessions,
checks and runner are built once per scan and reused by every shard of that
scan; targets run on one thread pool per worker bounded by ``--concurrency``.

Each finished shard's :class:`~scanner.executors.TargetOutcome` objects come back
as the shard completes and go to ``on_done`` in the driver, which writes the
spool and notifies plugins, exactly as with the local executor.
"""
from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from scanner import __version__
from scanner.config import ScanSettings
from scanner.error_results import error_records
from scanner.errors import UsageError
from scanner.executors import TargetOutcome
from scanner.executors.garbage_collection import SCAN_GARBAGE_COLLECTION
from scanner.executors.local import TargetPools
from scanner.model import Check
from scanner.plan import ScanPlan, Work
from scanner.runner import TargetRunner

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 30
#: How often the driver looks at the stop event while waiting for shards.
STOP_POLL_SECONDS = 0.25
#: Upper bound on a shard: small enough that a lost worker costs little and results arrive steadily.
MAX_ACCOUNTS_PER_SHARD = 25
#: Scans whose worker-side state a worker keeps when a driver never said goodbye (crashed, killed).
SCANS_KEPT_PER_WORKER = 2


@dataclass(frozen=True)
class ScanSpec:
    """What a worker needs to rebuild a scan's runner: plain data only, never credentials or clients."""

    scan_id: str
    version: str
    settings: dict[str, Any]
    plan: ScanPlan


def shard_work(work: Work, accounts_per_shard: int) -> list[Work]:
    """The work grouped by account, ``accounts_per_shard`` whole accounts per shard, in plan order."""
    if accounts_per_shard < 1:
        raise ValueError(f"accounts_per_shard must be at least 1, got {accounts_per_shard}")
    by_account: dict[str, Work] = {}
    for target, planned in work:
        by_account.setdefault(target.account_id, []).append((target, planned))
    accounts = list(by_account)
    return [
        [item for account in accounts[start : start + accounts_per_shard] for item in by_account[account]]
        for start in range(0, len(accounts), accounts_per_shard)
    ]


def choose_accounts_per_shard(accounts: int, targets: int, concurrency: int, worker_threads: Mapping[str, int]) -> int:
    """Accounts per shard: enough targets to keep a worker's pool busy, enough shards to spread the load.

    A worker runs as many shards at once as it has Dask threads, and all of
    them share its pool of ``concurrency`` threads; so a shard should bring at
    least ``concurrency / threads`` targets. But every worker thread should get
    at least two shards, so that a slow account does not leave workers idle.
    """
    if accounts == 0:
        return 1
    targets_per_account = max(1.0, targets / accounts)
    threads_per_worker = min(worker_threads.values()) if worker_threads else 1
    fill = math.ceil(concurrency / (threads_per_worker * targets_per_account))
    total_threads = sum(worker_threads.values()) or 1
    spread = math.ceil(accounts / (2 * total_threads))
    return max(1, min(fill, spread, MAX_ACCOUNTS_PER_SHARD))


# -- the driver side ---------------------------------------------------------------


class DaskExecutor:
    """Runs account shards on a Dask cluster and streams their outcomes back to the driver."""

    name = "dask"

    def __init__(self, settings: ScanSettings, plan: ScanPlan, *, accounts_per_shard: int | None = None) -> None:
        if not settings.scheduler:
            raise UsageError("--executor dask needs --scheduler tcp://HOST:PORT")
        self.settings = settings
        self.spec = ScanSpec(scan_id=plan.scan_id, version=__version__, settings=settings.to_dict(), plan=plan)
        self.accounts_per_shard = accounts_per_shard

    def run(
        self,
        runner_factory: Callable[[], TargetRunner],
        work: Work,
        on_done: Callable[[TargetOutcome], None],
        stop: threading.Event,
    ) -> None:
        if not work:
            return
        distributed = _import_distributed()
        client = self._connect(distributed)
        finished = threading.Event()
        futures: list[Any] = []
        try:
            per_shard = self.accounts_per_shard or choose_accounts_per_shard(
                len({t.account_id for t, _ in work}), len(work), self.settings.concurrency, client.nthreads()
            )
            shards = shard_work(work, per_shard)
            log.info("dask: %d targets in %d shards of up to %d accounts", len(work), len(shards), per_shard)
            [spec] = client.scatter([self.spec], broadcast=True, hash=False)
            shard_of: dict[str, Work] = {}
            for index, shard in enumerate(shards):
                future = client.submit(run_shard, spec, shard, key=f"orgscan-shard-{self.spec.scan_id}-{index}", pure=False)
                shard_of[future.key] = shard
                futures.append(future)
            watcher = threading.Thread(target=_cancel_on_stop, args=(client, futures, stop, finished), name="orgscan-dask-stop", daemon=True)
            watcher.start()
            fallback = _FallbackChecks(runner_factory)
            for future in distributed.as_completed(futures, loop=client.loop):
                if future.cancelled():
                    continue
                for outcome in _outcomes(future, shard_of[future.key], fallback):
                    on_done(outcome)
        finally:
            finished.set()
            if futures:
                client.cancel(futures)
            try:
                client.run(forget_scan, self.spec.scan_id, on_error="ignore")
            except Exception as error:  # noqa: BLE001 - the scan's results are already safe in the spool
                log.debug("dask: could not release worker state: %s", error)
            client.close()

    def _connect(self, distributed: Any) -> Any:
        address = self.settings.scheduler
        try:
            return distributed.Client(address, timeout=CONNECT_TIMEOUT_SECONDS, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise UsageError(f"--scheduler {address}: cannot connect to the Dask scheduler: {type(error).__name__}: {error}") from None


class _FallbackChecks:
    """The driver's checks, built only if a shard failed and its targets need ERROR results."""

    def __init__(self, runner_factory: Callable[[], TargetRunner]) -> None:
        self._runner_factory = runner_factory
        self._checks: Mapping[str, Check] | None = None

    def __getitem__(self, check_id: str) -> Check:
        if self._checks is None:
            self._checks = self._runner_factory().checks
        return self._checks[check_id]


def _outcomes(future: Any, shard: Work, checks: _FallbackChecks) -> list[TargetOutcome]:
    """The shard's outcomes; if the shard failed as a whole, an ERROR per planned check saying why."""
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - one shard failing never stops the others
        reason = f"Dask shard failed: {type(error).__name__}: {error}"
        log.warning("dask: a shard of %d targets failed: %s", len(shard), reason)
        return [
            TargetOutcome(target, planned, [error_records(checks[c], target.account_id, target.region, reason) for c in planned])
            for target, planned in shard
        ]


def _cancel_on_stop(client: Any, futures: list[Any], stop: threading.Event, finished: threading.Event) -> None:
    while not finished.wait(STOP_POLL_SECONDS):
        if stop.is_set():
            client.cancel(futures)
            return


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError("--executor dask needs Dask: pip install 'orgscan[dask]'") from None
    return distributed


# -- the worker side -------------------------------------------------------------


class WorkerScan:
    """One scan's state inside one worker process: sessions from the worker's own identity, checks, runner, pool."""

    def __init__(self, spec: ScanSpec) -> None:
        from scanner.iam_policy import member_actions
        from scanner.plugins import build_plugin_manager, collect_checks
        from scanner.runner import build_target_runner
        from scanner.sessions import account_sessions

        if spec.version != __version__:
            raise RuntimeError(f"orgscan {__version__} on this Dask worker, {spec.version} on the driver: install the same version")
        settings = ScanSettings(**spec.settings)
        manager = build_plugin_manager(settings.plugin, settings.disable_plugin)
        available = collect_checks(manager, settings.options())
        missing = [c for c in spec.plan.checks if c not in available]
        if missing:
            raise RuntimeError(f"check {missing[0]!r} is not installed on this Dask worker")
        checks = {c: available[c] for c in spec.plan.checks}
        # The driver's --profile names a file on the driver's machine; a worker uses its own
        # credential chain (AWS_PROFILE, environment, instance or task role), and the driver's default region.
        sessions = account_sessions(settings, member_actions(checks), default_region=spec.plan.default_region, own_identity=True)
        # Identify the worker now, once: otherwise the first shard's threads all ask STS at the same
        # time, and a worker without credentials fails here with one clear reason.
        sessions.caller_identity()
        self.runner = build_target_runner(sessions, checks, spec.plan, settings)
        self.pools = TargetPools(self.runner, settings.concurrency)
        SCAN_GARBAGE_COLLECTION.hold()

    def run(self, shard: Work) -> list[TargetOutcome]:
        futures = [self.pools.submit(target, planned, self.runner.run) for target, planned in shard]
        outcomes = [TargetOutcome(target, planned, future.result()) for (target, planned), future in zip(shard, futures)]
        # A shard holds all of its accounts' targets: their cached answers are no longer needed.
        for account_id in {target.account_id for target, _ in shard}:
            self.runner.forget_account(account_id)
        return outcomes

    def close(self) -> None:
        self.pools.shutdown(wait=False)
        self.runner.close()
        SCAN_GARBAGE_COLLECTION.release()


_worker_scans: OrderedDict[str, WorkerScan] = OrderedDict()
_worker_lock = threading.Lock()


def worker_scan(spec: ScanSpec) -> WorkerScan:
    """This process's state for the scan, built by the first shard that needs it."""
    with _worker_lock:
        scan = _worker_scans.get(spec.scan_id)
        if scan is None:
            scan = _worker_scans[spec.scan_id] = WorkerScan(spec)
            while len(_worker_scans) > SCANS_KEPT_PER_WORKER:
                _, oldest = _worker_scans.popitem(last=False)
                oldest.close()
        return scan


def run_shard(spec: ScanSpec, shard: Work) -> list[TargetOutcome]:
    """The outcomes of one shard's targets (runs on a Dask worker)."""
    return worker_scan(spec).run(shard)


def forget_scan(scan_id: str) -> bool:
    """Drop a finished scan's state from this worker process; whether there was any."""
    with _worker_lock:
        scan = _worker_scans.pop(scan_id, None)
    if scan is not None:
        scan.close()
    return scan is not None


def active_scans() -> list[str]:
    """The ids of the scans whose state this worker process holds."""
    with _worker_lock:
        return list(_worker_scans)
