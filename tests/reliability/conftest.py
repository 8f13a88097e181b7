"""Fixtures of the reliability suite: the small organization on the shared loopback server, and a clean baseline scan."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from scanner.simulator import Faults, scenario_from_dict
from tests.reliability.harness import SMALL_ORG, ScanRun, SmallOrgState, assert_accounts_for_everything, errors_of, run_orgscan_in_process

_CLEAN_SCANS = pytest.StashKey[dict]()


#: One Scenario object: the shared simulation still holds this state while ``simulation.scenario is SMALL_SCENARIO``.
SMALL_SCENARIO = scenario_from_dict(SMALL_ORG, source="tests/reliability/harness.py:SMALL_ORG")


@pytest.fixture
def org(_orgscan_shared_server: Any) -> Iterator[Any]:
    """The small organization (``harness.SMALL_ORG``) on the shared loopback server, with no faults and zero call counts.

    Its state is applied again only when another test replaced it: moto gives
    default VPCs random ids on every reset, and the faulted scans are compared
    result by result (fingerprints included) with one clean scan.
    """
    from scanner.simulator.registration import ACTIVE

    simulation = _orgscan_shared_server.get()
    if ACTIVE.simulation is not simulation or simulation.scenario is not SMALL_SCENARIO or SmallOrgState.dirty:
        _orgscan_shared_server.pristine = False
        simulation.reset(SMALL_SCENARIO)
        SmallOrgState.generation += 1
        SmallOrgState.dirty = False
    simulation.faults = Faults()
    simulation.interceptor.reset_counts()
    yield simulation
    simulation.faults = Faults()


@pytest.fixture
def clean_scan(org: Any, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> ScanRun:
    """A clean scan of the small organization, made once per applied state: what every faulted scan is compared with."""
    scans = request.config.stash.setdefault(_CLEAN_SCANS, {})
    if SmallOrgState.generation not in scans:
        org.interceptor.reset_counts()
        run = run_orgscan_in_process(org, tmp_path_factory.mktemp("clean") / "out")
        run.api_calls = sum(org.call_counts().values())
        org.interceptor.reset_counts()
        assert run.exit_code in (0, 1), run.stderr
        assert not errors_of(run.document), errors_of(run.document)
        assert_accounts_for_everything(run.document)
        scans[SmallOrgState.generation] = run
    return scans[SmallOrgState.generation]
