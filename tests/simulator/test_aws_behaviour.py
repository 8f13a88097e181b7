"""Where moto differs from AWS in ways the checks depend on, the simulator answers as AWS does."""
from __future__ import annotations

import json

import botocore.exceptions
import pytest

ORG = {
    "organization": {"management_account": "111111111111", "regions": ["us-east-1", "ap-southeast-3"]},
    "accounts": [
        {"id": "111111111111", "name": "management", "email": "m@example.com",
         "trails": [{"name": "org-trail", "organization": True, "multi_region": True, "log_file_validation": True,
                     "event_selectors": [{"ReadWriteType": "All", "ExcludeManagementEventSources": ["kms.amazonaws.com"]}]}]},
        {"id": "222222222222", "name": "alpha", "email": "a@example.com", "root_mfa": False,
         "kms_keys": [{"aliases": ["alias/aws/ebs"], "manager": "AWS"}, {"aliases": ["alias/mine"], "tags": {"team": "a"}}],
         "vpcs": [{"tags": {"Name": "alpha"}, "endpoints": [{"service": "devops-guru", "tags": {"Owner": "a@example.com"}}]}],
         "trails": [{"name": "alpha-trail", "multi_region": False, "tags": {"team": "a"}}],
         "iam_roles": [{"name": "tagged-role", "tags": {"team": "a"}}],
         "s3_buckets": [{"name": "alpha-bucket-in-jakarta", "region": "ap-southeast-3", "tags": {"team": "a"}}]},
        {"id": "333333333333", "name": "beta", "email": "b@example.com"},
    ],
}


@pytest.fixture
def sim(make_org):
    return make_org(ORG)


def test_member_accounts_see_the_organization_trail_read_only(sim):
    for region in ("us-east-1", "ap-southeast-3"):
        cloudtrail = sim.client("cloudtrail", region, account_id="333333333333")
        trails = {t["Name"]: t for t in cloudtrail.describe_trails()["trailList"]}
        assert set(trails) == {"org-trail"}
        org_trail = trails["org-trail"]
        assert org_trail["IsOrganizationTrail"] is True
        assert org_trail["HomeRegion"] == "us-east-1"
        assert org_trail["TrailARN"] == "arn:aws:cloudtrail:us-east-1:111111111111:trail/org-trail"
        assert cloudtrail.get_trail_status(Name=org_trail["TrailARN"])["IsLogging"] is True
        selectors = cloudtrail.get_event_selectors(TrailName=org_trail["TrailARN"])["EventSelectors"]
        assert selectors[0]["ExcludeManagementEventSources"] == ["kms.amazonaws.com"]
        assert cloudtrail.get_trail(Name=org_trail["TrailARN"])["Trail"]["Name"] == "org-trail"
    # A member's own trails and the organization trail, side by side.
    alpha = sim.client("cloudtrail", "us-east-1", account_id="222222222222")
    assert {t["Name"] for t in alpha.describe_trails()["trailList"]} == {"alpha-trail", "org-trail"}
    # Other accounts' ordinary trails stay invisible.
    beta = sim.client("cloudtrail", "us-east-1", account_id="333333333333")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        beta.get_trail_status(Name="arn:aws:cloudtrail:us-east-1:222222222222:trail/alpha-trail")
    assert caught.value.response["Error"]["Code"] == "TrailNotFoundException"


def test_root_mfa_is_set_per_account(sim):
    assert sim.client("iam", account_id="222222222222").get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 0
    assert sim.client("iam", account_id="333333333333").get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 1


ROOT_KEYS = ("AccountMFAEnabled", "AccountPasswordPresent", "AccountAccessKeysPresent", "AccountSigningCertificatesPresent")


