"""Fixtures of the reliability suite: one loopback organization for the session, and a clean baseline scan."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from scanner.simulator import Faults, scenario_from_dict, serve
from tests.reliability.harness import SMALL_ORG, ScanRun, assert_accounts_for_everything, errors_of, run_orgscan_in_process


@pytest.fixture(scope="session")
def reliability_org() -> Iterator[Any]:
    """The small organization served over HTTP on loopback for the whole session."""
    with serve(scenario_from_dict(SMALL_ORG, source="tests/reliability/harness.py:SMALL_ORG")) as simulation:
        yield simulation


@pytest.fixture
def org(reliability_org: Any) -> Iterator[Any]:
    """The small organization with no faults and fresh call counts (its state re-applied if another test replaced it)."""
    from scanner.simulator.registration import ACTIVE

    if ACTIVE.simulation is not reliability_org:
        reliability_org.reset()
    reliability_org.faults = Faults()
    reliability_org.interceptor.reset_counts()
    yield reliability_org
    reliability_org.faults = Faults()


@pytest.fixture(scope="session")
def clean_scan(reliability_org: Any, tmp_path_factory: pytest.TempPathFactory) -> ScanRun:
    """A clean scan of the small organization: what every faulted scan is compared with."""
    from scanner.simulator.registration import ACTIVE

    if ACTIVE.simulation is not reliability_org:
        reliability_org.reset()
    reliability_org.faults = Faults()
    reliability_org.interceptor.reset_counts()
    run = run_orgscan_in_process(reliability_org, tmp_path_factory.mktemp("clean") / "out")
    run.api_calls = sum(reliability_org.call_counts().values())
    assert run.exit_code in (0, 1), run.stderr
    assert not errors_of(run.document), errors_of(run.document)
    assert_accounts_for_everything(run.document)
    return run

