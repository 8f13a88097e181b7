"""devopsguru_cmk_grant_present against the simulated organization.

Expected verdicts follow AWS's documentation:
- DevOps Guru's data-protection guidance ("Data encryption in DevOps Guru",
  https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html): DevOps Guru creates a grant on
  the customer managed key and revoking it makes DevOps Guru's data unreadable.
- KMS ListGrants / GrantListEntry (https://docs.aws.amazon.com/kms/latest/APIReference/API_ListGrants.html): a grant
  to an AWS service names the service principal in GranteePrincipal (or GranteeServicePrincipal).
- Grants in AWS KMS (https://docs.aws.amazon.com/kms/latest/developerguide/grants.html): a grant allows exactly
  the operations it lists; envelope encryption needs GenerateDataKey to write and Decrypt to read.
"""
import pytest

from checks.devopsguru.devopsguru_cmk_grant_present import devopsguru_cmk_grant_present
from devopsguru_scenarios import KEY_ARN, KEY_ID, MEMBER, OTHER, OTHER_REGION, REGION, devops_guru, good_key, key_policy, only, root_statement
from scanner.model import Status
from scanner.simulator import Faults
from scanner.testing import check_context

MRK_ID = "mrk-0d5f1e1a2b3c4d5e8f90000000000001"


@pytest.mark.parametrize("kms_key", ["alias/devops-guru", KEY_ID, KEY_ARN], ids=["alias", "key-id", "key-arn"])
def test_pass_when_devops_guru_holds_its_grant(judge, kms_key):
    finding = only(judge(devopsguru_cmk_grant_present, {"kms_keys": [good_key()], "devops_guru": [devops_guru(kms_key)]}))
    assert finding.status is Status.PASS, finding.message
    assert finding.resource_arn == KEY_ARN
    [grant] = finding.evidence["devops_guru_grants"]
    assert grant["GranteePrincipal"] == "devops-guru.amazonaws.com"
    assert set(grant["Operations"]) >= {"Decrypt", "GenerateDataKey"}


def test_fail_when_the_grant_was_revoked(judge):
    setup = devops_guru(grant_revoked=True)
    finding = only(judge(devopsguru_cmk_grant_present, {"kms_keys": [good_key()], "devops_guru": [setup]}))
    assert finding.status is Status.FAIL
    assert "no grant on the key names DevOps Guru" in finding.message
    assert finding.evidence["devops_guru_grants"] == []


def test_fail_when_revoked_through_the_api_after_configuring(judge):
    # The grant is created by configuring DevOps Guru and revoked with kms:RevokeGrant, as a key administrator would.
    def revoke(sim):
        kms = sim.client("kms", REGION, account_id=MEMBER)
        for grant in kms.list_grants(KeyId=KEY_ARN)["Grants"]:
            kms.revoke_grant(KeyId=KEY_ARN, GrantId=grant["GrantId"])

    finding = only(judge(devopsguru_cmk_grant_present, {"kms_keys": [good_key()], "devops_guru": [devops_guru()]}, prepare=revoke))
    assert finding.status is Status.FAIL


def test_fail_when_the_grant_lacks_an_operation(judge):
    setup = devops_guru(grant_operations=["Decrypt", "DescribeKey"])
    finding = only(judge(devopsguru_cmk_grant_present, {"kms_keys": [good_key()], "devops_guru": [setup]}))
    assert finding.status is Status.FAIL
    assert "lacks GenerateDataKey" in finding.message


def test_grant_to_another_grantee_does_not_count(judge):
    def grant_to_someone_else(sim):
        kms = sim.client("kms", REGION, account_id=MEMBER)
        for grant in kms.list_grants(KeyId=KEY_ARN)["Grants"]:
            kms.revoke_grant(KeyId=KEY_ARN, GrantId=grant["GrantId"])
        kms.create_grant(KeyId=KEY_ARN, GranteePrincipal=f"arn:aws:iam::{MEMBER}:role/app", Operations=["Decrypt", "GenerateDataKey"])

    finding = only(judge(devopsguru_cmk_grant_present, {"kms_keys": [good_key()], "devops_guru": [devops_guru()]}, prepare=grant_to_someone_else))
    assert finding.status is Status.FAIL
    assert finding.evidence["grant_count"] == 1


