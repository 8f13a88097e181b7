"""The tag, name and URL checks against the simulated organization (boto3 over HTTP, real role assumption)."""
from __future__ import annotations

import json

import pytest

from checks.sensitive_data.names_no_sensitive_data import names_no_sensitive_data
from checks.sensitive_data.tags_no_sensitive_data import tags_no_sensitive_data
from checks.sensitive_data.urls_no_embedded_credentials import credentials_in_url, redact_url, urls_no_embedded_credentials
from checks.sensitive_data.detector import SensitiveDataDetector
from scanner.errors import UsageError
from scanner.model import GLOBAL_REGION, Status
from scanner.simulator import Faults
from scanner.testing import check_context

CLEAN, DIRTY = "310000000001", "310000000002"
REGIONS = ["us-east-1", "eu-west-1"]

# Planted values: each must be reported (by kind and masked preview) and never appear in a finding.
EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
PHONE = "+44 20 7946 0958"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DB_PASSWORD = "Winter2024!x"
API_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
USER_EMAIL = "john.smith@example.com"
URL_PASSWORD = "Sup3rS3cret!"
URL_API_KEY = "7f3c2a9e4b1d8f6a0c5e"
DESCRIPTION_PHONE = "+1 206 555 0142"
ROLE_OWNER_EMAIL = "ops.lead@example.org"
TOPIC_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
PLANTED = [EMAIL, CARD, PHONE, SECRET_KEY, DB_PASSWORD, API_TOKEN, USER_EMAIL, URL_PASSWORD, URL_API_KEY, DESCRIPTION_PHONE,
           ROLE_OWNER_EMAIL, TOPIC_KEY_ID]

SCENARIO = {
    "name": "sensitive-data-cases",
    "organization": {"management_account": CLEAN, "regions": REGIONS},
    "accounts": [
        {
            "id": CLEAN, "name": "clean", "email": "clean@example.com", "default_vpc": False,
            "s3_buckets": [{"name": "clean-bucket-310000000001", "region": "us-east-1", "tags": {"Team": "platform", "Environment": "prod"}}],
            "kms_keys": [{"region": "us-east-1", "description": "Application data", "tags": {"CostCenter": "CC-4471"}}],
            "trails": [{"name": "clean-trail", "tags": {"Owner": "cloud-platform"}}],
            "iam_roles": [{"name": "deployer", "description": "Deploys the web tier", "tags": {"Team": "platform"}}],
            "iam_users": [{"name": "ci-bot", "tags": {"Purpose": "ci"}}],
            "sns_topics": [{"name": "alerts", "region": "us-east-1", "subscriptions": [
                {"protocol": "https", "endpoint": "https://hooks.example.com/alerts?channel=ops"}]}],
            "api_destinations": [{"name": "metrics", "region": "us-east-1", "url": "https://metrics.example.com/v1/events"}],
        },
        {
            "id": DIRTY, "name": "dirty", "email": "dirty@example.com", "default_vpc": False,
            "s3_buckets": [{"name": "statements-310000000002", "region": "us-east-1", "tags": {"Owner": EMAIL, "Environment": "prod"}}],
            "vpcs": [{"region": "us-east-1", "cidr": "10.9.0.0/16", "subnets": ["10.9.1.0/24"], "tags": {"Name": "payments", "BackupCard": CARD},
                      "endpoints": [{"service": "devops-guru", "tags": {"db_password": DB_PASSWORD}}]}],
            "kms_keys": [{"region": "us-east-1", "description": f"Escalations: call {DESCRIPTION_PHONE}", "tags": {"ci_token": API_TOKEN}}],
            "trails": [{"name": "dirty-trail", "tags": {"OnCall": PHONE}}],
            "iam_roles": [{"name": "etl-runner", "description": f"Runs the nightly ETL; owner {ROLE_OWNER_EMAIL}",
                            "tags": {"DeployKey": SECRET_KEY}}],
            "iam_users": [{"name": USER_EMAIL, "tags": {"Team": "analytics"}}],
            "sns_topics": [{"name": "payments-alarms", "region": "us-east-1", "subscriptions": [
                {"protocol": "https", "endpoint": f"https://alerts:{URL_PASSWORD}@hooks.example.com/payments"},
                {"protocol": "email", "endpoint": "oncall@example.com"}]},
                           {"name": f"deploy_{TOPIC_KEY_ID}", "region": "us-east-1"}],
            "api_destinations": [{"name": "warehouse", "region": "eu-west-1", "url": f"https://warehouse.example.com/ingest?api_key={URL_API_KEY}"}],
        },
    ],
}


