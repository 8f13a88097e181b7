"""devopsguru_cmk_rotation_enabled against the simulated organization."""
from checks.devopsguru.devopsguru_cmk_rotation_enabled import devopsguru_cmk_rotation_enabled
from devopsguru_scenarios import KEY_ARN, MEMBER, OTHER, REGION, devops_guru, good_key, key_policy, only, root_statement
from scanner.model import Status
from scanner.simulator import Faults


def test_pass_when_rotation_is_on(judge):
    finding = only(judge(devopsguru_cmk_rotation_enabled, {"kms_keys": [good_key()], "devops_guru": [devops_guru()]}))
    assert finding.status is Status.PASS
    assert finding.resource_arn == KEY_ARN
    assert finding.evidence["KeyRotationEnabled"] is True


def test_fail_when_rotation_is_off(judge):
    finding = only(judge(devopsguru_cmk_rotation_enabled, {"kms_keys": [good_key(rotation=False)], "devops_guru": [devops_guru()]}))
    assert finding.status is Status.FAIL
    assert finding.evidence["KeyRotationEnabled"] is False
    assert "rotation of DevOps Guru's key is off" in finding.message


def test_fail_when_configured_key_does_not_exist(judge):
    finding = only(judge(devopsguru_cmk_rotation_enabled, {"devops_guru": [devops_guru("alias/missing")]}))
    assert finding.status is Status.FAIL
    assert "does not exist" in finding.message


def test_rotation_of_a_readable_key_in_another_account_is_judged(judge):
    foreign = f"arn:aws:kms:{REGION}:{OTHER}:key/{good_key()['id']}"
    shared = good_key(policy=key_policy(root_statement(OTHER), root_statement(MEMBER)), rotation=False)
    finding = only(judge(devopsguru_cmk_rotation_enabled, {"devops_guru": [devops_guru(foreign)]}, other={"kms_keys": [shared]}))
    assert finding.status is Status.FAIL and finding.resource_arn == foreign


def test_error_for_unreadable_key_in_another_account(judge):
    foreign = f"arn:aws:kms:{REGION}:{OTHER}:key/{good_key()['id']}"
    finding = only(judge(devopsguru_cmk_rotation_enabled, {"devops_guru": [devops_guru(foreign)]}, other={"kms_keys": [good_key(policy=key_policy(root_statement(OTHER)))]}))
    assert finding.status is Status.ERROR


def test_aws_managed_key_is_not_applicable(judge):
    key = {"region": REGION, "manager": "AWS", "aliases": ["alias/aws/devops-guru"]}
    finding = only(judge(devopsguru_cmk_rotation_enabled, {"kms_keys": [key], "devops_guru": [devops_guru("alias/aws/devops-guru")]}))
    assert finding.status is Status.NOT_APPLICABLE


def test_not_applicable_where_devops_guru_is_not_in_use(judge):
    finding = only(judge(devopsguru_cmk_rotation_enabled, {"kms_keys": [good_key(rotation=False)], "devops_guru": [devops_guru(stacks=[])]}))
    assert finding.status is Status.NOT_APPLICABLE


def test_access_denied_is_error_naming_the_action(judge):
    faults = Faults(deny_actions={MEMBER: ["kms:GetKeyRotationStatus"]})
    finding = only(judge(devopsguru_cmk_rotation_enabled, {"kms_keys": [good_key()], "devops_guru": [devops_guru()]}, faults=faults))
    assert finding.status is Status.ERROR
    assert "kms:GetKeyRotationStatus" in finding.message


def test_fail_for_a_key_that_cannot_rotate(judge):
    key = good_key(spec="RSA_2048", usage="SIGN_VERIFY", rotation=False)
    finding = only(judge(devopsguru_cmk_rotation_enabled, {"kms_keys": [key], "devops_guru": [devops_guru()]}))
    assert finding.status is Status.FAIL
    assert "only symmetric encryption keys rotate automatically" in finding.message
