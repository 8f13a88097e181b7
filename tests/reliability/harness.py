"""Shared pieces of the reliability suite: the small organization, running a scan, comparing documents, the invariant.

Every fault test scans the same small organization (a management account and
three members, two regions) over HTTP through real role assumption, then
compares its document with a clean scan of the same scenario and checks that
the document accounts for every planned (account, region, check).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Iterator, Mapping

REPO_ROOT = Path(__file__).resolve().parents[2]
MANAGEMENT = "111111111111"
MEMBERS = ("222222222222", "333333333333", "444444444444")
REGIONS = ("us-east-1", "us-west-2")

_OPEN_KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
    ],
}


def _member(account_id: str, name: str, ou: str, index: int) -> dict[str, Any]:
    open_policy = json.loads(json.dumps(_OPEN_KEY_POLICY).replace("{account}", account_id))
    return {
        "id": account_id,
        "name": name,
        "email": f"{name}@example.com",
        "ou": ou,
        "root_mfa": index % 2 == 0,
        "kms_keys": [
            {"region": "us-east-1", "description": "application data", "rotation": True, "aliases": [f"alias/{name}-data"]},
            {"region": "us-west-2", "description": "shared with everyone", "policy": open_policy, "rotation": False},
        ],
        "trails": [{"name": f"{name}-trail", "region": "us-east-1", "multi_region": index != 1, "log_file_validation": index != 2}],
    }


SMALL_ORG: dict[str, Any] = {
    "name": "reliability",
    "organization": {"management_account": MANAGEMENT, "regions": list(REGIONS), "units": ["Workloads/Prod", "Sandbox"]},
    "accounts": [
        {"id": MANAGEMENT, "name": "management", "email": "management@example.com", "kms_keys": [{"region": "us-east-1", "rotation": True}]},
        _member(MEMBERS[0], "payments", "Workloads/Prod", 0),
        _member(MEMBERS[1], "search", "Workloads/Prod", 1),
        _member(MEMBERS[2], "sandbox", "Sandbox", 2),
    ],
}

FAKE_PLUGIN = "tests.plugins.fake_plugin"


class SmallOrgState:
    """Whether the shared simulation still holds the small org exactly as its clean scan saw it.

    moto gives default VPCs random ids on every reset, so a clean scan is only
    comparable with scans of the same applied state: ``generation`` counts the
    resets, and a test that changes the state in place calls :meth:`changed`.
    """

    generation = 0
    dirty = False

    @classmethod
    def changed(cls) -> None:
        cls.dirty = True


def unloadable_plugins() -> list[str]:
    """Entry-point plugins of the ``orgscan`` group whose module cannot be imported in this checkout.

    Other parts of orgscan land in parallel; a plugin that does not import yet
    is blocked so the reliability tests exercise the host with whatever exists.
    """
    import importlib

    broken = []
    for point in entry_points(group="orgscan"):
        try:
            importlib.import_module(point.value.split(":")[0])
        except Exception:  # noqa: BLE001 - any import failure means "not there yet"
            broken.append(point.name)
    return broken


def scan_arguments(output_dir: Path, *extra: str, plugins: tuple[str, ...] = (FAKE_PLUGIN,)) -> list[str]:
    """``orgscan scan`` arguments for an organization scan of the small org into ``output_dir``."""
    argv = ["scan", "--org", "--regions", ",".join(REGIONS), "--output-dir", str(output_dir), "--quiet", "--concurrency", "16"]
    for plugin in plugins:
        argv += ["--plugin", plugin]
    for name in unloadable_plugins():
        argv += ["--disable-plugin", name]
    return argv + list(extra)


def scan_environment(simulation: Any, home: Path) -> dict[str, str]:
    """Environment for a scanner process: the simulation's credentials and endpoint, and no real AWS config."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment.update(simulation.environment())
    environment.update(
        {
            "AWS_CONFIG_FILE": str(home / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    return environment


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class ScanRun:
    """The outcome of one ``orgscan scan``: exit code, stderr, the output directory and its document."""

    def __init__(self, exit_code: int, stderr: str, output_dir: Path):
        self.exit_code = exit_code
        self.stderr = stderr
        self.output_dir = output_dir
        self.api_calls = 0  # API calls the simulator saw, when the caller counted them

    @property
    def document(self) -> dict[str, Any]:
        return json.loads((self.output_dir / "results.json").read_text())


def run_orgscan_in_process(
    simulation: Any, output_dir: Path, *extra: str, plugins: tuple[str, ...] = (FAKE_PLUGIN,), environment: Mapping[str, str] | None = None
) -> ScanRun:
    """``orgscan scan --org`` against ``simulation`` through the real command line, in this process."""
    from scanner.cli import main

    home = output_dir.parent
    stderr = io.StringIO()
    with _environment({**scan_environment(simulation, home), **(environment or {})}), contextlib.redirect_stderr(stderr):
        code = main(scan_arguments(output_dir, *extra, plugins=plugins))
    return ScanRun(code, stderr.getvalue(), output_dir)


# -- comparing documents ---------------------------------------------------------------------------

VOLATILE_SCAN_KEYS = ("id", "started_at", "finished_at")


def comparable(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document without what differs between two runs of the same scan (its id and timestamps)."""
    scan = {k: v for k, v in document["scan"].items() if k not in VOLATILE_SCAN_KEYS}
    return {**document, "scan": scan}


def results_of(document: Mapping[str, Any], account_id: str | None = None) -> list[dict[str, Any]]:
    """The results (of one account), in the document's stable order."""
    return [r for r in document["results"] if account_id is None or r["account_id"] == account_id]


def planned_triples(document: Mapping[str, Any]) -> set[tuple[str, str, str]]:
    """Every (account, target region, check) the scan planned, from its own ``scan`` section."""
    scan = document["scan"]
    own_checks = [c for c in scan["checks"] if not c.get("bridged_by")]
    planned = set()
    for account in scan["accounts"]:
        if account["status"] == "skipped":
            continue
        for check in own_checks:
            regions = ["global"] if check["scope"] == "account" else scan["regions"]
            planned.update((account["id"], region, check["id"]) for region in regions)
    return planned


def assert_accounts_for_everything(document: Mapping[str, Any]) -> None:
    """The invariant: the document fits the shipped results schema, every planned (account, region, check) has
    at least one result, and nothing else is there."""
    from scanner.results_schema import schema_problem

    problem = schema_problem(document)
    assert problem is None, f"results.json breaks scanner/schemas/results.schema.json: {problem}"
    planned = planned_triples(document)
    assert planned, "the scan planned nothing"
    bridged = {c["id"]: c["bridged_by"] for c in document["scan"]["checks"] if c.get("bridged_by")}
    seen = {(r["account_id"], r["target_region"], bridged.get(r["check_id"], r["check_id"])) for r in document["results"]}
    missing = sorted(planned - seen)
    assert not missing, f"planned but without any result: {missing[:10]}"
    unplanned = sorted(seen - planned)
    assert not unplanned, f"results that were never planned: {unplanned[:10]}"
    for result in document["results"]:
        assert result["status"] in ("PASS", "FAIL", "ERROR", "NOT_APPLICABLE")
        if result["status"] == "ERROR":
            assert result["message"].strip(), f"ERROR without a reason: {result}"


def errors_of(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [r for r in document["results"] if r["status"] == "ERROR"]


def scan(org: Any, tmp_path: Path, *extra: str, plugins: tuple[str, ...] = (FAKE_PLUGIN,), environment: Mapping[str, str] | None = None) -> ScanRun:
    """Scan ``org`` into ``tmp_path/out`` in this process."""
    return run_orgscan_in_process(org, tmp_path / "out", *extra, plugins=plugins, environment=environment)



#: A few checks over four services, for the slow fault scenarios (throttling backs off for real).
FEW_CHECKS = ("fake_vpc_count", "fake_account_alias_present", "kms_key_policy_no_public_access", "cloudtrail_log_file_validation")


def restricted(document: Mapping[str, Any], check_ids: tuple[str, ...]) -> dict[str, Any]:
    """The comparable part of a document about ``check_ids`` only (to compare a ``--checks`` scan with a full one)."""
    scan = {k: v for k, v in document["scan"].items() if k not in VOLATILE_SCAN_KEYS}
    scan["checks"] = [c for c in scan["checks"] if c["id"] in check_ids]
    return {"scan": scan, "results": [r for r in document["results"] if r["check_id"] in check_ids]}


def injected_faults(simulation: Any, kind: str, rate: float) -> int:
    """How many calls the simulator answered with fault ``kind`` ("throttle", "5xx", "reset") so far.

    The simulator's decisions are a pure function of the seed, the call and its
    occurrence, so they can be recounted from its call counts.
    """
    from scanner.simulator.faults import roll

    faults = simulation.faults
    hit = 0
    for key, count in simulation.call_counts().items():
        if faults.rate_faults_apply(key[2]):
            hit += sum(1 for occurrence in range(count) if roll(faults.seed, kind, key, occurrence) < rate)
    return hit
