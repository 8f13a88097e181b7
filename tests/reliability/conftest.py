"""Fixtures of the reliability suite: the small organization on the shared loopback server, and a clean baseline scan."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from scanner.simulator import scenario_from_dict
from tests.reliability.harness import SMALL_ORG, ScanRun, assert_accounts_for_everything, errors_of, run_orgscan_in_process

_CLEAN_SCAN = pytest.StashKey[ScanRun]()


@pytest.fixture
def org(make_org: Callable[..., Any]) -> Any:
    """The small organization (``harness.SMALL_ORG``), freshly applied, with no faults and zero call counts."""
    return make_org(scenario_from_dict(SMALL_ORG, source="tests/reliability/harness.py:SMALL_ORG"))


@pytest.fixture
def clean_scan(org: Any, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> ScanRun:
    """A clean scan of the small organization, made once per session: what every faulted scan is compared with."""
    stash = request.config.stash
    if _CLEAN_SCAN not in stash:
        org.interceptor.reset_counts()
        run = run_orgscan_in_process(org, tmp_path_factory.mktemp("clean") / "out")
        run.api_calls = sum(org.call_counts().values())
        org.interceptor.reset_counts()
        assert run.exit_code in (0, 1), run.stderr
        assert not errors_of(run.document), errors_of(run.document)
        assert_accounts_for_everything(run.document)
        stash[_CLEAN_SCAN] = run
    return stash[_CLEAN_SCAN]