def test_configuring_through_the_api_creates_the_grant(make_org):
    # UpdateServiceIntegration with a customer managed key: DevOps Guru creates its grant (the guidance's CreateGrant).
    from devopsguru_scenarios import organization

    sim = make_org(organization({"kms_keys": [good_key()], "devops_guru": [devops_guru(None)]}))
    guru = sim.client("devops-guru", REGION, account_id=MEMBER)
    guru.update_service_integration(
        ServiceIntegration={"KMSServerSideEncryption": {"OptInStatus": "ENABLED", "Type": "CUSTOMER_MANAGED_KEY", "KMSKeyId": "alias/devops-guru"}}
    )
    finding = only(list(devopsguru_cmk_grant_present(check_context(sim, MEMBER, REGION, devopsguru_cmk_grant_present))))
    assert finding.status is Status.PASS, finding.message


def test_multi_region_key_replica_named_here_holds_the_grant(judge):
    replica = f"arn:aws:kms:{REGION}:{MEMBER}:key/{MRK_ID}"
    key = good_key(id=MRK_ID, region=OTHER_REGION, multi_region=True, replica_regions=[REGION], aliases=[])
    finding = only(judge(devopsguru_cmk_grant_present, {"kms_keys": [key], "devops_guru": [devops_guru(replica)]}))
    assert finding.status is Status.PASS, finding.message
    assert finding.resource_arn == replica


def test_key_of_another_account_that_allows_listing(judge):
    foreign = f"arn:aws:kms:{REGION}:{OTHER}:key/{KEY_ID}"
    shared = good_key(policy=key_policy(root_statement(OTHER), root_statement(MEMBER)))
    finding = only(judge(devopsguru_cmk_grant_present, {"devops_guru": [devops_guru(foreign)]}, other={"kms_keys": [shared]}))
    assert finding.status is Status.PASS, finding.message
    assert finding.resource_arn == foreign


def test_fail_when_key_does_not_exist(judge):
    finding = only(judge(devopsguru_cmk_grant_present, {"kms_keys": [good_key()], "devops_guru": [devops_guru("alias/missing")]}))
    assert finding.status is Status.FAIL
    assert "does not exist" in finding.message


def test_not_applicable_where_devops_guru_is_off_or_uses_aws_owned_key(judge):
    assert only(judge(devopsguru_cmk_grant_present, {"kms_keys": [good_key()], "devops_guru": [devops_guru(stacks=[])]})).status is Status.NOT_APPLICABLE
    assert only(judge(devopsguru_cmk_grant_present, {"kms_keys": [good_key()], "devops_guru": [devops_guru(None)]})).status is Status.NOT_APPLICABLE


def test_access_denied_is_error_naming_the_action(judge):
    faults = Faults(deny_actions={MEMBER: ["kms:ListGrants"]})
    finding = only(judge(devopsguru_cmk_grant_present, {"kms_keys": [good_key()], "devops_guru": [devops_guru()]}, faults=faults))
    assert finding.status is Status.ERROR
    assert "kms:ListGrants" in finding.message
    assert finding.resource_arn == KEY_ARN


def test_scenario_names_a_wrong_grant_operation():
    from devopsguru_scenarios import organization
    from scanner.errors import UsageError
    from scanner.simulator import scenario_from_dict

    with pytest.raises(UsageError, match=r"grant_operations\[1\].*'Everything' is not a KMS grant operation"):
        scenario_from_dict(organization({"kms_keys": [good_key()], "devops_guru": [devops_guru(grant_operations=["Decrypt", "Everything"])]}), source="t.toml")