@pytest.fixture
def org(make_org):
    return make_org(SCENARIO)


def run(sim, account, region, check, **kwargs):
    return list(check(check_context(sim, account, region, check, **kwargs)))


def assert_nothing_planted_in(findings):
    text = json.dumps([{**f.__dict__, "status": f.status.value, "severity": None} for f in findings], default=str)
    for value in PLANTED:
        assert value not in text, f"planted value leaked: {value[:3]}..."


def by_status(findings, status):
    return [f for f in findings if f.status == status]


# -- tags_no_sensitive_data ------------------------------------------------------------------------------


def test_tags_clean_account_passes_once_for_the_region_and_once_for_iam(org):
    us = run(org, CLEAN, "us-east-1", tags_no_sensitive_data)
    assert [(f.status, f.region) for f in us] == [(Status.PASS, "us-east-1"), (Status.PASS, GLOBAL_REGION)]
    assert us[0].evidence["resources_examined"] >= 3  # bucket, key, trail
    assert us[1].evidence["resources_examined"] >= 2  # role and user (and the organization's access role)
    # IAM is global: judged in one region target only (IAM's home region when the context names no scan regions)
    eu = run(org, CLEAN, "eu-west-1", tags_no_sensitive_data)
    assert all(f.region == "eu-west-1" for f in eu)


def test_tags_fail_per_resource_from_every_source(org):
    findings = run(org, DIRTY, "us-east-1", tags_no_sensitive_data)
    assert_nothing_planted_in(findings)
    assert not by_status(findings, Status.PASS) and not by_status(findings, Status.ERROR)
    kinds = {}
    for finding in by_status(findings, Status.FAIL):
        for entry in finding.evidence["tags"]:
            kinds[(finding.evidence["source"], entry["tag_key"])] = entry["kind"]
    assert kinds[("tag:GetResources", "Owner")] == "email_address"                 # S3 bucket
    assert kinds[("tag:GetResources", "BackupCard")] == "payment_card_number"       # VPC
    # VPC endpoint: the tagging API returns it in AWS (moto may not); EC2 DescribeTags covers it otherwise
    endpoint_source = next(source for (source, key) in kinds if key == "db_password")
    assert endpoint_source in ("tag:GetResources", "ec2:DescribeTags")
    assert kinds[(endpoint_source, "db_password")] == "credential_named_field"
    trail_source = next(source for (source, key) in kinds if key == "OnCall")
    assert trail_source in ("tag:GetResources", "cloudtrail:ListTags")
    assert kinds[(trail_source, "OnCall")] == "phone_number"
    assert kinds[("iam:ListRoleTags", "DeployKey")] == "aws_secret_access_key"
    token_source = next(source for (source, key) in kinds if key == "ci_token")
    assert token_source in ("tag:GetResources", "kms:ListResourceTags")  # KMS keys: whichever lists them first
    assert kinds[(token_source, "ci_token")] == "github_token"
    endpoint = next(f for f in findings if any(e["tag_key"] == "db_password" for e in f.evidence["tags"]))
    assert ":vpc-endpoint/vpce-" in endpoint.resource_arn and endpoint.resource_type == "AWS::EC2::VPCEndpoint"
    role = next(f for f in findings if f.evidence["source"] == "iam:ListRoleTags")
    assert role.region == GLOBAL_REGION and role.resource_arn.endswith(":role/etl-runner")
    preview = role.evidence["tags"][0]["preview"]
    assert preview.startswith("wJ") and "****" in preview and len(preview.replace("****", "")) <= 6
    # each resource is judged once even where two APIs list it
    assert len({f.resource_id for f in findings}) == len(findings)


def test_tags_allowlist_from_the_config_table(org):
    # the config file spells options in kebab-case; both spellings are accepted
    options = {"allow-tag-keys": ["owner", "BackupCard", "db_*", "ci_token", "DeployKey"], "ignore_kinds": ["phone_number"]}
    findings = run(org, DIRTY, "us-east-1", tags_no_sensitive_data, options=options)
    assert [f.status for f in findings] == [Status.PASS, Status.PASS]


def test_tags_bad_option_is_one_clear_error(org):
    with pytest.raises(UsageError, match=r"^\[checks.tags_no_sensitive_data\] allow_keys: unknown option; did you mean 'allow_tag_keys'\?"):
        run(org, DIRTY, "us-east-1", tags_no_sensitive_data, options={"allow_keys": ["x"]})


