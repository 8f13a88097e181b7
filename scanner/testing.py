"""pytest fixtures for testing checks against a simulated AWS Organization (pytest plugin ``orgscan``).

Installed with orgscan (entry point ``pytest11``), so any project that depends
on orgscan gets these fixtures:

- ``simulated_org``: the shipped default organization, served over HTTP on
  127.0.0.1 (one server per test session); the test's environment points the
  AWS SDK at it as the management account.
- ``make_org``: ``make_org(scenario_or_dict, faults=None)`` resets that shared
  server to another (small) scenario for one test.
- ``in_process_org``: the default organization in process (moto's ``mock_aws``).
- ``run_orgscan``: ``run_orgscan(*args) -> (exit_code, results_document or None)``
  runs ``orgscan scan`` against the active simulation.
- :func:`check_context`: a ``CheckContext`` for one check, account and region,
  reading through a real ``sts:AssumeRole``, to unit-test a check function.

Every fixture sets fake credentials and clears ``AWS_PROFILE``: nothing here can
reach real AWS. This module imports neither moto nor boto3 until a fixture runs.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from scanner.context import CheckContext
    from scanner.model import Check
    from scanner.simulator import Faults, Scenario, Simulation

# Variables that could point the SDK at real AWS or at real credentials.
_AWS_VARIABLES_TO_CLEAR = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
)


class _SharedServer:
    """The session's one loopback server, and whether its state still matches the default scenario."""

    def __init__(self) -> None:
        self._context: Any = None
        self.simulation: Simulation | None = None
        self.pristine = False

    def get(self) -> "Simulation":
        if self.simulation is None:
            from scanner.simulator import default_scenario, serve

            self._context = serve(default_scenario())
            self.simulation = self._context.__enter__()
            self.pristine = True
        return self.simulation

    def default(self) -> "Simulation":
        from scanner.simulator.registration import ACTIVE

        simulation = self.get()
        # moto's state is one per process: another simulation (a test's own serve(), the demo) replaces it.
        if not self.pristine or ACTIVE.simulation is not simulation:
            from scanner.simulator import default_scenario

            from scanner.simulator import Faults

            simulation.reset(default_scenario(), Faults())
            self.pristine = True
        else:
            from scanner.simulator import Faults

            # A test that changed the shared faults must not leave them to the next one.
            simulation.faults = Faults()
        return simulation

    def close(self) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)
            self._context = None
            self.simulation = None


