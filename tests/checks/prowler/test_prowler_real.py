"""Real Prowler through the bridge against the simulated organization (``tox -e prowler``; marker ``prowler``).

Prowler lives in its own virtual environment: ``ORGSCAN_PROWLER_BIN`` names its
``prowler`` executable, or ``ORGSCAN_PROWLER_VENV`` the environment (tox -e
prowler installs one there with install_prowler.py). The default suite
deselects these tests.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from prowler_fakes import CAPTURED_META

pytestmark = pytest.mark.prowler

MANAGEMENT, MEMBER_A, MEMBER_B = "111111111111", "222222222222", "333333333333"
ROTATED, UNROTATED = "1a1a1a1a-0000-4000-8000-000000000001", "1a1a1a1a-0000-4000-8000-000000000002"


def account(account_id, name, ou=None):
    table = {
        "id": account_id,
        "name": name,
        "email": f"{name}@example.com",
        "kms_keys": [
            {"id": ROTATED.replace("1a1a1a1a", account_id[:8]), "description": "rotated", "rotation": True},
            {"id": UNROTATED.replace("1a1a1a1a", account_id[:8]), "description": "not rotated", "rotation": False},
        ],
    }
    if ou:
        table["ou"] = ou
    return table


SCENARIO = {
    "name": "prowler-real",
    "organization": {"management_account": MANAGEMENT, "regions": ["us-east-1"], "units": ["Workloads"]},
    "accounts": [
        account(MANAGEMENT, "management"),
        account(MEMBER_A, "member-a", "Workloads"),
        account(MEMBER_B, "member-b", "Workloads"),
    ],
}


@pytest.fixture(scope="module")
def prowler_bin() -> str:
    path = os.environ.get("ORGSCAN_PROWLER_BIN")
    if not path and os.environ.get("ORGSCAN_PROWLER_VENV"):
        path = os.path.join(os.environ["ORGSCAN_PROWLER_VENV"], "bin", "prowler")
    path = path or shutil.which("prowler")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("no Prowler: set ORGSCAN_PROWLER_BIN to the prowler of its own virtual environment (tox -e prowler installs one)")
    return path


def installed_prowler_version(prowler_bin: str) -> str:
    python = Path(prowler_bin).with_name("python")
    return subprocess.run(
        [str(python), "-c", "from prowler.config.config import prowler_version; print(prowler_version)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()


def test_the_captured_test_data_matches_the_installed_prowler(prowler_bin):
    # The converter's tests read output captured from this version; a new Prowler needs a new capture
    # (python tests/checks/prowler/capture_prowler_ocsf.py "$ORGSCAN_PROWLER_BIN").
    assert installed_prowler_version(prowler_bin) == CAPTURED_META["prowler_version"]


# Three Prowler start-ups (about 15 s of CPU each) two at a time; slower on a busy machine.
@pytest.mark.timeout(900)
def test_real_prowler_scans_every_account_of_the_organization(make_org, run_orgscan, prowler_bin):
    make_org(SCENARIO)
    code, document = run_orgscan(
        "--org", "--regions", "us-east-1", "--checks", "prowler_bridge",
        "--prowler-bin", prowler_bin, "--prowler-checks", "kms_cmk_rotation_enabled,kms_cmk_are_used",
        "--prowler-concurrency", "2", "--prowler-timeout", "600",
    )
    assert document is not None, "orgscan wrote no results.json"
    results = document["results"]
    for account_id in (MANAGEMENT, MEMBER_A, MEMBER_B):
        rotation = {
            r["resource_arn"]: r for r in results
            if r["account_id"] == account_id and r["check_id"] == "prowler.kms_cmk_rotation_enabled"
        }
        arn = f"arn:aws:kms:us-east-1:{account_id}:key/"
        assert rotation[arn + ROTATED.replace("1a1a1a1a", account_id[:8])]["status"] == "PASS"
        unrotated = rotation[arn + UNROTATED.replace("1a1a1a1a", account_id[:8])]
        assert unrotated["status"] == "FAIL"
        assert unrotated["severity"] == "high"
        assert unrotated["region"] == "us-east-1"
        assert unrotated["title"] == "KMS customer-managed symmetric CMK has automatic rotation enabled"
        assert unrotated["evidence"]["remediation"]["url"].startswith("https://")
        assert unrotated["evidence"]["compliance"]
        used = [r for r in results if r["account_id"] == account_id and r["check_id"] == "prowler.kms_cmk_are_used"]
        assert len(used) == 2
    # Anything the bridge says for itself is an ERROR that explains what Prowler could not do.
    bridge = [r for r in results if r["check_id"] == "prowler_bridge"]
    assert all(r["status"] == "ERROR" and r["message"].startswith("Prowler logged") for r in bridge), bridge
    secrets = {"simulator-session-token"}
    assert not any(secret in json.dumps(document) for secret in secrets)
    assert {"prowler.kms_cmk_rotation_enabled", "prowler.kms_cmk_are_used"} <= {c["id"] for c in document["scan"]["checks"]}
    assert code == 1