def test_root_credentials_are_reported_per_account_as_aws_reports_them(make_org):
    # GetAccountSummary reports each root credential as 1 or 0 (botocore IAM model, summaryKeyType); deleting root
    # user credentials (centrally managed root access) removes password, access keys and signing certificates and
    # deactivates MFA (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html).
    sim = make_org({"organization": {"management_account": "111111111111", "regions": ["us-east-1"]},
                    "accounts": [{"id": "111111111111", "name": "m", "email": "m@example.com", "default_vpc": False},
                                 {"id": "222222222222", "name": "removed", "email": "r@example.com", "default_vpc": False,
                                  "root_mfa": False, "root_password": False},
                                 {"id": "333333333333", "name": "keys", "email": "k@example.com", "default_vpc": False,
                                  "root_mfa": False, "root_access_keys": True, "root_signing_certificates": True}]})
    summaries = {account: sim.client("iam", account_id=account).get_account_summary()["SummaryMap"]
                 for account in ("111111111111", "222222222222", "333333333333")}
    assert {account: tuple(summary[key] for key in ROOT_KEYS) for account, summary in summaries.items()} == {
        "111111111111": (1, 1, 0, 0),  # the defaults: a root user with a password and MFA
        "222222222222": (0, 0, 0, 0),
        "333333333333": (0, 1, 1, 1),
    }


