"""The CloudTrail checks against the simulated organization (boto3 over HTTP, real role assumption).

One small organization holds every case: each member account is one way of
passing or failing, so one scenario reset serves the whole module.
"""
from __future__ import annotations

import pytest

from checks.cloudtrail.cloudtrail_cmk_encryption import cloudtrail_cmk_encryption
from checks.cloudtrail.cloudtrail_kms_events_logged import cloudtrail_kms_events_logged
from checks.cloudtrail.cloudtrail_log_file_validation import cloudtrail_log_file_validation
from checks.cloudtrail.cloudtrail_multi_region_logging import cloudtrail_multi_region_logging
from checks.trails import Trail, advanced_selector_matches
from scanner.errors import AccessDenied
from scanner.model import Status
from scanner.simulator import Faults
from scanner.testing import check_context

MANAGEMENT = "100000000001"
ORG_TRAIL_ONLY = "100000000002"      # covered by the org trail alone (in organization mode)
NO_TRAIL = "100000000003"            # no trail at all (the org trail of this org records no reads)
SINGLE_REGION = "100000000004"       # single-Region trail, logging
NOT_LOGGING = "100000000005"         # multi-Region trail, stopped
WRITE_ONLY = "100000000006"          # multi-Region trail, write events only
KMS_EXCLUDED_BASIC = "100000000007"  # excludes kms.amazonaws.com with ExcludeManagementEventSources
KMS_EXCLUDED_ADVANCED = "100000000008"  # advanced selector eventSource NotEquals kms
ADVANCED_ALL = "100000000009"        # advanced selector: all management events
KEY = f"arn:aws:kms:us-east-1:{MANAGEMENT}:key/0b1d4c2e-1111-4a6f-9c1e-000000000001"


def _account(account_id, name, trails=(), **extra):
    return {"id": account_id, "name": name, "email": f"{name}@example.com", "trails": list(trails), **extra}


def scenario(org_trail_reads: bool = True):
    org_trail = {
        "name": "org-trail", "organization": True, "multi_region": True, "logging": True,
        "log_file_validation": True, "kms_key_id": KEY,
        "event_selectors": [{"ReadWriteType": "All" if org_trail_reads else "WriteOnly", "IncludeManagementEvents": True}],
    }
    return {
        "name": "cloudtrail-cases",
        "organization": {"management_account": MANAGEMENT, "regions": ["us-east-1", "eu-west-1"]},
        "accounts": [
            _account(MANAGEMENT, "management", [
                org_trail,
                {"name": "mgmt-no-validation", "region": "eu-west-1", "multi_region": False, "log_file_validation": False},
            ]),
            _account(ORG_TRAIL_ONLY, "org-trail-only"),
            _account(NO_TRAIL, "no-trail"),
            _account(SINGLE_REGION, "single-region", [{"name": "local", "region": "eu-west-1", "multi_region": False}]),
            _account(NOT_LOGGING, "not-logging", [{"name": "stopped", "logging": False}]),
            _account(WRITE_ONLY, "write-only", [{"name": "writes", "event_selectors": [
                {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]}]),
            _account(KMS_EXCLUDED_BASIC, "kms-excluded", [{"name": "cheap", "event_selectors": [
                {"ReadWriteType": "All", "IncludeManagementEvents": True, "ExcludeManagementEventSources": ["kms.amazonaws.com"]}]}]),
            _account(KMS_EXCLUDED_ADVANCED, "kms-excluded-advanced", [{"name": "advanced-no-kms", "advanced_event_selectors": [
                {"Name": "no kms", "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Management"]},
                    {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]}]}]}]),
            _account(ADVANCED_ALL, "advanced-all", [{"name": "advanced-all", "kms_key_id": KEY, "advanced_event_selectors": [
                {"Name": "all management", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]}]),
        ],
    }


@pytest.fixture
def org(make_org):
    return make_org(scenario(org_trail_reads=False))