def test_tags_access_denied_on_one_source_is_an_error_for_it_and_the_others_go_on(make_org):
    sim = make_org(SCENARIO, Faults(deny_actions={DIRTY: ["tag:GetResources", "iam:ListRoleTags"]}))
    findings = run(sim, DIRTY, "us-east-1", tags_no_sensitive_data)
    errors = {f.resource_id: f for f in by_status(findings, Status.ERROR)}
    assert set(errors) == {"tag:GetResources", "iam:ListRoleTags"}
    assert "access denied to tag:GetResources" in errors["tag:GetResources"].message
    assert errors["iam:ListRoleTags"].region == GLOBAL_REGION
    sources = {f.evidence["source"] for f in by_status(findings, Status.FAIL)}
    assert {"ec2:DescribeTags", "cloudtrail:ListTags", "kms:ListResourceTags"} <= sources
    # without the tagging API, EC2 resources (VPC and its endpoint) come from DescribeTags, grouped per resource
    ec2 = {f.resource_type: f for f in by_status(findings, Status.FAIL) if f.evidence["source"] == "ec2:DescribeTags"}
    assert set(ec2) == {"AWS::EC2::VPC", "AWS::EC2::VPCEndpoint"}
    assert [e["tag_key"] for e in ec2["AWS::EC2::VPCEndpoint"].evidence["tags"]] == ["db_password"]
    assert not by_status(findings, Status.PASS)


# -- names_no_sensitive_data -----------------------------------------------------------------------------


def test_names_pass_per_resource(org):
    findings = run(org, CLEAN, "us-east-1", names_no_sensitive_data)
    assert findings and all(f.status == Status.PASS for f in findings)
    types = {f.resource_type for f in findings}
    assert {"AWS::KMS::Key", "AWS::CloudTrail::Trail", "AWS::SNS::Topic", "AWS::IAM::Role", "AWS::IAM::User"} <= types


def test_names_fail_for_user_named_after_an_email_and_a_key_description(org):
    findings = run(org, DIRTY, "us-east-1", names_no_sensitive_data)
    assert_nothing_planted_in(findings)
    failed = {f.resource_type: f for f in by_status(findings, Status.FAIL)}
    assert set(failed) == {"AWS::IAM::User", "AWS::IAM::Role", "AWS::KMS::Key", "AWS::SNS::Topic"}
    user = failed["AWS::IAM::User"]
    assert user.evidence["findings"][0]["field"] == "UserName" and user.evidence["findings"][0]["kind"] == "email_address"
    assert user.resource_arn.startswith(f"arn:aws:iam::{DIRTY}:user/") and "****" in user.resource_arn
    assert failed["AWS::KMS::Key"].evidence["findings"][0]["kind"] == "phone_number"
    assert [(e["field"], e["kind"]) for e in failed["AWS::IAM::Role"].evidence["findings"]] == [("Description", "email_address")]
    topic = failed["AWS::SNS::Topic"]
    assert topic.evidence["findings"][0]["kind"] == "aws_access_key_id" and TOPIC_KEY_ID not in topic.resource_arn


def test_names_access_denied(make_org):
    sim = make_org(SCENARIO, Faults(deny_actions={DIRTY: ["iam:ListUsers"]}))
    findings = run(sim, DIRTY, "us-east-1", names_no_sensitive_data)
    errors = by_status(findings, Status.ERROR)
    assert [(f.resource_id, f.region) for f in errors] == [("iam:ListUsers", GLOBAL_REGION)]
    assert "access denied to iam:ListUsers" in errors[0].message


# -- urls_no_embedded_credentials ------------------------------------------------------------------------


def test_urls_pass(org):
    findings = run(org, CLEAN, "us-east-1", urls_no_embedded_credentials)
    assert [(f.status, f.resource_type) for f in findings] == [
        (Status.PASS, "AWS::SNS::Subscription"), (Status.PASS, "AWS::Events::ApiDestination")]


def test_urls_fail_for_userinfo_and_credential_query_parameter(org):
    sns = run(org, DIRTY, "us-east-1", urls_no_embedded_credentials)
    api = run(org, DIRTY, "eu-west-1", urls_no_embedded_credentials)
    assert_nothing_planted_in(sns + api)
    assert [(f.status, f.evidence["credentials"][0]["location"]) for f in sns] == [(Status.FAIL, "userinfo")]
    assert sns[0].evidence["url"].startswith("https://a****!@hooks.example.com/") or "****" in sns[0].evidence["url"]
    assert [(f.status, f.evidence["credentials"][0]["location"]) for f in api] == [(Status.FAIL, "query:api_key")]
    assert api[0].resource_arn.startswith(f"arn:aws:events:eu-west-1:{DIRTY}:api-destination/warehouse")


