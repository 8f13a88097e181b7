"""The pytest plugin's fixtures and check_context, used the way a third-party check author would."""
from __future__ import annotations

import subprocess
import sys

import boto3
import botocore.exceptions
import pytest

from scanner.model import GLOBAL_REGION, Status
from scanner.testing import check_context

ORG = {
    "organization": {"management_account": "111111111111", "regions": ["us-east-1"]},
    "accounts": [
        {"id": "111111111111", "name": "management", "email": "m@example.com"},
        {"id": "222222222222", "name": "with-mfa", "email": "a@example.com", "root_mfa": True},
        {"id": "333333333333", "name": "without-mfa", "email": "b@example.com", "root_mfa": False},
    ],
}


def test_plugin_module_imports_without_moto():
    code = "import sys, scanner.testing, scanner.simulator; print('moto' in sys.modules, 'boto3' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert output == ["False", "False"]


def test_check_context_runs_a_check_through_an_assumed_role(make_org):
    from checks.iam.iam_root_mfa_enabled import iam_root_mfa_enabled

    sim = make_org(ORG)
    passing = check_context(sim, "222222222222", "us-east-1", iam_root_mfa_enabled)
    assert passing.region == GLOBAL_REGION and passing.api_region == "us-east-1"
    assert passing.organization.management_account_id == "111111111111"
    assert passing.scan_regions == ()
    assert check_context(sim, "222222222222", "us-east-1", iam_root_mfa_enabled, scan_regions=["eu-west-1", "us-east-1"]).scan_regions == ("eu-west-1", "us-east-1")
    assert [f.status for f in iam_root_mfa_enabled(passing)] == [Status.PASS]
    failing = check_context(sim, "333333333333", "us-east-1", iam_root_mfa_enabled)
    assert [f.status for f in iam_root_mfa_enabled(failing)] == [Status.FAIL]
    # The reads went to the member accounts, through their assumed roles.
    counts = sim.call_counts()
    assert counts[("333333333333", "us-east-1", "iam:GetAccountSummary")] == 1
    current = failing.credentials_environment()
    assert current["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert failing.credentials_environment(fresh=True)["AWS_ACCESS_KEY_ID"] != current["AWS_ACCESS_KEY_ID"]


def test_check_context_limits_reads_to_declared_actions(make_org):
    from checks.iam.iam_root_mfa_enabled import iam_root_mfa_enabled
    from scanner.errors import UndeclaredAction

    sim = make_org(ORG)
    context = check_context(sim, "222222222222", "us-east-1", iam_root_mfa_enabled)
    with pytest.raises(UndeclaredAction):
        context.aws.call("kms", "list_keys")


def test_check_context_for_a_denied_role_raises_the_sdk_error(make_org):
    from checks.iam.iam_root_mfa_enabled import iam_root_mfa_enabled

    sim = make_org({**ORG, "accounts": ORG["accounts"] + [{"id": "444444444444", "name": "x", "email": "x@example.com", "role_assumable": False}]})
    with pytest.raises(botocore.exceptions.ClientError):
        check_context(sim, "444444444444", "us-east-1", iam_root_mfa_enabled)


def test_simulated_org_environment_has_only_fake_credentials(simulated_org):
    import os

    assert os.environ["AWS_ENDPOINT_URL"] == simulated_org.endpoint_url
    assert "AWS_PROFILE" not in os.environ
    assert os.environ["AWS_ACCESS_KEY_ID"].startswith("ASIASIM0")
    assert simulated_org.scenario.name == "default"


def test_in_process_org_serves_the_default_organization(in_process_org):
    accounts = boto3.client("organizations").list_accounts()["Accounts"]
    assert len(accounts) == len(in_process_org.account_ids)
    assert in_process_org.endpoint_url is None
    assert in_process_org.client("sts", account_id="222222222222").get_caller_identity()["Account"] == "222222222222"


def test_simulated_org_is_restored_after_in_process_use(simulated_org):
    # Runs after the in-process test in this module: the shared server must hold the default scenario again.
    accounts = boto3.client("organizations").list_accounts()["Accounts"]
    assert {a["Id"] for a in accounts} == set(simulated_org.account_ids)


def test_run_orgscan_scans_the_active_simulation(make_org, run_orgscan):
    make_org(ORG)
    code, document = run_orgscan("--org", "--regions", "us-east-1", "--checks", "iam_root_mfa_enabled")
    assert document is not None
    statuses = {(r["account_id"], r["status"]) for r in document["results"]}
    assert ("222222222222", "PASS") in statuses and ("333333333333", "FAIL") in statuses
    assert code == 1  # a FAIL at or above the default --fail-on
