"""Scenario files: errors name the file, the place and the problem; the shipped scenarios hold what they promise."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scanner.errors import UsageError
from scanner.simulator import default_scenario, load_scenario, scenario_from_dict, synthetic_scenario

MINIMAL = """
[organization]
management_account = "111111111111"
regions = ["us-east-1"]

[[accounts]]
id = "111111111111"
name = "management"
email = "m@example.com"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "org.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_scenario_loads(tmp_path):
    scenario = load_scenario(_write(tmp_path, MINIMAL))
    assert scenario.management_account_id == "111111111111"
    assert scenario.regions == ("us-east-1",)
    assert scenario.accounts[0].root_mfa is True


@pytest.mark.parametrize(
    ("addition", "place", "problem"),
    [
        ('\n[[accounts]]\nid = "12345"\nname = "x"\nemail = "x@example.com"\n', "accounts[1].id", "is not a 12-digit account id"),
        # Digits of other scripts (Python's \\d takes them) and a trailing newline are not an account id.
        ('\n[[accounts]]\nid = "' + "\u0662" * 12 + '"\nname = "x"\nemail = "x@example.com"\n', "accounts[1].id", "is not a 12-digit account id"),
        ('\n[[accounts]]\nid = "222222222222\\n"\nname = "x"\nemail = "x@example.com"\n', "accounts[1].id", "is not a 12-digit account id"),
        ('\n[[accounts]]\nid = "222222222222"\nname = "x"\nemail = "x@example.com"\nstatus = "CLOSED"\n', "accounts[1].status", "'CLOSED' is not one of ACTIVE, SUSPENDED"),
        ('\n[[accounts]]\nid = "222222222222"\nname = "x"\nemail = "x@example.com"\nou = "Nowhere"\n', "accounts[1].ou", "is not declared in organization.units"),
        ('\n[[accounts]]\nid = "222222222222"\nname = "x"\nemail = "x@example.com"\nroot_password = false\n', "accounts[1].root_mfa", "has no MFA: set root_mfa = false"),
        ('\n[[accounts]]\nid = "222222222222"\nname = "x"\nemail = "x@example.com"\nroot_access_keys = "no"\n', "accounts[1].root_access_keys", "expected true or false"),
        ('\n[[accounts.kms_keys]]\npolicy = "{not json"\n', "accounts[0].kms_keys[0].policy", "not valid JSON"),
        ('\n[[accounts.kms_keys]]\nstate = "Broken"\n', "accounts[0].kms_keys[0].state", "is not one of Enabled, Disabled, PendingDeletion"),
        ('\n[[accounts.kms_keys]]\nrotation = "yes"\n', "accounts[0].kms_keys[0].rotation", "expected true or false"),
        ('\n[[accounts.kms_keys]]\naliases = ["alias/aws/s3"]\n', "accounts[0].kms_keys[0].aliases", "reserved for AWS managed keys"),
        ('\n[[accounts.kms_keys]]\nregion = "mars-north-1"\n', "accounts[0].kms_keys[0].region", "is not one of the organization's regions"),
        ('\n[[accounts.devops_guru]]\nencryption = { type = "CUSTOMER_MANAGED_KEY" }\n', "accounts[0].devops_guru[0].encryption.kms_key", "needs kms_key"),
        ('\n[[accounts.devops_guru]]\ntags = { team = ["a"] }\n', "accounts[0].devops_guru[0].tags.team", "start with DevOps-Guru-"),
        ('\n[[accounts.vpcs]]\ncidr = "10.0.0.0/16"\nsubnets = ["10.1.0.0/24"]\n', "accounts[0].vpcs[0].subnets[0]", "is not inside the VPC's 10.0.0.0/16"),
        ('\n[[accounts.vpcs]]\n[[accounts.vpcs.endpoints]]\nservice = "devops-guru"\nstate = "up"\n', "accounts[0].vpcs[0].endpoints[0].state", "is not one of available"),
        ('\n[[accounts.trails]]\nname = "x"\n', "accounts[0].trails[0].name", "is not a trail name"),
        ('\n[[accounts.trails]]\nname = "trail"\nevent_selectors = [{ ReadWriteType = "Sometimes" }]\n', "accounts[0].trails[0].event_selectors[0].ReadWriteType", "is not one of ReadOnly"),
        ('\n[[accounts.trails]]\nname = "trail"\nadvanced_event_selectors = [{ Name = "x" }]\n', "accounts[0].trails[0].advanced_event_selectors[0].FieldSelectors", "needs FieldSelectors"),
        ('\n[[accounts.event_data_stores]]\nname = "x"\n', "accounts[0].event_data_stores[0].name", "is not an event data store name"),
        ('\n[[accounts.event_data_stores]]\nname = "lake"\nstatus = "RUNNING"\n', "accounts[0].event_data_stores[0].status", "is not one of CREATED, ENABLED"),
        ('\n[[accounts.event_data_stores]]\nname = "lake"\nadvanced_event_selectors = [{ Name = "x" }]\n', "accounts[0].event_data_stores[0].advanced_event_selectors[0].FieldSelectors", "needs FieldSelectors"),
        ('\n[[accounts]]\nid = "222222222222"\nname = "x"\nemail = "x@example.com"\n[[accounts.event_data_stores]]\nname = "lake"\norganization = true\n', "accounts[1].event_data_stores[0].organization", "belongs to the management account"),
        ('\n[[accounts.sns_topics]]\nname = "t"\nsubscriptions = [{ protocol = "carrier-pigeon", endpoint = "x" }]\n', "accounts[0].sns_topics[0].subscriptions[0].protocol", "is not one of http"),
        ('\n[[accounts.iam_users]]\nname = "has space"\n', "accounts[0].iam_users[0].name", "is not an IAM name"),
        ('\n[[accounts.iam_users]]\nname = "u"\nmfa_devices = 9\n', "accounts[0].iam_users[0].mfa_devices", "0 to 8 MFA devices"),
        ('\n[[accounts.iam_users]]\nname = "u"\naccess_keys = [{}, {}, {}]\n', "accounts[0].iam_users[0].access_keys", "at most 2 access keys"),
        ('\n[[accounts.iam_users]]\nname = "u"\naccess_keys = [{ status = "Expired" }]\n', "accounts[0].iam_users[0].access_keys[0].status", "is not one of Active, Inactive"),
        ('\n[[accounts.iam_users]]\nname = "u"\naccess_keys = [{ age_days = 5, last_used_days_ago = 6 }]\n', "accounts[0].iam_users[0].access_keys[0].last_used_days_ago", "between its creation and now"),
        ("\ncolour = \"blue\"\n", "accounts[0].colour", "unknown key"),
        ('\n[[accounts.kms_keys]]\npolicy = { Version = 2012-10-17 }\n', "accounts[0].kms_keys[0].policy", "cannot be written as JSON"),
    ],
)
def test_scenario_errors_name_file_place_and_problem(tmp_path, addition, place, problem):
    path = _write(tmp_path, MINIMAL + addition)
    with pytest.raises(UsageError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{place}: "), message
    assert problem in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[organization\n", r"not valid TOML"),
        ("name = 'x'\n", r"org.toml: missing required key 'organization'$"),
        (MINIMAL.replace('"111111111111"\nregions', '"999999999999"\nregions'), r"organization.management_account: 999999999999 is not one of the declared accounts"),
        (MINIMAL.replace('["us-east-1"]', '["us-gov-west-1"]'), r"organization.regions\[0\]: 'us-gov-west-1' is not a region of the aws partition"),
        (MINIMAL.replace('regions = ["us-east-1"]', 'regions = ["us-east-1"]\nid = "org-1"'), r"organization.id: 'org-1' is not an organization id"),
        (MINIMAL + '\n[[accounts]]\nid = "111111111111"\nname = "twin"\nemail = "t@example.com"\n', r"accounts\[1\].id: account 111111111111 is already declared at accounts\[0\]"),
    ],
)
def test_organization_level_errors(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(UsageError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(str(path))
    assert re.search(expected, str(caught.value)), str(caught.value)


def test_unreadable_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match=r"missing.toml: cannot read scenario"):
        load_scenario(tmp_path / "missing.toml")


def test_policies_given_as_tables_become_json(tmp_path):
    text = MINIMAL + '\n[[accounts.kms_keys]]\npolicy = { Version = "2012-10-17", Statement = [] }\n'
    key = load_scenario(_write(tmp_path, text)).accounts[0].kms_keys[0]
    assert json.loads(key.policy) == {"Version": "2012-10-17", "Statement": []}
    # Fixed, derived ids keep ARNs and fingerprints stable from run to run.
    assert key.id == load_scenario(_write(tmp_path, text)).accounts[0].kms_keys[0].id


def test_default_scenario_has_what_it_promises():
    scenario = default_scenario()
    members = [a for a in scenario.accounts if a.id != scenario.management_account_id]
    assert len(members) >= 6
    assert len({a.ou.split("/")[0] for a in members}) >= 2
    assert len(scenario.regions) == 2
    assert [a.id for a in scenario.accounts if not a.role_assumable] == ["666666666666"]
    assert [a.id for a in scenario.accounts if a.status == "SUSPENDED"] == ["777777777777"]
    assert any(t.organization for t in scenario.management.trails)
    assert {a.root_mfa for a in scenario.accounts} == {True, False}
    encryption = {s.encryption_type for a in scenario.accounts for s in a.devops_guru}
    assert encryption == {"CUSTOMER_MANAGED_KEY", "AWS_OWNED_KMS_KEY"}
    states = {k.state for a in scenario.accounts for k in a.kms_keys}
    assert {"Enabled", "Disabled", "PendingDeletion"} <= states
    endpoints = [e for a in scenario.accounts for v in a.vpcs for e in v.endpoints]
    assert {e.private_dns for e in endpoints} == {True, False}
    # Each account block in the file is preceded by a comment saying what it demonstrates.
    text = (Path(scenario.source)).read_text(encoding="utf-8")
    for chunk in text.split("\n[[accounts]]")[:-1]:
        assert chunk.rstrip().splitlines()[-1].startswith("#")


def test_synthetic_scenario_is_reproducible_and_realistic():
    first = synthetic_scenario(60, seed=5)
    again = synthetic_scenario(60, seed=5)
    assert [a.id for a in first.accounts] == [a.id for a in again.accounts]
    assert [k.id for a in first.accounts for k in a.kms_keys] == [k.id for a in again.accounts for k in a.kms_keys]
    assert len(first.accounts) == 60 and len(set(first.account_ids)) == 60
    member = first.accounts[1]
    assert len(member.kms_keys) >= 2 * len(first.regions)
    assert member.vpcs and member.sns_topics and member.s3_buckets and member.iam_roles
    assert any(a.status == "SUSPENDED" for a in first.accounts)
    assert synthetic_scenario(60, seed=6) != first
    bucket_names = [b.name for a in first.accounts for b in a.s3_buckets]
    assert len(bucket_names) == len(set(bucket_names))


def test_a_synthetic_organization_applies_and_answers(make_org):
    # bench/ serves the synthetic organization: every kind of thing it generates must apply to the simulator.
    scenario = synthetic_scenario(4, seed=1)
    simulation = make_org(scenario)
    member = scenario.accounts[1]
    iam = simulation.client("iam", account_id=member.id)
    users = {user["UserName"] for user in iam.list_users()["Users"]}
    assert users == {user.name for user in member.iam_users} and users


def test_scenario_from_dict_checks_like_a_file():
    with pytest.raises(UsageError, match=r"^<make_org>:accounts\[0\].email: 'nobody' is not an email address$"):
        scenario_from_dict({"organization": {"management_account": "111111111111", "regions": ["us-east-1"]},
                            "accounts": [{"id": "111111111111", "name": "m", "email": "nobody"}]}, source="<make_org>")


def test_default_organization_scan_passes_and_fails_every_built_in_check(simulated_org, run_orgscan):
    code, document = run_orgscan("--org", "--regions", ",".join(simulated_org.scenario.regions), "--quiet")
    assert document is not None, f"the scan wrote no results (exit {code})"
    statuses: dict[str, set[str]] = {check["id"]: set() for check in document["scan"]["checks"]}
    for result in document["results"]:
        statuses[result["check_id"]].add(result["status"])
    missing = {check: {"PASS", "FAIL"} - seen for check, seen in statuses.items() if not {"PASS", "FAIL"} <= seen}
    assert not missing, f"checks without a PASS or a FAIL in the default scenario: {missing}"
    accounts = {a["id"]: a["status"] for a in document["scan"]["accounts"]}
    assert accounts["666666666666"] == "error" and accounts["777777777777"] == "skipped"
    assert {r["region"] for r in document["results"]} >= {"us-east-1", "eu-west-1", "global"}
    _assert_every_row_is_exercised(document, simulated_org.scenario)


@pytest.mark.parametrize(
    ("addition", "place", "problem"),
    [
        ('\n[[accounts.kms_keys]]\nstate = "PendingImport"\n', "accounts[0].kms_keys[0].state", "only keys with origin = \"EXTERNAL\""),
        ('\n[[accounts.kms_keys]]\nstate = "Unavailable"\norigin = "EXTERNAL"\n', "accounts[0].kms_keys[0].state", "only keys of a custom key store"),
        ('\n[[accounts.kms_keys]]\norigin = "EXTERNAL"\nrotation = true\n', "accounts[0].kms_keys[0].rotation", "does not rotate keys with origin EXTERNAL"),
        ('\n[[accounts.kms_keys]]\norigin = "AWS_CLOUDHSM"\nspec = "RSA_2048"\n', "accounts[0].kms_keys[0].origin", "single-Region symmetric"),
        ('\n[[accounts.kms_keys]]\norigin = "IMPORTED"\n', "accounts[0].kms_keys[0].origin", "is not one of AWS_KMS, EXTERNAL"),
        ('\n[[accounts.devops_guru]]\nomit_fields = ["KMSKeyId"]\n', "accounts[0].devops_guru[0].omit_fields[0]", "is not one of OpsCenter"),
        ('\n[[accounts.vpcs]]\n[[accounts.vpcs.endpoints]]\nservice = "devops-guru"\nwithout_policy = true\npolicy = { Statement = [] }\n',
         "accounts[0].vpcs[0].endpoints[0].without_policy", "either policy or without_policy"),
        ('\n[[accounts.macie]]\nstatus = "DISABLED"\n', "accounts[0].macie[0].status", "is not one of ENABLED, PAUSED"),
        ('\n[[accounts.macie]]\n[[accounts.macie]]\n', "accounts[0].macie[1].region", "is already declared"),
        ('\n[[accounts.cloudformation_stacks]]\nname = "1-stack"\n', "accounts[0].cloudformation_stacks[0].name", "is not a stack name"),
        # hub-and-spoke DNS (private hosted zones, Resolver rules)
        ('\n[[accounts.hosted_zones]]\nname = "not a name"\n', "accounts[0].hosted_zones[0].name", "is not a DNS name"),
        ('\n[[accounts.resolver_rules]]\nname = "r"\ndomain = "example.com"\n', "accounts[0].resolver_rules[0].target_ips", "at least one IP address"),
        ('\n[[accounts.resolver_rules]]\nname = "r"\ndomain = "example.com"\ntype = "RECURSIVE"\n', "accounts[0].resolver_rules[0].type", "is not one of FORWARD, SYSTEM, DELEGATE"),
        ('\n[[accounts.resolver_rules]]\nname = "r"\ndomain = "example.com"\ntarget_ips = ["10.0.0.300"]\n', "accounts[0].resolver_rules[0].target_ips[0]", "is not an IPv4 address"),
        ('\n[[accounts.vpcs]]\nhosted_zones = [{ account = "999999999999", name = "example.com" }]\n', "accounts[0].vpcs[0].hosted_zones[0]", "declares no hosted zone example.com."),
        ('\n[[accounts.vpcs]]\nresolver_rules = [{ name = "r" }]\n', "accounts[0].vpcs[0].resolver_rules[0]", "declares no Resolver rule 'r'"),
        ('\n[[accounts.resolver_rules]]\nname = "r"\ndomain = "example.com"\ntarget_ips = ["10.0.0.2"]\n'
         '[[accounts]]\nid = "222222222222"\nname = "x"\nemail = "x@example.com"\n[[accounts.vpcs]]\nresolver_rules = [{ account = "111111111111", name = "r" }]\n',
         "accounts[1].vpcs[0].resolver_rules[0]", "is not shared with 222222222222"),
    ],
)
def test_new_scenario_fields_are_checked(tmp_path, addition, place, problem):
    path = _write(tmp_path, MINIMAL + addition)
    with pytest.raises(UsageError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}:{place}: "), str(caught.value)
    assert problem in str(caught.value)


def test_a_customer_managed_key_whose_id_is_left_out_needs_no_kms_key(tmp_path):
    text = MINIMAL + '\n[[accounts.devops_guru]]\nencryption = { type = "CUSTOMER_MANAGED_KEY" }\nomit_fields = ["KMSServerSideEncryption.KMSKeyId"]\n'
    setup = load_scenario(_write(tmp_path, text)).accounts[0].devops_guru[0]
    assert (setup.encryption_type, setup.kms_key, setup.omit_fields) == ("CUSTOMER_MANAGED_KEY", None, ("KMSServerSideEncryption.KMSKeyId",))


def test_partition_regions_are_read_from_botocore_once():
    # Reading botocore's endpoint data costs tenths of a second: make_org must not pay it per scenario.
    from scanner.simulator import scenario as scenario_module

    scenario_module._partition_regions()
    before = scenario_module._service_regions.cache_info()
    scenario_from_dict({"organization": {"management_account": "111111111111", "regions": ["us-east-1"]},
                        "accounts": [{"id": "111111111111", "name": "m", "email": "m@example.com"}]})
    after = scenario_module._service_regions.cache_info()
    assert after.misses == before.misses and after.hits > before.hits


# Every row of issue 4's table is exercised by the default organization: (check, account, region,
# status, text the result's message or evidence must hold), checked on the scan of the test above.
DEFAULT_SCENARIO_ROWS = [
    # devopsguru_cmk_enabled: the AWS owned key
    ("devopsguru_cmk_enabled", "333333333333", "us-east-1", "FAIL", "Type is AWS_OWNED_KMS_KEY"),
    # devopsguru_cmk_key_usable: every reason a configured key is not usable
    ("devopsguru_cmk_key_usable", "131313131313", "us-east-1", "FAIL", "key alias/deleted does not exist in us-east-1"),
    ("devopsguru_cmk_key_usable", "131313131313", "eu-west-1", "FAIL", "it is an AWS managed key, not customer managed"),
    ("devopsguru_cmk_key_usable", "555555555555", "eu-west-1", "FAIL", "KeySpec is RSA_2048, not SYMMETRIC_DEFAULT"),
    ("devopsguru_cmk_key_usable", "333333333333", "eu-west-1", "FAIL", "KeyState is Disabled"),
    ("devopsguru_cmk_key_usable", "444444444444", "eu-west-1", "FAIL", "KeyState is PendingDeletion"),
    ("devopsguru_cmk_key_usable", "888888888888", "us-east-1", "FAIL", "is in eu-west-1, not in us-east-1"),
    ("devopsguru_cmk_key_usable", "888888888888", "eu-west-1", "PASS", ""),  # a multi-Region replica here counts
    ("devopsguru_cmk_key_usable", "444444444444", "us-east-1", "ERROR", "in account 222222222222"),
    # CloudTrail Lake: an account that logs only through an event data store (issue 18;
    # CloudTrail User Guide, "Logging management events": event data stores log management events)
    ("cloudtrail_multi_region_logging", "131313131313", "global", "PASS", "event data store portal-lake is multi-Region"),
    ("cloudtrail_kms_events_logged", "131313131313", "eu-west-1", "PASS", "event data store portal-lake records KMS read and write events"),
    # devopsguru_cmk_rotation_enabled
    ("devopsguru_cmk_rotation_enabled", "333333333333", "eu-west-1", "FAIL", ""),
    # devopsguru_cmk_policy_grants_service: wrong region, wrong account (neither delegating to IAM), IfExists and
    # the default key policy (both allow DevOps Guru's request: IfExists tests a present key like StringEquals;
    # the default policy delegates to IAM), explicit Deny
    ("devopsguru_cmk_policy_grants_service", "333333333333", "eu-west-1", "FAIL", "kms:ViaService is devops-guru.us-east-1.amazonaws.com, not devops-guru.eu-west-1.amazonaws.com"),
    ("devopsguru_cmk_policy_grants_service", "444444444444", "eu-west-1", "FAIL", "kms:CallerAccount is 333333333333, not 444444444444"),
    ("devopsguru_cmk_policy_grants_service", "888888888888", "eu-west-1", "PASS", "IfExists does not count"),
    ("devopsguru_cmk_policy_grants_service", "555555555555", "eu-west-1", "PASS", "delegates to IAM"),
    ("devopsguru_cmk_policy_grants_service", "121212121212", "eu-west-1", "FAIL", "kms:CreateGrant is denied by Sid 'FreezeGrantsDuringAudit'"),
    ("devopsguru_cmk_policy_grants_service", "222222222222", "eu-west-1", "PASS", ""),
    # kms_key_policy_no_public_access: "AWS": "*" without a condition, and NotPrincipal
    ("kms_key_policy_no_public_access", "333333333333", "us-east-1", "FAIL", "Sid 'PartnerDecrypt'"),
    ("kms_key_policy_no_public_access", "121212121212", "us-east-1", "FAIL", "Sid 'EveryoneButBreakGlassDecrypts'"),
    # kms_key_policy_admin_restricted: an outside account, and a service principal
    ("kms_key_policy_admin_restricted", "333333333333", "us-east-1", "FAIL", "Sid 'VendorAdministers'"),
    ("kms_key_policy_admin_restricted", "121212121212", "us-east-1", "FAIL", "kms:DisableKey to service principal events.amazonaws.com"),
    # devopsguru_privatelink_endpoint: no endpoint, private DNS off, not available
    ("devopsguru_privatelink_endpoint", "444444444444", "eu-west-1", "FAIL", "has no interface endpoint"),
    ("devopsguru_privatelink_endpoint", "333333333333", "us-east-1", "FAIL", "private DNS"),
    ("devopsguru_privatelink_endpoint", "888888888888", "eu-west-1", "FAIL", "pending"),
    # hub and spoke: web-dev's default VPCs use the security account's central endpoint through its private hosted
    # zone (us-east-1) and its shared Resolver forwarding rule (eu-west-1) (issue 18; AWS whitepaper "Building a
    # Scalable and Secure Multi-VPC AWS Network Infrastructure", Centralized access to VPC private endpoints)
    ("devopsguru_privatelink_endpoint", "555555555555", "us-east-1", "PASS", "through private hosted zone"),
    ("devopsguru_privatelink_endpoint", "555555555555", "eu-west-1", "PASS", "through Resolver forwarding rule"),
    # devopsguru_endpoint_policy_restricted: the default full access, and "*" limited only by aws:SourceVpc
    ("devopsguru_endpoint_policy_restricted", "333333333333", "us-east-1", "FAIL", "default full access"),
    ("devopsguru_endpoint_policy_restricted", "121212121212", "eu-west-1", "FAIL", "Sid 'FromTheResearchVpc'"),
    # DevOps Guru in use in one region only, through a tag boundary: the other region is not applicable
    ("devopsguru_cmk_enabled", "121212121212", "eu-west-1", "PASS", ""),
    ("devopsguru_cmk_enabled", "121212121212", "us-east-1", "NOT_APPLICABLE", "not in use"),
    # DevOps Guru's notification topics: the security account's is encrypted with a key DevOps Guru may use, limited
    # to its account and TLS-only; payments-alarms is none of these
    ("devopsguru_notification_topic_encrypted", "222222222222", "us-east-1", "PASS", "devops-guru-alerts"),
    ("devopsguru_notification_topic_encrypted", "333333333333", "us-east-1", "FAIL", "not encrypted at rest"),
    ("sns_topic_requires_tls", "222222222222", "us-east-1", "PASS", "AllowPublishThroughSSLOnly"),
    ("sns_topic_requires_tls", "333333333333", "us-east-1", "FAIL", "accepts requests without TLS"),
    # devopsguru_cmk_grant_present: DevOps Guru's grant revoked, and kept
    ("devopsguru_cmk_grant_present", "888888888888", "eu-west-1", "FAIL", "no grant on the key names DevOps Guru"),
    ("devopsguru_cmk_grant_present", "222222222222", "us-east-1", "PASS", "devops-guru.amazonaws.com"),
    # iam_user_console_mfa: a console password without and with an MFA device
    ("iam_user_console_mfa", "444444444444", "global", "FAIL", "no MFA device"),
    ("iam_user_console_mfa", "444444444444", "global", "PASS", "analytics-admin"),
    # iam_user_access_keys_rotated: an active key 200 days old, and one 10 days old and in use
    ("iam_user_access_keys_rotated", "444444444444", "global", "FAIL", "created 200 days ago"),
    ("iam_user_access_keys_rotated", "444444444444", "global", "PASS", "younger than 90 days"),
    # macie_enabled: enabled, never enabled where DevOps Guru analyses resources, suspended
    ("macie_enabled", "222222222222", "us-east-1", "PASS", "is enabled"),
    ("macie_enabled", "222222222222", "eu-west-1", "FAIL", "is not enabled"),
    ("macie_enabled", "333333333333", "us-east-1", "FAIL", "suspended (PAUSED)"),
    ("macie_enabled", "121212121212", "us-east-1", "NOT_APPLICABLE", "not in use"),
    # names_no_sensitive_data: a stack description naming a person; a clean DevOps Guru tag boundary
    ("names_no_sensitive_data", "333333333333", "us-east-1", "FAIL", "sensitive data in Description (email address)"),
    ("names_no_sensitive_data", "222222222222", "eu-west-1", "PASS", "AppBoundaryKey, TagValues: no secrets"),
]


def _assert_every_row_is_exercised(document, scenario):
    results: dict[tuple[str, str, str], list[dict]] = {}
    for result in document["results"]:
        results.setdefault((result["check_id"], result["account_id"], result["region"]), []).append(result)
    missing = []
    for check_id, account_id, region, status, text in DEFAULT_SCENARIO_ROWS:
        found = results.get((check_id, account_id, region), [])
        if not any(r["status"] == status and text in r["message"] + json.dumps(r["evidence"]) for r in found):
            missing.append(f"{check_id} {account_id} {region}: no {status} with {text!r}; got {[(r['status'], r['message']) for r in found]}")
    assert not missing, "\n".join(missing)
    # The tag-boundary-only account uses no CloudFormation stacks.
    ml_research = scenario.account("121212121212")
    assert [(s.region, s.stacks, bool(s.tags)) for s in ml_research.devops_guru] == [("eu-west-1", (), True)]
