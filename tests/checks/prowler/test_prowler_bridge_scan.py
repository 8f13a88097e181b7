"""`orgscan scan --org --prowler-bin ...` end to end against the simulated organization, with a stand-in prowler.

The stand-in asks STS who it is with the credentials it was given, so these
tests prove that every account's Prowler run gets that account's assumed-role
credentials, through the environment only.
"""
from __future__ import annotations

import json

import pytest

from prowler_fakes import CAPTURED_OCSF, FakeProwler

MANAGEMENT, MEMBER_A, MEMBER_B = "111111111111", "222222222222", "333333333333"
SCENARIO = {
    "name": "prowler-bridge",
    "organization": {"management_account": MANAGEMENT, "regions": ["us-east-1"], "units": ["Workloads"]},
    "accounts": [
        {"id": MANAGEMENT, "name": "management", "email": "management@example.com"},
        {"id": MEMBER_A, "name": "member-a", "email": "a@example.com", "ou": "Workloads"},
        {"id": MEMBER_B, "name": "member-b", "email": "b@example.com", "ou": "Workloads"},
    ],
}


FOUR_ACCOUNTS = {
    **SCENARIO,
    "accounts": SCENARIO["accounts"] + [{"id": "444444444444", "name": "member-c", "email": "c@example.com", "ou": "Workloads"}],
}


@pytest.fixture
def prowler(tmp_path):
    return FakeProwler(tmp_path / "prowler-bin")


def test_each_account_gets_its_own_prowler_run_and_results(make_org, run_orgscan, prowler):
    make_org(SCENARIO)
    prowler.behave(3, ocsf_source=CAPTURED_OCSF, as_caller=True)
    code, document = run_orgscan(
        "--org", "--regions", "us-east-1", "--checks", "prowler_bridge",
        "--prowler-bin", str(prowler.executable), "--prowler-services", "kms,cloudtrail,account",
        "--prowler-concurrency", "2",
    )
    calls = prowler.calls()
    assert sorted(call["caller_account"] for call in calls) == [MANAGEMENT, MEMBER_A, MEMBER_B]
    for call in calls:
        secret = call["env"]["AWS_SECRET_ACCESS_KEY"]
        assert secret not in " ".join(call["argv"])
        assert call["argv"][call["argv"].index("--services") + 1 :][:3] == ["kms", "cloudtrail", "account"]
    # Members are scanned with their own role credentials, not the caller's.
    member_keys = {call["env"]["AWS_ACCESS_KEY_ID"] for call in calls if call["caller_account"] != MANAGEMENT}
    assert len(member_keys) == 2

    results = document["results"]
    for account in (MANAGEMENT, MEMBER_A, MEMBER_B):
        mine = [r for r in results if r["account_id"] == account]
        assert len(mine) == 19
        rotation = [r for r in mine if r["check_id"] == "prowler.kms_cmk_rotation_enabled"]
        assert sorted(r["status"] for r in rotation) == ["FAIL", "PASS"]
        assert all(f":{account}:key/" in r["resource_arn"] for r in rotation)
        assert all(r["severity"] == "high" and r["region"] == "us-east-1" for r in rotation)
    scan_checks = {c["id"]: c for c in document["scan"]["checks"]}
    assert scan_checks["prowler.kms_cmk_rotation_enabled"]["severity"] == "high"
    assert code == 1  # FAIL results at or above --fail-on low


def test_a_failing_prowler_is_an_error_per_account_and_the_scan_goes_on(make_org, run_orgscan, prowler):
    make_org(SCENARIO)
    prowler.behave(1, stderr="botocore.exceptions.NoCredentialsError: Unable to locate credentials\n")
    code, document = run_orgscan(
        "--org", "--regions", "us-east-1", "--checks", "prowler_bridge", "--prowler-bin", str(prowler.executable),
    )
    errors = [r for r in document["results"] if r["check_id"] == "prowler_bridge"]
    assert sorted(r["account_id"] for r in errors) == [MANAGEMENT, MEMBER_A, MEMBER_B]
    assert all(r["status"] == "ERROR" and "exited with status 1" in r["message"] for r in errors)
    assert all("Unable to locate credentials" in r["message"] for r in errors)
    assert code == 3


def test_the_bridge_is_off_without_prowler_bin(make_org, run_orgscan, capsys):
    from scanner.cli import main

    assert main(["checks", "list", "--format", "json"]) == 0
    listed = {check["id"] for check in json.loads(capsys.readouterr().out)}
    assert "prowler_bridge" not in listed


def test_a_bad_prowler_option_is_one_line_and_exit_2(make_org, run_orgscan, prowler, capsys):
    make_org(SCENARIO)
    code, document = run_orgscan("--prowler-bin", str(prowler.executable), "--prowler-concurrency", "0")
    assert code == 2 and document is None
    error = capsys.readouterr().err.strip()
    assert error.endswith("--prowler-concurrency: expected a whole number of at least 1, got '0'")
    assert "\n" not in error


@pytest.mark.parametrize("concurrency", [1, 2])
def test_prowler_runs_are_bounded_by_prowler_concurrency_apart_from_orgscans_threads(make_org, run_orgscan, prowler, concurrency):
    make_org(FOUR_ACCOUNTS)
    prowler.behave(0, hold_until_running=concurrency, runs=4)
    # One thread for orgscan's own targets: the bridge's runs have threads of their own.
    code, document = run_orgscan(
        "--org", "--regions", "us-east-1", "--concurrency", "1", "--checks", "prowler_bridge,iam_root_mfa_enabled",
        "--prowler-bin", str(prowler.executable), "--prowler-concurrency", str(concurrency),
    )
    calls = prowler.calls()
    assert len(calls) == 4
    events = sorted([(c["started"], 1) for c in calls] + [(c["ended"], -1) for c in calls])
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    assert peak == concurrency
    # The account-wide checks that share the bridge's target run with it.
    assert {r["account_id"] for r in document["results"] if r["check_id"] == "iam_root_mfa_enabled"} == {
        a["id"] for a in FOUR_ACCOUNTS["accounts"]}


@pytest.mark.parametrize("regions", ["us-east-1,eu-west-1", "all"])
def test_each_run_covers_the_regions_the_scan_plans_for_its_account(make_org, run_orgscan, prowler, regions):
    make_org({**SCENARIO, "organization": {**SCENARIO["organization"], "regions": ["us-east-1", "eu-west-1"]}})
    prowler.behave(0)
    code, document = run_orgscan("--org", "--regions", regions, "--checks", "prowler_bridge", "--prowler-bin", str(prowler.executable))
    planned = document["scan"]["regions"]
    assert {"us-east-1", "eu-west-1"} <= set(planned)
    calls = prowler.calls()
    assert len(calls) == 3
    # The regions come from the plan (decided once), whichever way --regions named them.
    assert all(sorted(call["argv"][call["argv"].index("--region") + 1 :]) == planned for call in calls)