def run(sim, account, region, check, **kwargs):
    return list(check(check_context(sim, account, region, check, **kwargs)))


def statuses(findings):
    return [f.status for f in findings]


# -- cloudtrail_multi_region_logging -----------------------------------------------------------------


def test_multi_region_logging_pass_and_every_fail_condition(org):
    passed = run(org, ADVANCED_ALL, "us-east-1", cloudtrail_multi_region_logging)
    assert statuses(passed) == [Status.PASS]
    assert passed[0].region is None  # account-wide: the runner makes it "global"
    assert "advanced-all" in passed[0].message
    for account, reason in ((NO_TRAIL, "none of"), (SINGLE_REGION, "none of"), (NOT_LOGGING, "none of"), (WRITE_ONLY, "none of")):
        findings = run(org, account, "us-east-1", cloudtrail_multi_region_logging)
        assert statuses(findings) == [Status.FAIL], account
        assert reason in findings[0].message
    # the single-Region trail is in eu-west-1; seen from us-east-1 only the org trail (write-only) shows
    evidence = run(org, NOT_LOGGING, "us-east-1", cloudtrail_multi_region_logging)[0].evidence["trails"]
    own = [t for t in evidence if "stopped" in t["trail_arn"]]
    assert own and own[0]["is_logging"] is False


def test_multi_region_logging_uses_the_organization_trail_in_organization_mode(make_org):
    sim = make_org(scenario(org_trail_reads=True))
    findings = run(sim, NO_TRAIL, "eu-west-1", cloudtrail_multi_region_logging)
    assert statuses(findings) == [Status.PASS]
    assert "organization trail org-trail" in findings[0].message
    assert findings[0].evidence["qualifying_trails"] == [f"arn:aws:cloudtrail:us-east-1:{MANAGEMENT}:trail/org-trail"]


def test_multi_region_logging_in_single_account_mode_sees_what_aws_shows_the_member(make_org):
    sim = make_org(scenario(org_trail_reads=True))
    context = check_context(sim, NO_TRAIL, "us-east-1", cloudtrail_multi_region_logging)
    from dataclasses import replace

    single = replace(context, scan_mode="account", organization=None)
    # AWS shows a member the organization trail that logs it, so it passes from the member's own view too
    assert statuses(cloudtrail_multi_region_logging(single)) == [Status.PASS]


def test_multi_region_logging_access_denied_is_an_error_naming_the_action(make_org):
    sim = make_org(scenario(), Faults(deny_actions={WRITE_ONLY: ["cloudtrail:GetTrailStatus"]}))
    with pytest.raises(AccessDenied) as error:
        run(sim, WRITE_ONLY, "us-east-1", cloudtrail_multi_region_logging)
    assert "cloudtrail:GetTrailStatus" in str(error.value)


# -- cloudtrail_kms_events_logged --------------------------------------------------------------------


def test_kms_events_pass_and_every_fail_condition(org):
    assert statuses(run(org, ADVANCED_ALL, "eu-west-1", cloudtrail_kms_events_logged)) == [Status.PASS]
    cases = {
        KMS_EXCLUDED_BASIC: "records both read and write",
        KMS_EXCLUDED_ADVANCED: "records both read and write",
        WRITE_ONLY: "records both read and write",
        NOT_LOGGING: "records both read and write",  # the org trail (logging) covers it but excludes reads
        NO_TRAIL: "records both read and write",
    }
    for account, message in cases.items():
        findings = run(org, account, "us-east-1", cloudtrail_kms_events_logged)
        assert statuses(findings) == [Status.FAIL], account
        assert message in findings[0].message
    basic = run(org, KMS_EXCLUDED_BASIC, "us-east-1", cloudtrail_kms_events_logged)[0].evidence["trails"]
    cheap = next(t for t in basic if "cheap" in t["trail_arn"])
    assert cheap["records_kms_read_events"] is False and cheap["records_kms_write_events"] is False


