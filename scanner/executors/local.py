"""The default executor: targets run on bounded thread pools in this process."""
from __future__ import annotations

import concurrent.futures
import functools
import queue
import threading
from typing import Callable

from scanner.executors import TargetOutcome
from scanner.executors.garbage_collection import SCAN_GARBAGE_COLLECTION
from scanner.plan import Target, Work, targets_per_account
from scanner.runner import ORIGIN_KEY, TargetRunner


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
        work: Work,
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
                # The main thread waits on a SimpleQueue, not concurrent.futures.as_completed: SIGINT and SIGTERM
                # raise KeyboardInterrupt in this thread wherever it is, and a threading.Condition.wait it hits
                # at the wrong instruction leaves its lock released twice ("release unlocked lock" instead of
                # an orderly stop). SimpleQueue.get waits in C and is safe to interrupt.
                finished: queue.SimpleQueue = queue.SimpleQueue()
                run = functools.partial(self._guarded, runner, stop=stop)
                for target, planned in work:
                    done = functools.partial(main_parts_done, target.account_id) if main_parts_done else None
                    future = pools.submit(target, planned, run, done)
                    futures[future] = (target, planned)
                    future.add_done_callback(finished.put)
                for _ in range(len(futures)):
                    future = finished.get()
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
    def _forget_after_main_parts(runner: TargetRunner, work: Work) -> Callable[[str], None]:
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
