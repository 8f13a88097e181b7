"""The decisions scanner/targets.py makes: which accounts and which regions a scan covers.

Every read goes to the simulated organization over HTTP through real role
assumption (``make_org``); nothing is mocked.
"""
from __future__ import annotations

import pytest

from scanner.aws import AwsReader
from scanner.errors import UsageError
from scanner.sessions import AccountSessions
from scanner.simulator import Faults
from scanner.targets import enabled_regions, plan_accounts, validate_regions

MANAGEMENT, PROD, NESTED, SANDBOX, CLOSED = "111111111111", "222222222222", "666666666666", "333333333333", "555555555555"
SCENARIO = {
    "name": "targets",
    "organization": {
        "management_account": MANAGEMENT,
        # af-south-1 needs opting in: the scenario's accounts opted into it.
        "regions": ["us-east-1", "af-south-1"],
        "units": ["Workloads/Prod", "Sandbox"],
    },
    "accounts": [
        {"id": MANAGEMENT, "name": "management", "email": "management@example.com"},
        {"id": PROD, "name": "prod", "email": "prod@example.com", "ou": "Workloads"},
        {"id": NESTED, "name": "prod-eu", "email": "prod-eu@example.com", "ou": "Workloads/Prod"},
        {"id": SANDBOX, "name": "sandbox", "email": "sandbox@example.com", "ou": "Sandbox"},
        {"id": CLOSED, "name": "closed", "email": "closed@example.com", "status": "SUSPENDED", "ou": "Sandbox"},
    ],
}


@pytest.fixture
def org(make_org):
    return make_org(SCENARIO)


def unit_id(sim, path):
    organizations = sim.client("organizations")
    parent = organizations.list_roots()["Roots"][0]["Id"]
    for name in path.split("/"):
        units = organizations.list_organizational_units_for_parent(ParentId=parent)["OrganizationalUnits"]
        parent = next(u["Id"] for u in units if u["Name"] == name)
    return parent


def plan(org_mode=True, ous=(), accounts=(), exclude=()):
    return plan_accounts(AccountSessions(), organization=org_mode, ous=list(ous), accounts=list(accounts),
                         exclude_accounts=list(exclude), concurrency=4)


# regions --------------------------------------------------------------------------------------------------


def test_named_regions_must_be_regions_of_the_partition_and_keep_their_order():
    known = {"us-east-1", "eu-west-1", "af-south-1"}
    assert validate_regions(["eu-west-1", "us-east-1", "eu-west-1"], known) == ["eu-west-1", "us-east-1"]
    with pytest.raises(UsageError, match=r"^--regions: unknown region 'us-gov-west-1' \(not a region of this partition\)$"):
        validate_regions(["us-east-1", "us-gov-west-1"], known)


def test_enabled_regions_respect_opt_in_and_the_callers_partition(org):
    sessions = AccountSessions()
    reader = AwsReader(sessions.target_cache(MANAGEMENT), "us-east-1")
    everything = enabled_regions(reader, sessions.known_regions())
    assert "af-south-1" in everything and "us-east-1" in everything  # opted in; never needed opting in
    listed = org.client("ec2").describe_regions(AllRegions=True)["Regions"]
    not_opted_in = {r["RegionName"] for r in listed if r["OptInStatus"] == "not-opted-in"}
    assert not_opted_in and not not_opted_in & set(everything)
    # Only regions of the caller's partition count, whatever the account lists.
    assert enabled_regions(reader, {"us-east-1", "af-south-1", "ap-east-1"}) == ["af-south-1", "us-east-1"]


# accounts -------------------------------------------------------------------------------------------------


def test_account_mode_scans_the_caller_or_the_named_accounts_without_asking_organizations(org):
    org.faults = Faults(deny_actions={MANAGEMENT: ["organizations:*"]})
    assert [a.id for a in plan(org_mode=False).accounts] == [MANAGEMENT]
    named = plan(org_mode=False, accounts=[PROD, SANDBOX], exclude=[SANDBOX])
    assert named.mode == "account" and named.organization_id is None and [a.id for a in named.accounts] == [PROD]
    assert all(a.ou_path is None for a in named.accounts)


def test_organization_mode_lists_every_account_and_skips_suspended_ones_visibly(org):
    planned = plan()
    assert planned.mode == "organization" and planned.management_account_id == MANAGEMENT
    by_id = {a.id: a for a in planned.accounts}
    assert sorted(by_id) == sorted([MANAGEMENT, PROD, NESTED, SANDBOX, CLOSED])
    assert by_id[CLOSED].status == "skipped" and by_id[CLOSED].error == "account is suspended"
    assert {a.status for a in planned.accounts if a.id != CLOSED} == {"scanned"}
    assert [unit.name for unit in by_id[NESTED].ou_path] == ["Root", "Workloads", "Prod"]


def test_an_ou_filter_takes_every_account_below_it(org):
    workloads = plan(ous=[unit_id(org, "Workloads")])
    assert sorted(a.id for a in workloads.accounts) == sorted([PROD, NESTED])
    both = plan(ous=[unit_id(org, "Workloads/Prod"), unit_id(org, "Sandbox")], exclude=[CLOSED])
    assert sorted(a.id for a in both.accounts) == sorted([NESTED, SANDBOX])


def test_accounts_narrow_the_organization_and_must_belong_to_it(org):
    assert [a.id for a in plan(accounts=[PROD]).accounts] == [PROD]
    with pytest.raises(UsageError, match=r"^--accounts: 999999999999 is not an account of organization o-"):
        plan(accounts=[PROD, "999999999999"])
    # Under an OU filter an account outside the OUs is simply not planned: the two options narrow together.
    assert [a.id for a in plan(ous=[unit_id(org, "Sandbox")], accounts=[SANDBOX, PROD]).accounts] == [SANDBOX]


@pytest.mark.parametrize("ou, message", [
    ("not-an-ou", "--ou: 'not-an-ou' is not an OU id (ou-xxxx-xxxxxxxx) or root id (r-xxxx)"),
    ("ou-zzzz-99999999", "--ou: "),
])
def test_a_malformed_or_unknown_ou_is_a_usage_error(org, ou, message):
    with pytest.raises(UsageError) as refused:
        plan(ous=[ou])
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)


def test_an_organization_the_caller_may_not_read_is_a_usage_error_naming_the_action(make_org):
    make_org(SCENARIO, faults=Faults(deny_actions={MANAGEMENT: ["organizations:ListAccounts"]}))
    with pytest.raises(UsageError, match=r"^--org: the caller \(111111111111\) may not read the organization "
                                         r"\(organizations:ListAccounts denied\)"):
        plan()


def test_a_hostile_ou_name_is_made_safe_in_the_plan(org):
    org.client("organizations").update_organizational_unit(OrganizationalUnitId=unit_id(org, "Sandbox"),
                                                            Name="Sand\u202ebox\x00" + "x" * 200)
    sandbox = next(a for a in plan().accounts if a.id == SANDBOX)
    name = sandbox.ou_path[-1].name
    # Control characters replaced, the length bounded (MAX_OU_NAME, plus the truncation note), once, here.
    assert name.startswith("Sand\u202ebox\ufffdx") and "\x00" not in name and len(name) < 200