def test_kms_events_single_region_trail_covers_only_its_region(org):
    # single-region trail homed in eu-west-1 records everything there; us-east-1 has only the org trail
    assert statuses(run(org, SINGLE_REGION, "eu-west-1", cloudtrail_kms_events_logged)) == [Status.PASS]
    assert statuses(run(org, SINGLE_REGION, "us-east-1", cloudtrail_kms_events_logged)) == [Status.FAIL]


def test_kms_events_with_no_trail_covering_the_region(make_org):
    sim = make_org({
        "organization": {"management_account": MANAGEMENT, "regions": ["us-east-1", "eu-west-1"]},
        "accounts": [_account(MANAGEMENT, "management", [{"name": "local", "region": "eu-west-1", "multi_region": False}])],
    })
    findings = run(sim, MANAGEMENT, "us-east-1", cloudtrail_kms_events_logged)
    assert statuses(findings) == [Status.FAIL]
    assert findings[0].message == "no trail or event data store covers us-east-1, so KMS key use there is not logged"


def test_kms_events_access_denied(make_org):
    sim = make_org(scenario(), Faults(deny_actions={ADVANCED_ALL: ["cloudtrail:DescribeTrails"]}))
    with pytest.raises(AccessDenied) as error:
        run(sim, ADVANCED_ALL, "us-east-1", cloudtrail_kms_events_logged)
    assert "cloudtrail:DescribeTrails" in str(error.value)


# -- per-trail checks ---------------------------------------------------------------------------------


def test_log_file_validation_per_trail_in_its_home_region(org):
    us = run(org, MANAGEMENT, "us-east-1", cloudtrail_log_file_validation)
    eu = run(org, MANAGEMENT, "eu-west-1", cloudtrail_log_file_validation)
    assert [(f.status, f.region, f.resource_id) for f in us] == [
        (Status.PASS, "us-east-1", f"arn:aws:cloudtrail:us-east-1:{MANAGEMENT}:trail/org-trail")]
    assert [(f.status, f.region, f.resource_arn) for f in eu] == [
        (Status.FAIL, "eu-west-1", f"arn:aws:cloudtrail:eu-west-1:{MANAGEMENT}:trail/mgmt-no-validation")]
    # a member does not judge the organization trail it is shown: the management account does
    assert run(org, NO_TRAIL, "us-east-1", cloudtrail_log_file_validation) == []


def test_cmk_encryption_per_trail(org):
    assert statuses(run(org, ADVANCED_ALL, "us-east-1", cloudtrail_cmk_encryption)) == [Status.PASS]
    failed = run(org, WRITE_ONLY, "us-east-1", cloudtrail_cmk_encryption)
    assert statuses(failed) == [Status.FAIL]
    assert "KmsKeyId absent" in failed[0].message
    assert failed[0].evidence["kms_key_id"] is None


def test_per_trail_checks_access_denied(make_org):
    sim = make_org(scenario(), Faults(deny_actions={ADVANCED_ALL: ["cloudtrail:*"]}))
    for check in (cloudtrail_log_file_validation, cloudtrail_cmk_encryption):
        with pytest.raises(AccessDenied) as error:
            run(sim, ADVANCED_ALL, "us-east-1", check)
        assert "cloudtrail:DescribeTrails" in str(error.value)


# -- selector semantics and malformed answers (no AWS needed) -------------------------------------------


def _trail(**kwargs):
    base = dict(arn="arn:aws:cloudtrail:us-east-1:123456789012:trail/t", name="t", home_region="us-east-1",
                multi_region=True, organization_trail=False, log_file_validation=True, kms_key_id=None,
                owner_account="123456789012", is_logging=True)
    base.update(kwargs)
    return Trail(**base)


