"""Where targets run: ``local`` (threads in this process, the default) or ``dask`` (a Dask cluster).

An executor gets the plan's work (targets and their checks), runs each target's
checks with a :class:`scanner.runner.TargetRunner` somewhere, and hands each
finished :class:`TargetOutcome` back to the driver, which spools it. Every
executor takes the same :class:`scanner.plan.ScanPlan`.
``scanner.executors.local`` is the default; ``scanner.executors.dask`` sends
account shards to a Dask cluster (``--executor dask``, extra ``orgscan[dask]``)
and is imported only when asked for.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from scanner.plan import Target, Work
from scanner.runner import TargetRunner


@dataclass
class TargetOutcome:
    target: Target
    planned_checks: list[str]
    records: list[dict[str, Any]]


class Executor(Protocol):
    name: str

    def run(
        self,
        runner_factory: Callable[[], TargetRunner],
        work: Work,
        on_done: Callable[[TargetOutcome], None],
        stop: threading.Event,
    ) -> None:
        """Run every target of ``work``, calling ``on_done`` (in the calling thread) as each finishes.

        ``runner_factory`` builds the driver's runner (local threads use it; Dask
        workers build their own). Targets not yet started when ``stop`` is set
        are left out, so that ``--resume`` runs them.
        """
