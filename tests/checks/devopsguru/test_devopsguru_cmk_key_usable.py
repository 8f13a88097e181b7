"""devopsguru_cmk_key_usable against the simulated organization."""
import pytest

from checks.devopsguru.devopsguru_cmk_key_usable import devopsguru_cmk_key_usable, usability_problems
from checks.devopsguru.gather import ConfiguredKey, KeyRef
from checks.kms.gather import parse_key_metadata
from devopsguru_scenarios import KEY_ARN, KEY_ID, MEMBER, OTHER, OTHER_REGION, REGION, devops_guru, good_key, key_policy, only, root_statement
from scanner.model import Status
from scanner.simulator import Faults

MRK_ID = "mrk-0d5f1e1a2b3c4d5e8f90000000000001"


@pytest.mark.parametrize("kms_key", ["alias/devops-guru", KEY_ID, KEY_ARN, f"arn:aws:kms:{REGION}:{MEMBER}:alias/devops-guru"], ids=["alias", "key-id", "key-arn", "alias-arn"])
def test_pass_for_every_way_of_naming_the_key(judge, kms_key):
    finding = only(judge(devopsguru_cmk_key_usable, {"kms_keys": [good_key()], "devops_guru": [devops_guru(kms_key)]}))
    assert finding.status is Status.PASS, finding.message
    assert finding.resource_id == KEY_ARN and finding.resource_arn == KEY_ARN
    assert finding.evidence["KeyState"] == "Enabled" and finding.evidence["KMSKeyId"] == kms_key


# A multi-Region key configured by its ARN in another region. "Most AWS services that integrate with AWS KMS for
# encryption at rest ... currently treat multi-Region keys as though they were single-Region keys"
# (https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html), and DevOps Guru's API
# reference documents no exception (KMSKeyId: key ID, key ARN, alias name or alias ARN;
# https://docs.aws.amazon.com/devops-guru/latest/APIReference/API_KMSServerSideEncryptionIntegrationConfig.html):
# DevOps Guru uses the key the ARN names, in the other region -> FAIL, naming the replica of this region.
def test_fail_for_multi_region_key_configured_by_another_regions_arn_even_with_a_replica_here(judge):
    primary = f"arn:aws:kms:{OTHER_REGION}:{MEMBER}:key/{MRK_ID}"
    replica = f"arn:aws:kms:{REGION}:{MEMBER}:key/{MRK_ID}"
    key = good_key(id=MRK_ID, region=OTHER_REGION, multi_region=True, replica_regions=[REGION], aliases=[])
    finding = only(judge(devopsguru_cmk_key_usable, {"kms_keys": [key], "devops_guru": [devops_guru(primary)]}))
    assert finding.status is Status.FAIL
    assert finding.resource_arn == primary
    assert f"configured by its {OTHER_REGION} ARN" in finding.message and f"configure the replica of this region, {replica}" in finding.message
    assert replica in finding.evidence["note"]


# The same multi-Region key named by the ARN of its replica in DevOps Guru's region is a key of this region
# (a replica is a KMS key of its own Region, managed independently: same page) -> PASS.
@pytest.mark.parametrize("name", ["arn", "key-id"])
def test_pass_for_multi_region_replica_named_in_this_region(judge, name):
    replica = f"arn:aws:kms:{REGION}:{MEMBER}:key/{MRK_ID}"
    key = good_key(id=MRK_ID, region=OTHER_REGION, multi_region=True, replica_regions=[REGION], aliases=[])
    finding = only(judge(devopsguru_cmk_key_usable, {"kms_keys": [key], "devops_guru": [devops_guru(replica if name == "arn" else MRK_ID)]}))
    assert finding.status is Status.PASS, finding.message
    assert finding.resource_arn == replica
    assert finding.evidence["MultiRegionKeyType"] == "REPLICA"


def test_fail_for_multi_region_key_without_replica_here(judge):
    primary = f"arn:aws:kms:{OTHER_REGION}:{MEMBER}:key/{MRK_ID}"
    key = good_key(id=MRK_ID, region=OTHER_REGION, multi_region=True, aliases=[])
    finding = only(judge(devopsguru_cmk_key_usable, {"kms_keys": [key], "devops_guru": [devops_guru(primary)]}))
    assert finding.status is Status.FAIL
    assert f"has no replica in {REGION}" in finding.message


def test_fail_for_key_of_another_region(judge):
    key = good_key(region=OTHER_REGION)
    finding = only(judge(devopsguru_cmk_key_usable, {"kms_keys": [key], "devops_guru": [devops_guru(f"arn:aws:kms:{OTHER_REGION}:{MEMBER}:key/{KEY_ID}")]}))
    assert finding.status is Status.FAIL
    assert f"is in {OTHER_REGION}, not in {REGION}" in finding.message


@pytest.mark.parametrize("kms_key", ["alias/missing", "0d5f1e1a-2b3c-4d5e-8f90-0000000000ff"], ids=["alias", "key-id"])
def test_fail_when_key_does_not_exist(judge, kms_key):
    finding = only(judge(devopsguru_cmk_key_usable, {"kms_keys": [good_key()], "devops_guru": [devops_guru(kms_key)]}))
    assert finding.status is Status.FAIL
    assert "does not exist" in finding.message


@pytest.mark.parametrize("state", ["Disabled", "PendingDeletion"])
def test_fail_when_key_is_not_enabled(judge, state):
    finding = only(judge(devopsguru_cmk_key_usable, {"kms_keys": [good_key(state=state)], "devops_guru": [devops_guru()]}))
    assert finding.status is Status.FAIL
    assert f"KeyState is {state}" in finding.message