def test_selector_semantics():
    reads_and_writes = _trail(basic_selectors=[{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True},
                                               {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}])
    assert reads_and_writes.records_all_management()
    data_only = _trail(basic_selectors=[{"ReadWriteType": "All", "IncludeManagementEvents": False}])
    assert not data_only.records_management("iam.amazonaws.com", True)
    read_only_advanced = _trail(advanced_selectors=[{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["true"]}]}])
    assert read_only_advanced.records_management("kms.amazonaws.com", True)
    assert not read_only_advanced.records_management("kms.amazonaws.com", False)
    starts = {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                 {"Field": "eventSource", "NotStartsWith": ["kms."]}]}
    assert not advanced_selector_matches(starts, {"eventCategory": "Management", "eventSource": "kms.amazonaws.com"})
    data_selector = {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                                        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]}
    assert not _trail(advanced_selectors=[data_selector]).records_management("kms.amazonaws.com", True)


@pytest.mark.parametrize("selector", [{}, {"FieldSelectors": "x"}, {"FieldSelectors": [{"Equals": ["a"]}]},
                                      {"FieldSelectors": [{"Field": "eventSource", "Equals": "kms"}]}])
def test_malformed_advanced_selector_raises_a_clear_error(selector):
    from scanner.errors import MalformedResponse

    with pytest.raises(MalformedResponse):
        advanced_selector_matches(selector, {"eventCategory": "Management"})


class _FixedAnswers:
    """A reader double answering each operation with a fixed (possibly malformed) response."""

    region = "us-east-1"

    def __init__(self, answers):
        self.answers = answers

    def call(self, service, operation, **params):
        return self.answers[operation]


def _context_with(answers, scan_mode="account"):
    from scanner.context import Account, CheckContext

    return CheckContext(account=Account("123456789012"), region="us-east-1", api_region="us-east-1",
                        aws=_FixedAnswers(answers), scan_mode=scan_mode)


def test_a_malformed_trail_entry_is_an_error_result_and_the_others_are_judged():
    good = {"TrailARN": "arn:aws:cloudtrail:us-east-1:123456789012:trail/good", "Name": "good", "HomeRegion": "us-east-1",
            "LogFileValidationEnabled": True}
    context = _context_with({"describe_trails": {"trailList": [good, {"Name": 7}, "not-a-trail"]}})
    findings = list(cloudtrail_log_file_validation(context))
    assert [f.status for f in findings] == [Status.PASS, Status.ERROR, Status.ERROR]
    assert findings[1].resource_id == "trailList[1]" and "without TrailARN" in findings[1].message


def test_malformed_status_or_selectors_make_the_account_check_raise_not_crash_silently():
    from scanner.errors import MalformedResponse

    trail = {"TrailARN": "arn:aws:cloudtrail:us-east-1:123456789012:trail/t", "Name": "t", "HomeRegion": "us-east-1",
             "IsMultiRegionTrail": True}
    for status, selectors in (({"IsLogging": "yes"}, {"EventSelectors": []}),
                              ({"IsLogging": True}, {"EventSelectors": "all"}),
                              ({"IsLogging": True}, {"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": 1}]}]})):
        context = _context_with({"describe_trails": {"trailList": [trail]}, "get_trail_status": status,
                                 "get_event_selectors": selectors, "list_event_data_stores": {"EventDataStores": []}})
        with pytest.raises(MalformedResponse):
            list(cloudtrail_multi_region_logging(context))
    with pytest.raises(MalformedResponse, match="no trailList"):
        list(cloudtrail_multi_region_logging(_context_with({"describe_trails": {}})))


def test_unreadable_management_account_does_not_hide_a_members_own_qualifying_trail(make_org):
    sim = make_org(scenario(org_trail_reads=False), Faults(deny_actions={MANAGEMENT: ["cloudtrail:DescribeTrails"]}))
    assert statuses(run(sim, ADVANCED_ALL, "us-east-1", cloudtrail_multi_region_logging)) == [Status.PASS]
    # without a qualifying trail of its own, the member's result is the management account's error
    with pytest.raises(AccessDenied, match="cloudtrail:DescribeTrails"):
        run(sim, NO_TRAIL, "us-east-1", cloudtrail_multi_region_logging)
