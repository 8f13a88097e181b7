"""devopsguru_cmk_enabled against the simulated organization."""
import pytest

from checks.devopsguru.devopsguru_cmk_enabled import devopsguru_cmk_enabled
from devopsguru_scenarios import MANAGEMENT, MEMBER, REGION, devops_guru, good_key, only
from scanner.model import Status
from scanner.simulator import Faults


def test_pass_with_customer_managed_key(judge):
    finding = only(judge(devopsguru_cmk_enabled, {"kms_keys": [good_key()], "devops_guru": [devops_guru()]}))
    assert finding.status is Status.PASS
    assert finding.resource_id == "devops-guru-service-integration"
    assert finding.evidence["KMSServerSideEncryption.Type"] == "CUSTOMER_MANAGED_KEY"
    assert finding.evidence["KMSServerSideEncryption.KMSKeyId"] == "alias/devops-guru"


def test_fail_with_aws_owned_key(judge):
    finding = only(judge(devopsguru_cmk_enabled, {"devops_guru": [devops_guru(kms_key=None)]}))
    assert finding.status is Status.FAIL
    assert "Type is AWS_OWNED_KMS_KEY" in finding.message


def test_fail_when_customer_managed_key_is_opted_out(judge):
    setup = devops_guru()
    setup["encryption"]["opt_in_status"] = "DISABLED"
    finding = only(judge(devopsguru_cmk_enabled, {"kms_keys": [good_key()], "devops_guru": [setup]}))
    assert finding.status is Status.FAIL
    assert "OptInStatus is not ENABLED" in finding.message


@pytest.mark.parametrize(
    "encryption,omitted,reason",
    [
        (None, ["KMSServerSideEncryption"], "KMSServerSideEncryption is not set"),
        (None, ["KMSServerSideEncryption.OptInStatus", "KMSServerSideEncryption.Type"], "KMSServerSideEncryption is not set"),
        ({"opt_in_status": "ENABLED"}, ["KMSServerSideEncryption.Type"], "Type is not set"),
        ({"type": "CUSTOMER_MANAGED_KEY"}, ["KMSServerSideEncryption.KMSKeyId"], "names no KMSKeyId"),
    ],
    ids=["section-missing", "section-empty", "type-missing", "key-id-missing"],
)
def test_missing_fields_mean_the_aws_owned_key(judge, encryption, omitted, reason):
    # The service answers with fields left out; the scenario declares which.
    setup = devops_guru(kms_key=None, omit_fields=omitted)
    if encryption is not None:
        setup["encryption"] = encryption
    finding = only(judge(devopsguru_cmk_enabled, {"devops_guru": [setup]}))
    assert finding.status is Status.FAIL
    assert reason in finding.message


def _set_encryption(value):
    # Enum values the service might add later cannot be declared (the scenario accepts today's only).
    def prepare(sim):
        from scanner.simulator.devopsguru.models import devopsguru_backends

        devopsguru_backends[MEMBER][REGION].service_integration["KMSServerSideEncryption"] = value

    return prepare


@pytest.mark.parametrize(
    "encryption,field",
    [({"OptInStatus": "MAYBE", "Type": "AWS_OWNED_KMS_KEY"}, "OptInStatus 'MAYBE'"), ({"OptInStatus": "ENABLED", "Type": "HSM"}, "Type 'HSM'")],
)
def test_unknown_enum_values_are_error(judge, encryption, field):
    finding = only(judge(devopsguru_cmk_enabled, {"devops_guru": [devops_guru(kms_key=None)]}, prepare=_set_encryption(encryption)))
    assert finding.status is Status.ERROR
    assert f"unknown KMSServerSideEncryption.{field}" in finding.message


def test_not_applicable_where_devops_guru_is_not_in_use(judge):
    member = {"devops_guru": [devops_guru(kms_key=None, stacks=[])]}
    finding = only(judge(devopsguru_cmk_enabled, member))
    assert finding.status is Status.NOT_APPLICABLE
    finding = only(judge(devopsguru_cmk_enabled, member, account=MANAGEMENT))
    assert finding.status is Status.NOT_APPLICABLE


def test_in_use_through_tag_boundary(judge):
    member = {"devops_guru": [devops_guru(kms_key=None, stacks=[], tags={"DevOps-Guru-App": ["shop"]})]}
    finding = only(judge(devopsguru_cmk_enabled, member))
    assert finding.status is Status.FAIL
    assert finding.evidence == {
        "KMSServerSideEncryption.OptInStatus": "ENABLED",
        "KMSServerSideEncryption.Type": "AWS_OWNED_KMS_KEY",
        "KMSServerSideEncryption.KMSKeyId": None,
    }


@pytest.mark.parametrize("action", ["devops-guru:DescribeServiceIntegration", "devops-guru:GetResourceCollection"])
def test_access_denied_is_error_naming_the_action(judge, action):
    faults = Faults(deny_actions={MEMBER: [action]})
    finding = only(judge(devopsguru_cmk_enabled, {"kms_keys": [good_key()], "devops_guru": [devops_guru()]}, faults=faults))
    assert finding.status is Status.ERROR
    assert action in finding.message