@pytest.mark.parametrize(
    "spec,usage,expected",
    [
        ("RSA_2048", "ENCRYPT_DECRYPT", ["KeySpec is RSA_2048"]),
        ("ECC_NIST_P256", "SIGN_VERIFY", ["KeySpec is ECC_NIST_P256", "KeyUsage is SIGN_VERIFY"]),
        ("HMAC_256", "GENERATE_VERIFY_MAC", ["KeySpec is HMAC_256", "KeyUsage is GENERATE_VERIFY_MAC"]),
    ],
)
def test_fail_when_key_is_not_symmetric_encryption(judge, spec, usage, expected):
    key = good_key(spec=spec, usage=usage, rotation=False)
    finding = only(judge(devopsguru_cmk_key_usable, {"kms_keys": [key], "devops_guru": [devops_guru()]}))
    assert finding.status is Status.FAIL
    for text in expected:
        assert text in finding.message


def test_fail_when_key_is_aws_managed(judge):
    key = {"region": REGION, "manager": "AWS", "aliases": ["alias/aws/devops-guru"]}
    finding = only(judge(devopsguru_cmk_key_usable, {"kms_keys": [key], "devops_guru": [devops_guru("alias/aws/devops-guru")]}))
    assert finding.status is Status.FAIL
    assert "AWS managed key, not customer managed" in finding.message


@pytest.mark.parametrize(
    "origin,state",
    [("EXTERNAL", "PendingImport"), ("AWS_CLOUDHSM", "Unavailable"), ("EXTERNAL_KEY_STORE", "Unavailable")],
    ids=["imported-awaiting-material", "cloudhsm-disconnected", "external-key-store-disconnected"],
)
def test_fail_when_key_material_is_missing_or_its_key_store_is_disconnected(judge, origin, state):
    key = good_key(origin=origin, state=state, rotation=False)
    finding = only(judge(devopsguru_cmk_key_usable, {"kms_keys": [key], "devops_guru": [devops_guru()]}))
    assert finding.status is Status.FAIL
    assert finding.message == f"DevOps Guru's configured key is not usable: KeyState is {state}"
    assert finding.evidence["KeyState"] == state and finding.evidence["Origin"] == origin
    assert finding.resource_arn == KEY_ARN


def test_pass_for_enabled_key_with_imported_material(judge):
    key = good_key(origin="EXTERNAL", rotation=False)
    finding = only(judge(devopsguru_cmk_key_usable, {"kms_keys": [key], "devops_guru": [devops_guru()]}))
    assert finding.status is Status.PASS, finding.message
    assert finding.evidence["Origin"] == "EXTERNAL" and finding.evidence["KeyState"] == "Enabled"


@pytest.mark.parametrize("state", ["Creating", "Updating", "PendingReplicaDeletion"])
def test_fail_for_key_states_the_simulator_cannot_declare(state):
    # Transient states DescribeKey reports while KMS is creating or replicating a key; a scenario
    # declares keys as they settle.
    facts = parse_key_metadata(
        {"KeyMetadata": {"KeyId": KEY_ID, "Arn": KEY_ARN, "KeyState": state, "KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT"}},
        KEY_ID,
    )
    key = ConfiguredKey(KeyRef(KEY_ID, "aws", MEMBER, REGION, "key", KEY_ID), facts=facts)
    assert usability_problems(key, REGION) == [f"KeyState is {state}"]


def test_error_not_pass_for_key_in_another_account_that_cannot_be_read(judge):
    foreign = f"arn:aws:kms:{REGION}:{OTHER}:key/{KEY_ID}"
    own_account_only = good_key(policy=key_policy(root_statement(OTHER)))
    finding = only(judge(devopsguru_cmk_key_usable, {"devops_guru": [devops_guru(foreign)]}, other={"kms_keys": [own_account_only]}))
    assert finding.status is Status.ERROR
    assert f"account {OTHER}" in finding.message
    assert finding.resource_arn == foreign


def test_key_in_another_account_that_can_be_read_is_judged(judge):
    foreign = f"arn:aws:kms:{REGION}:{OTHER}:key/{KEY_ID}"
    shared = good_key(policy=key_policy(root_statement(OTHER), root_statement(MEMBER)), state="Disabled")
    finding = only(judge(devopsguru_cmk_key_usable, {"devops_guru": [devops_guru(foreign)]}, other={"kms_keys": [shared]}))
    assert finding.status is Status.FAIL
    assert "KeyState is Disabled" in finding.message
    assert finding.resource_arn == foreign


def test_not_applicable_where_devops_guru_is_off_or_uses_aws_owned_key(judge):
    assert only(judge(devopsguru_cmk_key_usable, {"kms_keys": [good_key()], "devops_guru": [devops_guru(stacks=[])]})).status is Status.NOT_APPLICABLE
    finding = only(judge(devopsguru_cmk_key_usable, {"kms_keys": [good_key()], "devops_guru": [devops_guru(None)]}))
    assert finding.status is Status.NOT_APPLICABLE and "AWS owned key" in finding.message


def test_access_denied_is_error_naming_the_action(judge):
    faults = Faults(deny_actions={MEMBER: ["kms:DescribeKey"]})
    finding = only(judge(devopsguru_cmk_key_usable, {"kms_keys": [good_key()], "devops_guru": [devops_guru()]}, faults=faults))
    assert finding.status is Status.ERROR
    assert "kms:DescribeKey" in finding.message


@pytest.mark.parametrize("kms_key", ["arn:aws:s3:::bucket", "key/abc", "arn:aws:kms:us-east-1:222222222222:grant/x"])
def test_malformed_key_id_is_error(judge, kms_key):
    finding = only(judge(devopsguru_cmk_key_usable, {"kms_keys": [good_key()], "devops_guru": [devops_guru(kms_key)]}))
    assert finding.status is Status.ERROR
    assert "KMSKeyId" in finding.message
