"""Per-account isolation through real role assumption, over HTTP."""
from __future__ import annotations

import boto3
import botocore.exceptions
import pytest

SMALL_ORG = {
    "organization": {"management_account": "111111111111", "regions": ["us-east-1", "eu-west-1"], "units": ["Prod"]},
    "accounts": [
        {"id": "111111111111", "name": "management", "email": "m@example.com"},
        {"id": "222222222222", "name": "alpha", "email": "a@example.com", "ou": "Prod",
         "kms_keys": [{"aliases": ["alias/alpha"], "description": "alpha key"}]},
        {"id": "333333333333", "name": "beta", "email": "b@example.com", "ou": "Prod",
         "kms_keys": [{"aliases": ["alias/beta"], "region": "eu-west-1"}]},
    ],
}


def test_each_account_sees_only_its_own_resources(make_org):
    sim = make_org(SMALL_ORG)
    alpha = sim.client("kms", "us-east-1", account_id="222222222222")
    beta = sim.client("kms", "us-east-1", account_id="333333333333")
    alpha_aliases = {a["AliasName"] for a in alpha.list_aliases()["Aliases"] if not a["AliasName"].startswith("alias/aws/")}
    beta_aliases = {a["AliasName"] for a in beta.list_aliases()["Aliases"] if not a["AliasName"].startswith("alias/aws/")}
    assert alpha_aliases == {"alias/alpha"}
    assert beta_aliases == set()  # beta's key is in eu-west-1
    beta_eu = sim.client("kms", "eu-west-1", account_id="333333333333")
    assert {a["AliasName"] for a in beta_eu.list_aliases()["Aliases"] if "aws/" not in a["AliasName"]} == {"alias/beta"}


def test_assumed_role_identity_is_the_member_account(make_org):
    sim = make_org(SMALL_ORG)
    identity = sim.client("sts", account_id="222222222222").get_caller_identity()
    assert identity["Account"] == "222222222222"
    assert identity["Arn"].startswith("arn:aws:sts::222222222222:assumed-role/OrganizationAccountAccessRole/")
    management = sim.client("sts").get_caller_identity()
    assert management["Account"] == "111111111111"


def test_environment_reaches_the_management_account_through_standard_settings(simulated_org):
    # Only AWS_ENDPOINT_URL and the credentials in the environment: what the scanner relies on.
    organizations = boto3.client("organizations")
    accounts = {a["Id"]: a for a in organizations.list_accounts()["Accounts"]}
    assert set(accounts) == set(simulated_org.account_ids)
    assert simulated_org.endpoint_url.startswith("http://127.0.0.1:")
    assert boto3.client("sts").get_caller_identity()["Account"] == simulated_org.management_account_id


def test_organization_structure_matches_the_scenario(make_org):
    sim = make_org(SMALL_ORG)
    organizations = sim.client("organizations")
    organization = organizations.describe_organization()["Organization"]
    assert organization["Id"] == "o-exampleorg01"
    assert organization["MasterAccountId"] == "111111111111"
    root = organizations.list_roots()["Roots"][0]["Id"]
    units = organizations.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
    assert [u["Name"] for u in units] == ["Prod"]
    members = organizations.list_accounts_for_parent(ParentId=units[0]["Id"])["Accounts"]
    assert sorted(a["Id"] for a in members) == ["222222222222", "333333333333"]


def test_role_that_was_removed_cannot_be_assumed(make_org):
    scenario = dict(SMALL_ORG)
    scenario["accounts"] = SMALL_ORG["accounts"] + [
        {"id": "444444444444", "name": "locked", "email": "l@example.com", "role_assumable": False},
        {"id": "555555555555", "name": "gone", "email": "g@example.com", "status": "SUSPENDED"},
    ]
    sim = make_org(scenario)
    for account_id in ("444444444444", "555555555555"):
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            sim.assume_role(account_id)
        assert caught.value.response["Error"]["Code"] == "AccessDenied"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    statuses = {a["Id"]: a["Status"] for a in sim.client("organizations").list_accounts()["Accounts"]}
    assert statuses["555555555555"] == "SUSPENDED"


def test_a_member_cannot_assume_a_role_whose_trust_policy_names_another_account(make_org):
    sim = make_org(SMALL_ORG)
    # The member roles trust the management account only.
    member_sts = sim.client("sts", account_id="222222222222")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        member_sts.assume_role(RoleArn="arn:aws:iam::333333333333:role/OrganizationAccountAccessRole", RoleSessionName="cross-member")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"


def test_external_id_is_required_when_the_scenario_sets_one(make_org):
    scenario = {**SMALL_ORG, "organization": {**SMALL_ORG["organization"], "external_id": "orgscan-7f3a"}}
    sim = make_org(scenario)
    sts = sim.client("sts")
    role = "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sts.assume_role(RoleArn=role, RoleSessionName="no-external-id")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(botocore.exceptions.ClientError):
        sts.assume_role(RoleArn=role, RoleSessionName="wrong", ExternalId="guess")
    assert sts.assume_role(RoleArn=role, RoleSessionName="right", ExternalId="orgscan-7f3a")["Credentials"]["AccessKeyId"]
    # The simulation's own helpers pass it.
    assert sim.client("sts", account_id="222222222222").get_caller_identity()["Account"] == "222222222222"
