"""The scan plan: made once against the simulated organization, immutable, and read back from plan.json unchanged."""
import dataclasses
import json

import pytest

from scanner.config import ScanSettings
from scanner.errors import UsageError
from scanner.plan import planned_targets
from scanner.plugins import build_plugin_manager
from scanner.scan import Scan

MANAGEMENT, PROD, LOCKED, CLOSED = "111111111111", "222222222222", "444444444444", "555555555555"
SCENARIO = {
    "name": "plan",
    "organization": {"management_account": MANAGEMENT, "regions": ["us-east-1", "eu-west-1"], "units": ["Workloads/Prod"]},
    "accounts": [
        {"id": MANAGEMENT, "name": "management", "email": "management@example.com"},
        {"id": PROD, "name": "prod", "email": "prod@example.com", "ou": "Workloads/Prod"},
        {"id": LOCKED, "name": "locked", "email": "locked@example.com", "ou": "Workloads", "role_assumable": False},
        {"id": CLOSED, "name": "closed", "email": "closed@example.com", "status": "SUSPENDED"},
    ],
}
FAKE_CHECKS = ["fake_vpc_count", "fake_account_alias_present"]
#: What plan.json has held since resume was written: a scan that resumes a plan must find these keys.
PLAN_KEYS = {"scan_id", "started_at", "mode", "organization_id", "management_account_id", "caller_account_id", "partition",
             "regions", "checks", "accounts", "settings"}
ACCOUNT_KEYS = {"id", "name", "status", "error", "regions", "ou_path"}


def make_scan(tmp_path, **settings):
    chosen = ScanSettings(output_dir=str(tmp_path / "out"), plugin=["tests.plugins.fake_plugin"], checks=FAKE_CHECKS, **settings)
    return Scan(chosen, build_plugin_manager(chosen.plugin), stderr=None)


def stored(scan, plan):
    """plan.json as the scan writes it, through JSON."""
    return json.loads(json.dumps({**plan.to_dict(), "settings": scan.settings.to_dict()}))


def test_the_plan_holds_each_accounts_regions_and_status(make_org, tmp_path):
    make_org(SCENARIO)
    scan = make_scan(tmp_path, org=True, regions=["eu-west-1", "us-east-1"], role_session_name="audit")
    plan = scan.plan()
    accounts = {a.id: a for a in plan.accounts}
    assert accounts[PROD].status == "scanned" and accounts[PROD].regions == ("eu-west-1", "us-east-1")
    assert [unit.name for unit in accounts[PROD].ou_path] == ["Root", "Workloads", "Prod"]
    assert accounts[LOCKED].status == "error" and accounts[LOCKED].error.startswith(f"cannot assume arn:aws:iam::{LOCKED}:role/")
    assert accounts[CLOSED].status == "skipped" and accounts[CLOSED].regions == ()
    assert plan.regions == ("eu-west-1", "us-east-1")
    assert sorted(plan.checks) == sorted(FAKE_CHECKS)
    assert plan.role.session_name == "audit"
    # Named regions: the first is the default region, for account-wide calls.
    assert plan.default_region == "eu-west-1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.accounts[0].regions = ()


def test_plan_json_keeps_its_shape_and_reads_back_as_the_same_plan(make_org, tmp_path):
    make_org(SCENARIO)
    scan = make_scan(tmp_path, org=True, regions=["us-east-1"])
    plan = scan.plan()
    data = stored(scan, plan)
    assert set(data) == PLAN_KEYS
    assert all(set(account) == ACCOUNT_KEYS for account in data["accounts"])
    assert scan.stored_plan(data, "plan.json") == plan


def test_every_check_of_an_account_has_a_target(make_org, tmp_path):
    make_org(SCENARIO)
    scan = make_scan(tmp_path, org=True, regions=["us-east-1", "eu-west-1"])
    prod = next(a for a in scan.plan().accounts if a.id == PROD)
    targets = {(target.region, tuple(checks)) for target, checks in planned_targets(prod, scan.checks)}
    assert targets == {("global", ("fake_account_alias_present",)), ("us-east-1", ("fake_vpc_count",)),
                       ("eu-west-1", ("fake_vpc_count",))}


def test_without_regions_the_plan_scans_the_default_region_only(make_org, tmp_path, monkeypatch):
    make_org(SCENARIO)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    plan = make_scan(tmp_path).plan()
    assert plan.default_region == "eu-west-1"
    assert [a.regions for a in plan.accounts] == [("eu-west-1",)]


def test_all_regions_plans_each_accounts_enabled_regions(make_org, tmp_path):
    make_org(SCENARIO)
    plan = make_scan(tmp_path, regions=["all"]).plan()
    [account] = plan.accounts
    assert {"us-east-1", "eu-west-1"} <= set(account.regions)
    assert plan.regions == tuple(sorted(account.regions))


def test_all_cannot_be_combined_with_named_regions(make_org, tmp_path):
    make_org(SCENARIO)
    with pytest.raises(UsageError, match="^--regions: 'all' cannot be combined with named regions$"):
        make_scan(tmp_path, regions=["all", "us-east-1"]).plan()


@pytest.mark.parametrize("change, message", [
    (lambda data: data["accounts"][0].update(regions=["mars-north-1"]), "plan.json: accounts[0].regions: must be regions of the plan"),
    (lambda data: data.update(mode="galaxy"), "plan.json: mode: must be organization or account"),
    (lambda data: data.pop("checks"), "plan.json: checks: missing or not an array"),
])
def test_a_stored_plan_that_is_not_what_a_scan_writes_is_one_line(make_org, tmp_path, change, message):
    make_org(SCENARIO)
    scan = make_scan(tmp_path, org=True, regions=["us-east-1"])
    data = stored(scan, scan.plan())
    change(data)
    with pytest.raises(UsageError) as raised:
        scan.stored_plan(data, "plan.json")
    assert str(raised.value) == message