def test_urls_access_denied(make_org):
    sim = make_org(SCENARIO, Faults(deny_actions={DIRTY: ["events:ListApiDestinations"]}))
    findings = run(sim, DIRTY, "eu-west-1", urls_no_embedded_credentials)
    assert [(f.status, f.resource_id) for f in findings] == [(Status.ERROR, "events:ListApiDestinations")]


@pytest.mark.parametrize(
    "url,places",
    [
        ("https://user:pa55word@example.com/x", ["userinfo"]),
        ("https://user@example.com/x", []),
        ("https://example.com/x?token=abc123def&sort=asc", ["query:token"]),
        ("https://example.com/x?sig=Zm9vYmFy&Signature=abc", ["query:sig", "query:Signature"]),
        ("https://example.com/x?apikey=${API_KEY}", []),
        ("https://example.com/x?page=2&q=token", []),
        ("https://hooks.slack.com/services/T0000000/B0000000/XXXXXXXXXXXXXXXXXXXXXXXX", ["path"]),
    ],
)
def test_url_credential_places(url, places):
    found = credentials_in_url(url, SensitiveDataDetector(), frozenset())
    assert [f["location"] for f in found] == places
    for entry in found:
        assert entry["preview"].count("****") == 1
    redacted = redact_url(url)
    if "userinfo" in places:
        assert "pa55word" not in redacted


@pytest.mark.parametrize(
    "arn,expected",
    [
        ("arn:aws:ec2:us-east-1:123456789012:vpc-endpoint/vpce-0abc", "AWS::EC2::VPCEndpoint"),
        ("arn:aws:s3:::my-bucket", "AWS::S3::Bucket"),
        ("arn:aws:sns:us-east-1:123456789012:alerts", "AWS::SNS::Topic"),
        ("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "AWS::KMS::Key"),
        ("arn:aws:cloudtrail:us-east-1:123456789012:trail/t", "AWS::CloudTrail::Trail"),
        ("arn:aws:lambda:us-east-1:123456789012:function:f", None),
        ("not-an-arn", None),
    ],
)
def test_resource_type_from_arn(arn, expected):
    from checks.sensitive_data.tags_no_sensitive_data import resource_type_of

    assert resource_type_of(arn) == expected


def test_tags_a_key_that_denies_reading_its_tags_is_an_error_for_that_key(make_org):
    sim = make_org(SCENARIO, Faults(deny_actions={DIRTY: ["tag:GetResources", "kms:ListResourceTags"]}))
    findings = run(sim, DIRTY, "us-east-1", tags_no_sensitive_data)
    errors = by_status(findings, Status.ERROR)
    key_errors = [f for f in errors if f.resource_type == "AWS::KMS::Key"]
    assert len(key_errors) == 1 and key_errors[0].resource_arn.startswith(f"arn:aws:kms:us-east-1:{DIRTY}:key/")
    assert "access denied to kms:ListResourceTags" in key_errors[0].message
    assert {f.evidence["source"] for f in by_status(findings, Status.FAIL)} >= {"ec2:DescribeTags", "cloudtrail:ListTags"}


def test_urls_a_subscription_whose_attributes_are_denied_is_an_error_for_it(make_org):
    sim = make_org(SCENARIO, Faults(deny_actions={DIRTY: ["sns:GetSubscriptionAttributes"]}))
    findings = run(sim, DIRTY, "us-east-1", urls_no_embedded_credentials)
    assert [(f.status, f.resource_type) for f in findings] == [(Status.ERROR, "AWS::SNS::Subscription")]
    assert "access denied to sns:GetSubscriptionAttributes" in findings[0].message


def test_exactly_one_region_target_judges_iam():
    from types import SimpleNamespace

    from checks.sensitive_data.inventory import judges_iam

    def target(region, partition="aws", options=None, scan_regions=None):
        context = SimpleNamespace(region=region, partition=partition, options=options or {})
        if scan_regions is not None:
            context.scan_regions = scan_regions
        return context

    regions = ["eu-west-1", "us-east-1", "ap-south-1"]
    assert [judges_iam(target(r)) for r in regions] == [False, True, False]  # IAM's home region
    assert [judges_iam(target(r, options={"iam-region": "ap-south-1"})) for r in regions] == [False, False, True]
    assert [judges_iam(target(r, scan_regions=("eu-west-1", "us-east-1"))) for r in regions] == [True, False, False]
    assert judges_iam(target("us-gov-west-1", partition="aws-us-gov"))