def _apply_environment(monkeypatch: pytest.MonkeyPatch, simulation: "Simulation", tmp_path: Path) -> None:
    for name in _AWS_VARIABLES_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    import os

    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL_"):
            monkeypatch.delenv(name, raising=False)
    # No config or credentials file of the developer's may be read.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "orgscan-sim-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "orgscan-sim-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name, value in simulation.environment().items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def _orgscan_shared_server() -> Iterator[_SharedServer]:
    shared = _SharedServer()
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture
def simulated_org(_orgscan_shared_server: _SharedServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> "Simulation":
    """The default organization over HTTP on loopback; the test's environment reaches it as the management account.

    Do not change its faults or state in place (use ``make_org`` for that): other
    tests share the server.
    """
    simulation = _orgscan_shared_server.default()
    _apply_environment(monkeypatch, simulation, tmp_path)
    return simulation


@pytest.fixture
def make_org(
    _orgscan_shared_server: _SharedServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Callable[..., "Simulation"]]:
    """``make_org(scenario_or_dict, faults=None) -> sim``: the shared server, reset to this scenario for this test.

    ``scenario_or_dict`` is a ``Scenario``, a dict in the scenario file's layout,
    or a path to a scenario file.
    """

    def make(scenario: "Scenario | Mapping[str, Any] | str | Path", faults: "Faults | None" = None) -> "Simulation":
        from scanner.simulator import Scenario, load_scenario, scenario_from_dict

        if isinstance(scenario, Mapping):
            scenario = scenario_from_dict(scenario, source="<make_org>")
        elif isinstance(scenario, (str, Path)):
            scenario = load_scenario(scenario)
        elif not isinstance(scenario, Scenario):
            raise TypeError(f"make_org takes a Scenario, a dict or a path, not {type(scenario).__name__}")
        from scanner.simulator import Faults

        simulation = _orgscan_shared_server.get()
        _orgscan_shared_server.pristine = False
        simulation.reset(scenario, faults if faults is not None else Faults())
        _apply_environment(monkeypatch, simulation, tmp_path)
        return simulation

    yield make
    if _orgscan_shared_server.simulation is not None:
        # Faults must not leak into the next test, whatever it resets to.
        from scanner.simulator import Faults

        _orgscan_shared_server.simulation.faults = Faults()


@pytest.fixture
def in_process_org(_orgscan_shared_server: _SharedServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator["Simulation"]:
    """The default organization in process (moto's ``mock_aws``): boto3 clients made in the test reach it."""
    from scanner.simulator import default_scenario, mock_organization

    for name in _AWS_VARIABLES_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "orgscan-sim-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "orgscan-sim-aws-credentials"))
    # moto's state is one per process: the shared server's is replaced here.
    _orgscan_shared_server.pristine = False
    with mock_organization(default_scenario()) as simulation:
        yield simulation


@pytest.fixture
def run_orgscan(tmp_path: Path) -> Callable[..., tuple[int, dict[str, Any] | None]]:
    """``run_orgscan(*args) -> (exit_code, results document or None)``: ``orgscan scan`` against the active simulation.

    Use it together with ``simulated_org`` or ``make_org`` (which set the
    environment). The output directory is a fresh temporary one per call.
    """
    counter = [0]

    def run(*args: str) -> tuple[int, dict[str, Any] | None]:
        from scanner.cli import main

        counter[0] += 1
        output_dir = tmp_path / f"orgscan-out-{counter[0]}"
        code = main(["scan", *args, "--output-dir", str(output_dir)])
        results = output_dir / "results.json"
        document = json.loads(results.read_text(encoding="utf-8")) if results.exists() else None
        return code, document

    return run


def check_context(
    sim: "Simulation",
    account_id: str,
    region: str,
    check: "Check",
    options: Mapping[str, Any] | None = None,
    scan_regions: Sequence[str] | None = None,
) -> "CheckContext":
    """A ``CheckContext`` for running ``check`` on one account and region of ``sim``, as the scanner would.

    Reads go through an ``AwsReader`` limited to the check's declared IAM actions,
    over boto3 clients that reach the simulation over HTTP (or in process) with
    credentials from a real ``sts:AssumeRole`` into ``account_id`` (the
    management account uses its own). An account-wide check gets region
    ``global`` and calls ``region``. ``scan_regions`` are the account's planned
    regions (default none named, as in ``CheckContext``: checks then judge
    account-wide resources such as IAM in their home region). Raises the SDK's
    ``ClientError`` when the role cannot be assumed.
    """

    import botocore.session

    from scanner.aws import ActionNames, AwsReader, TargetCache
    from scanner.context import Account, CheckContext, OrganizationFacts
    from scanner.model import GLOBAL_REGION, Scope

    config = {"retries": {"mode": "adaptive", "max_attempts": 10}}
    # Named as a scan names them: an undeclared call is refused before any client is asked.
    action_names = ActionNames(botocore.session.get_session())

    def reader_for(credentials: dict[str, str], default_region: str) -> AwsReader:
        clients: dict[tuple[str, str], Any] = {}

        def client_getter(service: str, client_region: str) -> Any:
            if (service, client_region) not in clients:
                clients[(service, client_region)] = sim.client_with(service, client_region, credentials, **config)
            return clients[(service, client_region)]

        return AwsReader(TargetCache(client_getter, _available_regions, action_names), default_region)

    management_environment = sim.environment()
    management_credentials = {
        "aws_access_key_id": management_environment["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": management_environment["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": management_environment["AWS_SESSION_TOKEN"],
    }
    if account_id == sim.management_account_id:
        credentials = management_credentials
        environment = dict(management_environment)
    else:
        assumed = sim.assume_role(account_id)
        credentials = {
            "aws_access_key_id": assumed["AccessKeyId"],
            "aws_secret_access_key": assumed["SecretAccessKey"],
            "aws_session_token": assumed["SessionToken"],
        }
        environment = {
            "AWS_ACCESS_KEY_ID": assumed["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": assumed["SecretAccessKey"],
            "AWS_SESSION_TOKEN": assumed["SessionToken"],
            "AWS_DEFAULT_REGION": region,
            **({"AWS_ENDPOINT_URL": sim.endpoint_url} if sim.endpoint_url else {}),
        }
    meta = check.metadata
    # As a scan loads it: a declared name AWS's IAM reference does not know fails here, naming the right one.
    from scanner.plugins import validate_iam_actions

    validate_iam_actions(check, "under test")
    # Options too, as the scan plans them: a wrong one is the scan's UsageError, before any call.
    from scanner.options import validate_check_options

    validate_check_options({meta.id: check}, {meta.id: dict(options)} if options else {})
    account_wide = meta.scope == Scope.ACCOUNT
    target_region = GLOBAL_REGION if account_wide else region
    reader = reader_for(credentials, region).for_check(meta.id, meta.iam_actions, region)
    management = reader_for(management_credentials, sim.scenario.regions[0]).for_check(meta.id, meta.iam_actions)
    organization = OrganizationFacts(id=sim.scenario.organization_id, management_account_id=sim.management_account_id, management=management)
    try:
        name = sim.scenario.account(account_id).name
    except KeyError:
        name = ""
    return CheckContext(
        account=Account(id=account_id, name=name),
        region=target_region,
        api_region=region,
        aws=reader,
        organization=organization,
        options=dict(options or {}),
        scan_mode="organization",
        scan_regions=tuple(scan_regions or ()),
        credentials_provider=lambda fresh=False: sim.environment(account_id) if fresh else environment,
    )


def _available_regions(service: str) -> set[str] | None:
    from scanner.simulator.scenario import service_regions

    regions = service_regions(service)
    # Global services (IAM, Organizations) list no regions: any region reaches them.
    return set(regions) or None
