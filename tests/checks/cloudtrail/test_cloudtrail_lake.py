"""CloudTrail Lake event data stores count for multi-Region logging and KMS events (issue 18).

End to end against the simulated organization: ``orgscan scan --org`` over
boto3 and HTTP with real role assumption, and single checks through
``check_context``. Expected verdicts follow AWS's documentation:

- [ORG-EDS] CloudTrail User Guide, "Understanding organization event data stores"
  https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-lake-organizations.html
  -- an organization event data store "is automatically applied to all member
  accounts"; "Member accounts can't see the organization event data store"; a
  store a delegated administrator creates "exists in the management account".
- [MGMT-EVENTS] CloudTrail User Guide, "Logging management events", "Example:
  Exclude AWS KMS management events" (an ``eventSource`` ``NotEquals``
  ``kms.amazonaws.com`` selector) and "Read and write events"
  https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html
- [KMS-CT] AWS KMS Developer Guide, "Logging AWS KMS API calls with AWS CloudTrail":
  Decrypt and GenerateDataKey (how DevOps Guru uses the key) are read-only
  events, CreateGrant and key policy changes are write events.
  https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html
- [GET-EDS] CloudTrail API Reference, GetEventDataStore ``Status``
  (CREATED | ENABLED | PENDING_DELETION | STARTING_INGESTION | STOPPING_INGESTION | STOPPED_INGESTION):
  only an ENABLED store ingests events.
  https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_GetEventDataStore.html
- [LIST-EDS] CloudTrail API Reference, ListEventDataStores: "all event data
  stores in the account, in the current Region".
  https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_ListEventDataStores.html
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from checks.cloudtrail.cloudtrail_kms_events_logged import cloudtrail_kms_events_logged
from checks.cloudtrail.cloudtrail_multi_region_logging import cloudtrail_multi_region_logging
from scanner.errors import AccessDenied
from scanner.model import Status
from scanner.simulator import Faults
from scanner.testing import check_context

MANAGEMENT = "200000000001"
MEMBER = "200000000002"               # nothing of its own: only the organization's store can cover it
KMS_EXCLUDED = "200000000003"         # own store: management events but eventSource NotEquals kms
WRITE_ONLY = "200000000004"           # own store: readOnly Equals false
STOPPED = "200000000005"              # own store, all management events, STOPPED_INGESTION
SINGLE_REGION = "200000000006"        # own store in eu-west-1, not multi-Region
OWN_STORE = "200000000007"            # own account-level store, all management events
CONFIG_ITEMS = "200000000008"         # own store of AWS Config configuration items (no management events)
REGIONS = ["us-east-1", "eu-west-1"]
CHECKS = "cloudtrail_multi_region_logging,cloudtrail_kms_events_logged"

MANAGEMENT_EVENTS = {"Field": "eventCategory", "Equals": ["Management"]}
NO_KMS = [{"Name": "no kms", "FieldSelectors": [MANAGEMENT_EVENTS, {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]}]}]


def _account(account_id, name, stores=(), trails=()):
    return {"id": account_id, "name": name, "email": f"{name}@example.com",
            "event_data_stores": list(stores), "trails": list(trails)}


def lake_scenario(organization_store=None, management_store_is_organization=True):
    """An organization without any trail; the management account may hold one event data store."""
    management_stores = []
    if organization_store is not None:
        management_stores.append({"name": "org-lake", "organization": management_store_is_organization, **organization_store})
    return {
        "name": "lake-cases",
        "organization": {"management_account": MANAGEMENT, "regions": REGIONS},
        "accounts": [
            _account(MANAGEMENT, "management", management_stores),
            _account(MEMBER, "member"),
            _account(KMS_EXCLUDED, "kms-excluded", [{"name": "no-kms", "advanced_event_selectors": NO_KMS}]),
            _account(WRITE_ONLY, "write-only", [{"name": "writes", "advanced_event_selectors": [
                {"Name": "writes", "FieldSelectors": [MANAGEMENT_EVENTS, {"Field": "readOnly", "Equals": ["false"]}]}]}]),
            _account(STOPPED, "stopped", [{"name": "stopped", "status": "STOPPED_INGESTION"}]),
            _account(SINGLE_REGION, "single-region", [{"name": "local", "region": "eu-west-1", "multi_region": False}]),
            _account(OWN_STORE, "own-store", [{"name": "own"}]),
            _account(CONFIG_ITEMS, "config-items", [{"name": "config", "advanced_event_selectors": [
                {"Name": "config", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["ConfigurationItem"]}]}]}]),
        ],
    }


def verdicts(document):
    """``{(check, account, region): status}`` of a results document."""
    return {(r["check_id"], r["account_id"], r["region"]): r["status"] for r in document["results"]}


def test_an_organization_event_data_store_alone_passes_both_checks_everywhere(make_org, run_orgscan):
    # [ORG-EDS]: applied to every member, and recorded in the management account too.
    make_org(lake_scenario(organization_store={}))
    code, document = run_orgscan("--org", "--checks", CHECKS, "--regions", ",".join(REGIONS), "--quiet")
    got = verdicts(document)
    for account in (MANAGEMENT, MEMBER, STOPPED, CONFIG_ITEMS):
        assert got[("cloudtrail_multi_region_logging", account, "global")] == "PASS", account
        for region in REGIONS:
            assert got[("cloudtrail_kms_events_logged", account, region)] == "PASS", (account, region)
    # a member's own store that excludes KMS does not take away the organization store's coverage
    assert got[("cloudtrail_kms_events_logged", KMS_EXCLUDED, "us-east-1")] == "PASS"
    member = next(r for r in document["results"]
                  if r["account_id"] == MEMBER and r["check_id"] == "cloudtrail_multi_region_logging")
    assert member["message"].startswith("organization event data store org-lake is multi-Region")
    assert member["evidence"]["event_data_stores"][0]["organization_enabled"] is True
    assert code == 0


def test_each_kind_of_store_is_judged_as_aws_documents_it(make_org, run_orgscan):
    # No organization store: each member stands on its own store.
    make_org(lake_scenario())
    code, document = run_orgscan("--org", "--checks", CHECKS, "--regions", ",".join(REGIONS), "--quiet")
    got = verdicts(document)
    expected = {
        # account: (multi_region_logging, kms us-east-1, kms eu-west-1)
        OWN_STORE: ("PASS", "PASS", "PASS"),          # all management events, multi-Region, ENABLED [MGMT-EVENTS]
        KMS_EXCLUDED: ("PASS", "FAIL", "FAIL"),       # eventSource NotEquals kms.amazonaws.com [MGMT-EVENTS]
        WRITE_ONLY: ("FAIL", "FAIL", "FAIL"),         # Decrypt/GenerateDataKey are read-only events [KMS-CT]
        STOPPED: ("FAIL", "FAIL", "FAIL"),            # only ENABLED ingests [GET-EDS]
        SINGLE_REGION: ("FAIL", "FAIL", "PASS"),      # a single-Region store covers its home region only
        CONFIG_ITEMS: ("FAIL", "FAIL", "FAIL"),       # configuration items are not management events
        MEMBER: ("FAIL", "FAIL", "FAIL"),             # nothing records it
        MANAGEMENT: ("FAIL", "FAIL", "FAIL"),
    }
    for account, (multi_region, kms_east, kms_west) in expected.items():
        assert got[("cloudtrail_multi_region_logging", account, "global")] == multi_region, account
        assert got[("cloudtrail_kms_events_logged", account, "us-east-1")] == kms_east, account
        assert got[("cloudtrail_kms_events_logged", account, "eu-west-1")] == kms_west, account
    assert code == 1


def test_an_organization_store_that_excludes_kms_events_fails_kms_but_not_multi_region(make_org, run_orgscan):
    make_org(lake_scenario(organization_store={"advanced_event_selectors": NO_KMS}))
    code, document = run_orgscan("--org", "--checks", CHECKS, "--regions", "us-east-1", "--quiet")
    got = verdicts(document)
    for account in (MANAGEMENT, MEMBER):
        assert got[("cloudtrail_multi_region_logging", account, "global")] == "PASS"
        assert got[("cloudtrail_kms_events_logged", account, "us-east-1")] == "FAIL"
    failure = next(r for r in document["results"]
                   if r["account_id"] == MEMBER and r["check_id"] == "cloudtrail_kms_events_logged")
    assert failure["evidence"]["event_data_stores"][0]["records_kms_read_events"] is False
    assert code == 1


@pytest.mark.parametrize("status", ["STOPPED_INGESTION", "CREATED", "PENDING_DELETION", "STARTING_INGESTION", "STOPPING_INGESTION"])
def test_an_organization_store_that_is_not_ingesting_does_not_count(make_org, status):
    sim = make_org(lake_scenario(organization_store={"status": status}))
    # [GET-EDS]: only ENABLED ingests events.
    for check in (cloudtrail_multi_region_logging, cloudtrail_kms_events_logged):
        findings = list(check(check_context(sim, MEMBER, "us-east-1", check)))
        assert [f.status for f in findings] == [Status.FAIL]
        assert findings[0].evidence["event_data_stores"][0]["status"] == status


def test_an_account_level_store_of_the_management_account_does_not_cover_members(make_org):
    sim = make_org(lake_scenario(organization_store={}, management_store_is_organization=False))
    # [ORG-EDS]: only an organization event data store applies to member accounts.
    assert [f.status for f in cloudtrail_multi_region_logging(check_context(sim, MANAGEMENT, "us-east-1", cloudtrail_multi_region_logging))] == [Status.PASS]
    assert [f.status for f in cloudtrail_multi_region_logging(check_context(sim, MEMBER, "us-east-1", cloudtrail_multi_region_logging))] == [Status.FAIL]


def test_members_cannot_see_the_organization_store_so_a_single_account_scan_fails(make_org):
    sim = make_org(lake_scenario(organization_store={}))
    # [ORG-EDS] "Member accounts can't see the organization event data store": the simulator answers so.
    member_list = sim.client("cloudtrail", "us-east-1", account_id=MEMBER).list_event_data_stores()
    assert member_list["EventDataStores"] == []
    management_list = sim.client("cloudtrail", "us-east-1").list_event_data_stores()["EventDataStores"]
    assert [s["Name"] for s in management_list] == ["org-lake"]
    # [LIST-EDS]: a multi-Region store is listed in its home region only
    assert sim.client("cloudtrail", "eu-west-1").list_event_data_stores()["EventDataStores"] == []
    context = check_context(sim, MEMBER, "us-east-1", cloudtrail_multi_region_logging)
    single = replace(context, scan_mode="account", organization=None)
    findings = list(cloudtrail_multi_region_logging(single))
    assert [f.status for f in findings] == [Status.FAIL]
    assert "not visible from a member account" in findings[0].message


def test_access_denied_to_list_event_data_stores_is_an_error_unless_a_trail_qualifies(make_org):
    scenario = lake_scenario(organization_store={})
    scenario["accounts"][1]["trails"] = [{"name": "member-trail"}]  # MEMBER: its own multi-Region trail
    sim = make_org(scenario, Faults(deny_actions={
        MEMBER: ["cloudtrail:ListEventDataStores"], OWN_STORE: ["cloudtrail:GetEventDataStore"],
        STOPPED: ["cloudtrail:ListEventDataStores"],
    }))
    # a qualifying trail is enough: what the store would have said cannot change the verdict
    for check in (cloudtrail_multi_region_logging, cloudtrail_kms_events_logged):
        assert [f.status for f in check(check_context(sim, MEMBER, "us-east-1", check))] == [Status.PASS]
    # the organization store (read from the management account) still covers a member whose own list is denied
    assert [f.status for f in cloudtrail_kms_events_logged(check_context(sim, STOPPED, "us-east-1", cloudtrail_kms_events_logged))] == [Status.PASS]


def test_event_data_stores_are_read_only_when_no_trail_qualifies(make_org):
    scenario = lake_scenario(organization_store={})
    scenario["accounts"][1]["trails"] = [{"name": "member-trail"}]  # MEMBER: its own multi-Region trail
    sim = make_org(scenario)
    # A qualifying trail settles both verdicts: no ListEventDataStores in the member or the management account.
    for check in (cloudtrail_multi_region_logging, cloudtrail_kms_events_logged):
        findings = list(check(check_context(sim, MEMBER, "us-east-1", check)))
        assert [f.status for f in findings] == [Status.PASS]
        assert findings[0].evidence["event_data_stores_read"] is False
        assert findings[0].evidence["event_data_stores"] == []
    assert not [action for (_, _, action) in sim.call_counts() if action == "cloudtrail:ListEventDataStores"]
    # Without a trail, the stores are read and the organization store is what passes the account.
    findings = list(cloudtrail_kms_events_logged(check_context(sim, CONFIG_ITEMS, "us-east-1", cloudtrail_kms_events_logged)))
    assert [f.status for f in findings] == [Status.PASS]
    assert findings[0].evidence["event_data_stores_read"] is True
    assert True in [s["organization_enabled"] for s in findings[0].evidence["event_data_stores"]]  # its own store is config items only
    assert {account for (account, _, action) in sim.call_counts() if action == "cloudtrail:ListEventDataStores"} == {CONFIG_ITEMS, MANAGEMENT}


def test_access_denied_with_nothing_qualifying_is_an_error_naming_the_action(make_org, run_orgscan):
    make_org(lake_scenario(), Faults(deny_actions={
        OWN_STORE: ["cloudtrail:GetEventDataStore"], STOPPED: ["cloudtrail:ListEventDataStores"],
    }))
    code, document = run_orgscan("--org", "--checks", CHECKS, "--regions", "us-east-1", "--quiet")
    results = {(r["check_id"], r["account_id"]): r for r in document["results"]}
    # the unreadable store might be the one that qualifies: ERROR, never FAIL
    assert results[("cloudtrail_multi_region_logging", OWN_STORE)]["status"] == "ERROR"
    assert "cloudtrail:GetEventDataStore" in results[("cloudtrail_multi_region_logging", OWN_STORE)]["message"]
    assert results[("cloudtrail_kms_events_logged", STOPPED)]["status"] == "ERROR"
    assert "cloudtrail:ListEventDataStores" in results[("cloudtrail_kms_events_logged", STOPPED)]["message"]
    assert results[("cloudtrail_multi_region_logging", MEMBER)]["status"] == "FAIL"
    assert code == 1  # FAILs outrank ERRORs in the exit code (README, "Exit codes")


def test_management_account_denied_makes_members_without_their_own_coverage_an_error(make_org):
    sim = make_org(lake_scenario(organization_store={}), Faults(deny_actions={MANAGEMENT: ["cloudtrail:ListEventDataStores"]}))
    with pytest.raises(AccessDenied, match="cloudtrail:ListEventDataStores"):
        list(cloudtrail_multi_region_logging(check_context(sim, MEMBER, "us-east-1", cloudtrail_multi_region_logging)))
    # a member with its own qualifying store is judged on it
    assert [f.status for f in cloudtrail_multi_region_logging(check_context(sim, OWN_STORE, "us-east-1", cloudtrail_multi_region_logging))] == [Status.PASS]


def test_hostile_store_answers_never_reach_the_output_unmasked():
    from scanner.context import Account, CheckContext

    secret = "AKIAIOSFODNN7EXAMPLE"

    class Answers:
        region = "us-east-1"

        def call(self, service, operation, **params):
            if operation == "describe_trails":
                return {"trailList": []}
            if operation == "list_event_data_stores":
                return {"EventDataStores": [{"EventDataStoreArn": f"arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/{secret}",
                                             "Name": f"lake-{secret}"}]}
            return {"Status": f"ENABLED {secret}\u0000<script>", "MultiRegionEnabled": True,
                    "AdvancedEventSelectors": [{"FieldSelectors": [MANAGEMENT_EVENTS]}]}

    context = CheckContext(account=Account("123456789012"), region="us-east-1", api_region="us-east-1", aws=Answers())
    findings = list(cloudtrail_multi_region_logging(context))
    # an unknown Status is not ENABLED [GET-EDS]: the store does not count
    assert [f.status for f in findings] == [Status.FAIL]
    assert findings[0].evidence["event_data_stores"][0]["status"] == "unrecognised"
    assert secret not in findings[0].message + repr(findings[0].evidence)