def test_aws_managed_keys_describe_as_aws_managed(sim):
    kms = sim.client("kms", "us-east-1", account_id="222222222222")
    aliases = {a["AliasName"]: a for a in kms.list_aliases()["Aliases"]}
    declared = kms.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]
    assert declared["KeyManager"] == "AWS"
    assert aliases["alias/aws/ebs"]["TargetKeyId"] == declared["KeyId"]
    # An AWS managed alias no service has used yet has no key behind it, as in AWS.
    assert "TargetKeyId" not in aliases["alias/aws/s3"]
    created = kms.describe_key(KeyId="alias/aws/rds")["KeyMetadata"]
    assert created["KeyManager"] == "AWS"
    policy = json.loads(kms.get_key_policy(KeyId=created["KeyId"], PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Condition"]["StringEquals"]["kms:ViaService"] == "rds.us-east-1.amazonaws.com"
    assert kms.describe_key(KeyId="alias/mine")["KeyMetadata"]["KeyManager"] == "CUSTOMER"


def test_describe_regions_lists_the_partitions_enabled_regions(sim):
    ec2 = sim.client("ec2", "us-east-1", account_id="222222222222")
    enabled = {r["RegionName"]: r["OptInStatus"] for r in ec2.describe_regions()["Regions"]}
    assert enabled["us-east-1"] == "opt-in-not-required"
    assert enabled["ap-southeast-3"] == "opted-in"  # an opt-in region the scenario uses
    assert "af-south-1" not in enabled
    assert not any(name.startswith(("us-gov-", "cn-")) for name in enabled)
    everything = {r["RegionName"]: r["OptInStatus"] for r in ec2.describe_regions(AllRegions=True)["Regions"]}
    assert everything["af-south-1"] == "not-opted-in"
    filtered = ec2.describe_regions(AllRegions=True, Filters=[{"Name": "opt-in-status", "Values": ["opted-in"]}])["Regions"]
    assert [r["RegionName"] for r in filtered] == ["ap-southeast-3"]


def test_tagging_api_returns_endpoints_and_trails_but_not_iam(sim):
    tagging = sim.client("resourcegroupstaggingapi", "us-east-1", account_id="222222222222")
    arns = [r["ResourceARN"] for r in tagging.get_resources()["ResourceTagMappingList"]]
    assert any(":vpc-endpoint/vpce-" in arn for arn in arns)
    assert "arn:aws:cloudtrail:us-east-1:222222222222:trail/alpha-trail" in arns
    assert any(arn.startswith("arn:aws:kms:us-east-1:222222222222:key/") for arn in arns)
    assert not any(":iam::" in arn for arn in arns)
    # A bucket is listed in its own region only.
    assert "arn:aws:s3:::alpha-bucket-in-jakarta" not in arns
    jakarta = sim.client("resourcegroupstaggingapi", "ap-southeast-3", account_id="222222222222")
    assert "arn:aws:s3:::alpha-bucket-in-jakarta" in [r["ResourceARN"] for r in jakarta.get_resources()["ResourceTagMappingList"]]
    only_endpoints = tagging.get_resources(ResourceTypeFilters=["ec2:vpc-endpoint"])["ResourceTagMappingList"]
    assert [r["Tags"] for r in only_endpoints] == [[{"Key": "Owner", "Value": "a@example.com"}]]


def test_cross_account_and_cross_region_key_arns(make_org):
    scenario = {
        "organization": {"management_account": "111111111111", "regions": ["us-east-1", "eu-west-1"]},
        "accounts": [
            {"id": "111111111111", "name": "management", "email": "m@example.com"},
            {"id": "222222222222", "name": "owner", "email": "o@example.com",
             "kms_keys": [{"id": "2a2a2a2a-2222-4222-8222-0000000000aa", "policy": {"Version": "2012-10-17", "Statement": [
                 {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "kms:*", "Resource": "*"},
                 {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::333333333333:root"}, "Action": "kms:DescribeKey", "Resource": "*"}]}}]},
            {"id": "333333333333", "name": "friend", "email": "f@example.com"},
            {"id": "444444444444", "name": "stranger", "email": "s@example.com"},
        ],
    }
    sim = make_org(scenario)
    arn = "arn:aws:kms:us-east-1:222222222222:key/2a2a2a2a-2222-4222-8222-0000000000aa"
    friend = sim.client("kms", "us-east-1", account_id="333333333333")
    assert friend.describe_key(KeyId=arn)["KeyMetadata"]["Arn"] == arn
    stranger = sim.client("kms", "us-east-1", account_id="444444444444")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        stranger.describe_key(KeyId=arn)
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        friend.get_key_policy(KeyId=arn, PolicyName="default")
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    owner_in_europe = sim.client("kms", "eu-west-1", account_id="222222222222")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        owner_in_europe.describe_key(KeyId=arn)
    assert caught.value.response["Error"]["Code"] == "NotFoundException"


def test_devops_guru_accepts_a_delegated_administrator(sim):
    organizations = sim.client("organizations")
    organizations.enable_aws_service_access(ServicePrincipal="devops-guru.amazonaws.com")
    organizations.register_delegated_administrator(AccountId="222222222222", ServicePrincipal="devops-guru.amazonaws.com")
    admins = organizations.list_delegated_administrators(ServicePrincipal="devops-guru.amazonaws.com")["DelegatedAdministrators"]
    assert [a["Id"] for a in admins] == ["222222222222"]


def test_member_accounts_cannot_read_the_organization_unless_delegated(sim):
    member = sim.client("organizations", account_id="333333333333")
    assert member.describe_organization()["Organization"]["MasterAccountId"] == "111111111111"
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        member.list_accounts()
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    management = sim.client("organizations")
    management.enable_aws_service_access(ServicePrincipal="devops-guru.amazonaws.com")
    management.register_delegated_administrator(AccountId="333333333333", ServicePrincipal="devops-guru.amazonaws.com")
    assert len(member.list_accounts()["Accounts"]) == 3
    with pytest.raises(botocore.exceptions.ClientError):
        member.create_organizational_unit(ParentId=member.list_roots()["Roots"][0]["Id"], Name="nope")


def test_environment_for_a_member_account(sim):
    import boto3

    environment = sim.environment("222222222222")
    session = boto3.session.Session(aws_access_key_id=environment["AWS_ACCESS_KEY_ID"], aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
                                    aws_session_token=environment["AWS_SESSION_TOKEN"], region_name=environment["AWS_DEFAULT_REGION"])
    assert session.client("sts", endpoint_url=environment["AWS_ENDPOINT_URL"]).get_caller_identity()["Account"] == "222222222222"


def test_resets_reproduce_the_same_resource_ids(sim):
    def ids():
        ec2 = sim.client("ec2", "us-east-1", account_id="222222222222")
        return (sorted(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]),
                sorted(e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]),
                sorted(s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]))

    before = ids()
    sim.reset(sim.scenario)
    assert ids() == before


def test_devops_guru_privatelink_service_is_offered(sim):
    ec2 = sim.client("ec2", "us-east-1", account_id="222222222222")
    names = ec2.describe_vpc_endpoint_services(ServiceNames=["com.amazonaws.us-east-1.devops-guru"])["ServiceNames"]
    assert names == ["com.amazonaws.us-east-1.devops-guru"]


def test_credentials_the_simulation_never_issued_are_rejected(sim):
    made_up = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "testing", "aws_session_token": "testing"}
    for service, call, code in (
        ("kms", lambda c: c.list_keys(), "UnrecognizedClientException"),
        ("sts", lambda c: c.get_caller_identity(), "InvalidClientTokenId"),
        ("ec2", lambda c: c.describe_vpcs(), "AuthFailure"),
    ):
        client = sim.client_with(service, "us-east-1", made_up, retries={"total_max_attempts": 1})
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            call(client)
        assert caught.value.response["Error"]["Code"] == code


# -- key policies, key origins and states, fields left out ------------------------------------------

ROOT_STATEMENT = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "kms:*", "Resource": "*"}


def _policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


KEY_POLICY_CASES = {
    # name: (key policy, whether the scanner's DescribeKey is denied)
    "single-statement-object": ({"Version": "2012-10-17", "Statement": ROOT_STATEMENT}, False),
    "deny-through-another-service": (_policy(ROOT_STATEMENT, {"Sid": "OnlyViaS3", "Effect": "Deny", "Principal": "*", "Action": "kms:*",
                                                             "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}), False),
    "deny-grants-for-aws-resources": (_policy(ROOT_STATEMENT, {"Sid": "NoServiceGrants", "Effect": "Deny", "Principal": {"AWS": "*"},
                                                              "Action": "kms:*", "Resource": "*", "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}), False),
    "deny-create-grant-only": (_policy(ROOT_STATEMENT, {"Sid": "NoGrants", "Effect": "Deny", "Principal": "*", "Action": "kms:CreateGrant", "Resource": "*"}), False),
    "deny-other-accounts": (_policy(ROOT_STATEMENT, {"Sid": "OwnAccountOnly", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
                                                    "Condition": {"StringNotEquals": {"kms:CallerAccount": "222222222222"}}}), False),
    "deny-this-account": (_policy(ROOT_STATEMENT, {"Sid": "OwnAccountDenied", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
                                                  "Condition": {"StringEquals": {"kms:CallerAccount": "222222222222"}}}), True),
    "deny-everyone": (_policy(ROOT_STATEMENT, {"Sid": "Frozen", "Effect": "Deny", "Principal": "*", "Action": "kms:Describe*", "Resource": "*"}), True),
    "deny-another-principal": (_policy(ROOT_STATEMENT, {"Sid": "NotYou", "Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::999988887777:root"},
                                                       "Action": "kms:*", "Resource": "*"}), False),
}


def test_key_policy_denies_are_judged_with_their_principal_and_conditions(make_org):
    keys = [{"id": f"2a2a2a2a-2222-4222-8222-{index:012d}", "policy": policy} for index, (policy, _) in enumerate(KEY_POLICY_CASES.values())]
    sim = make_org({"organization": {"management_account": "111111111111", "regions": ["us-east-1"]},
                    "accounts": [{"id": "111111111111", "name": "m", "email": "m@example.com", "default_vpc": False},
                                 {"id": "222222222222", "name": "a", "email": "a@example.com", "default_vpc": False, "kms_keys": keys}]})
    kms = sim.client("kms", "us-east-1", account_id="222222222222")
    outcomes = {}
    for name, key in zip(KEY_POLICY_CASES, keys):
        try:
            assert kms.describe_key(KeyId=key["id"])["KeyMetadata"]["KeyId"] == key["id"]
            outcomes[name] = False
        except botocore.exceptions.ClientError as error:
            assert error.response["Error"]["Code"] == "AccessDeniedException"
            assert "kms:DescribeKey" in error.response["Error"]["Message"]
            assert "explicit deny in a resource-based policy" in error.response["Error"]["Message"]
            outcomes[name] = True
    assert outcomes == {name: denied for name, (_, denied) in KEY_POLICY_CASES.items()}


def test_key_origins_and_states_describe_as_aws_does(make_org):
    keys = [
        {"id": "2a2a2a2a-2222-4222-8222-000000000001", "origin": "EXTERNAL", "state": "PendingImport"},
        {"id": "2a2a2a2a-2222-4222-8222-000000000002", "origin": "EXTERNAL"},
        {"id": "2a2a2a2a-2222-4222-8222-000000000003", "origin": "AWS_CLOUDHSM", "state": "Unavailable"},
        {"id": "2a2a2a2a-2222-4222-8222-000000000004", "origin": "EXTERNAL_KEY_STORE"},
    ]
    sim = make_org({"organization": {"management_account": "111111111111", "regions": ["us-east-1"]},
                    "accounts": [{"id": "111111111111", "name": "m", "email": "m@example.com", "default_vpc": False},
                                 {"id": "222222222222", "name": "a", "email": "a@example.com", "default_vpc": False, "kms_keys": keys}]})
    kms = sim.client("kms", "us-east-1", account_id="222222222222")
    pending, imported, cloudhsm, xks = (kms.describe_key(KeyId=key["id"])["KeyMetadata"] for key in keys)
    assert (pending["Origin"], pending["KeyState"], pending["Enabled"]) == ("EXTERNAL", "PendingImport", False)
    assert "ExpirationModel" not in pending  # no key material yet
    assert (imported["Origin"], imported["KeyState"], imported["ExpirationModel"]) == ("EXTERNAL", "Enabled", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert (cloudhsm["Origin"], cloudhsm["KeyState"]) == ("AWS_CLOUDHSM", "Unavailable")
    assert cloudhsm["CustomKeyStoreId"].startswith("cks-") and cloudhsm["CloudHsmClusterId"].startswith("cluster-")
    assert xks["Origin"] == "EXTERNAL_KEY_STORE" and xks["XksKeyConfiguration"]["Id"] and xks["CustomKeyStoreId"].startswith("cks-")


def test_fields_left_out_of_the_devops_guru_setting_and_endpoints_without_policy(make_org):
    member = {"id": "222222222222", "name": "a", "email": "a@example.com", "default_vpc": False,
              "devops_guru": [{"region": "us-east-1", "omit_fields": ["KMSServerSideEncryption"]},
                              {"region": "eu-west-1", "omit_fields": ["KMSServerSideEncryption.Type", "KMSServerSideEncryption.KMSKeyId"]}],
              "vpcs": [{"endpoints": [{"service": "devops-guru", "without_policy": True}, {"service": "s3", "type": "Gateway"}]}]}
    sim = make_org({"organization": {"management_account": "111111111111", "regions": ["us-east-1", "eu-west-1"]},
                    "accounts": [{"id": "111111111111", "name": "m", "email": "m@example.com", "default_vpc": False}, member]})
    east = sim.client("devops-guru", "us-east-1", account_id="222222222222").describe_service_integration()["ServiceIntegration"]
    assert "KMSServerSideEncryption" not in east and east["OpsCenter"] == {"OptInStatus": "DISABLED"}
    west = sim.client("devops-guru", "eu-west-1", account_id="222222222222").describe_service_integration()["ServiceIntegration"]
    assert west["KMSServerSideEncryption"] == {"OptInStatus": "ENABLED"}
    endpoints = sim.client("ec2", "us-east-1", account_id="222222222222").describe_vpc_endpoints()["VpcEndpoints"]
    policies = {e["ServiceName"].rsplit(".", 1)[1]: e.get("PolicyDocument") for e in endpoints}
    assert policies["devops-guru"] is None
    assert json.loads(policies["s3"])["Statement"][0]["Principal"] == "*"


def test_a_declared_default_vpc_survives_default_vpc_false(make_org):
    member = {"id": "222222222222", "name": "a", "email": "a@example.com", "default_vpc": False,
              "vpcs": [{"region": "us-east-1", "default": True, "tags": {"Name": "default"}, "endpoints": [{"service": "devops-guru"}]}]}
    sim = make_org({"organization": {"management_account": "111111111111", "regions": ["us-east-1", "eu-west-1"]},
                    "accounts": [{"id": "111111111111", "name": "m", "email": "m@example.com", "default_vpc": False}, member]})
    east = sim.client("ec2", "us-east-1", account_id="222222222222")
    vpcs = east.describe_vpcs()["Vpcs"]
    assert [(v["IsDefault"], {t["Key"]: t["Value"] for t in v.get("Tags", [])}) for v in vpcs] == [(True, {"Name": "default"})]
    assert east.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}])["Subnets"]
    assert east.describe_vpc_endpoints()["VpcEndpoints"][0]["VpcId"] == vpcs[0]["VpcId"]
    assert sim.client("ec2", "eu-west-1", account_id="222222222222").describe_vpcs()["Vpcs"] == []


def test_cloudtrail_lake_event_data_stores_answer_as_aws_does(make_org):
    # CloudTrail API Reference (ListEventDataStores, GetEventDataStore) and User Guide,
    # "Understanding organization event data stores": members can't see the organization's store.
    stores = [{"name": f"lake-{n}", "multi_region": n != 2} for n in range(3)]
    sim = make_org({
        "organization": {"management_account": "111111111111", "regions": ["us-east-1", "eu-west-1"]},
        "accounts": [
            {"id": "111111111111", "name": "management", "email": "m@example.com",
             "event_data_stores": [{"name": "org-lake", "organization": True, "status": "STOPPED_INGESTION"}, *stores]},
            {"id": "222222222222", "name": "member", "email": "a@example.com"},
        ],
    })
    management = sim.client("cloudtrail", "us-east-1")
    first = management.list_event_data_stores(MaxResults=3)
    assert [set(s) for s in first["EventDataStores"]] == [{"EventDataStoreArn", "Name"}] * 3  # no deprecated members
    rest = management.list_event_data_stores(MaxResults=3, NextToken=first["NextToken"])
    assert "NextToken" not in rest
    names = [s["Name"] for s in first["EventDataStores"] + rest["EventDataStores"]]
    assert names == ["org-lake", "lake-0", "lake-1", "lake-2"]
    org_arn = first["EventDataStores"][0]["EventDataStoreArn"]
    assert org_arn.startswith("arn:aws:cloudtrail:us-east-1:111111111111:eventdatastore/")
    by_id = management.get_event_data_store(EventDataStore=org_arn.rsplit("/", 1)[-1])
    assert by_id["Status"] == "STOPPED_INGESTION" and by_id["OrganizationEnabled"] is True and by_id["MultiRegionEnabled"] is True
    assert by_id["AdvancedEventSelectors"] == [
        {"Name": "Default management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
    # a store is listed only in its home region, even a multi-Region one
    assert sim.client("cloudtrail", "eu-west-1").list_event_data_stores()["EventDataStores"] == []
    member = sim.client("cloudtrail", "us-east-1", account_id="222222222222")
    assert member.list_event_data_stores()["EventDataStores"] == []
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        member.get_event_data_store(EventDataStore=org_arn)
    assert caught.value.response["Error"]["Code"] == "EventDataStoreNotFoundException"


HUB_AND_SPOKE = {
    "organization": {"management_account": "111111111111", "regions": ["us-east-1"]},
    "accounts": [
        {"id": "111111111111", "name": "management", "email": "m@example.com", "default_vpc": False},
        {"id": "222222222222", "name": "hub", "email": "h@example.com", "default_vpc": False,
         "vpcs": [{"cidr": "10.9.0.0/16", "subnets": ["10.9.1.0/24"]}],
         "hosted_zones": [{"name": "devops-guru.us-east-1.amazonaws.com"}],
         "resolver_rules": [{"name": "central", "domain": "devops-guru.us-east-1.amazonaws.com", "target_ips": ["10.9.1.10"],
                             "shared_with": ["333333333333"]}]},
        {"id": "333333333333", "name": "spoke", "email": "s@example.com", "default_vpc": False,
         "vpcs": [{"hosted_zones": [{"account": "222222222222", "name": "devops-guru.us-east-1.amazonaws.com"}],
                   "resolver_rules": [{"account": "222222222222", "name": "central"}]}]},
        {"id": "444444444444", "name": "bystander", "email": "b@example.com", "default_vpc": False, "vpcs": [{}]},
    ],
}


def test_another_accounts_zone_and_shared_rule_are_seen_by_the_vpc_owner(make_org):
    # Route 53 API Reference, ListHostedZonesByVPC: every private hosted zone associated with the VPC "regardless of which
    # Amazon Web Services account ... owns the hosted zones", the owner in Owner.OwningAccount. A Resolver rule shared
    # through AWS RAM is read with its owner's OwnerId and ShareStatus SHARED_WITH_ME (SHARED_BY_ME to the owner).
    sim = make_org(HUB_AND_SPOKE)
    spoke_ec2 = sim.client("ec2", "us-east-1", account_id="333333333333")
    spoke_vpc = spoke_ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    zones = sim.client("route53", "us-east-1", account_id="333333333333").list_hosted_zones_by_vpc(VPCId=spoke_vpc, VPCRegion="us-east-1")
    (zone,) = zones["HostedZoneSummaries"]
    assert zone["Name"] == "devops-guru.us-east-1.amazonaws.com." and zone["Owner"] == {"OwningAccount": "222222222222"}
    # The zone's own account lists it for its own VPC, the one it was created with.
    hub_vpc = sim.client("ec2", "us-east-1", account_id="222222222222").describe_vpcs()["Vpcs"][0]["VpcId"]
    hub_zones = sim.client("route53", "us-east-1", account_id="222222222222").list_hosted_zones_by_vpc(VPCId=hub_vpc, VPCRegion="us-east-1")
    assert [z["Owner"] for z in hub_zones["HostedZoneSummaries"]] == [{"OwningAccount": "222222222222"}]
    # A bystander's VPC is associated with nothing.
    bystander_vpc = sim.client("ec2", "us-east-1", account_id="444444444444").describe_vpcs()["Vpcs"][0]["VpcId"]
    bystander_r53 = sim.client("route53", "us-east-1", account_id="444444444444")
    assert bystander_r53.list_hosted_zones_by_vpc(VPCId=bystander_vpc, VPCRegion="us-east-1")["HostedZoneSummaries"] == []

    resolver = sim.client("route53resolver", "us-east-1", account_id="333333333333")
    (association,) = resolver.list_resolver_rule_associations()["ResolverRuleAssociations"]
    assert association["VPCId"] == spoke_vpc and association["Status"] == "COMPLETE"
    rule = resolver.get_resolver_rule(ResolverRuleId=association["ResolverRuleId"])["ResolverRule"]
    assert (rule["OwnerId"], rule["ShareStatus"], rule["RuleType"], rule["DomainName"]) == (
        "222222222222", "SHARED_WITH_ME", "FORWARD", "devops-guru.us-east-1.amazonaws.com.")
    assert rule["TargetIps"] == [{"Ip": "10.9.1.10", "Port": 53}]
    owner_view = sim.client("route53resolver", "us-east-1", account_id="222222222222").get_resolver_rule(ResolverRuleId=rule["Id"])
    assert owner_view["ResolverRule"]["ShareStatus"] == "SHARED_BY_ME"
    # The rule is not shared with the bystander.
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sim.client("route53resolver", "us-east-1", account_id="444444444444").get_resolver_rule(ResolverRuleId=rule["Id"])
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_route53_get_calls_pass_iam_enforcement_and_denials_read_as_route53s(make_org):
    # Under IAM enforcement a signed GET with a query (ListHostedZonesByVPC) must pass the signature check, and a
    # denial must be Route 53's REST-XML error (<ErrorResponse><Error><Code>AccessDenied), as AWS sends it.
    from scanner.simulator import Faults

    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ec2:DescribeVpcs", "route53:ListHostedZonesByVPC"], "Resource": "*"}]}
    org = {**HUB_AND_SPOKE, "organization": {**HUB_AND_SPOKE["organization"], "role_policy": allow}}
    sim = make_org(org, Faults(iam_enforcement=True))
    vpc = sim.client("ec2", "us-east-1", account_id="333333333333").describe_vpcs()["Vpcs"][0]["VpcId"]
    zones = sim.client("route53", "us-east-1", account_id="333333333333").list_hosted_zones_by_vpc(VPCId=vpc, VPCRegion="us-east-1")
    assert [z["Owner"]["OwningAccount"] for z in zones["HostedZoneSummaries"]] == ["222222222222"]
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sim.client("route53", "us-east-1", account_id="333333333333").list_hosted_zones(MaxItems="1")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert "route53:ListHostedZones" in caught.value.response["Error"]["Message"]
