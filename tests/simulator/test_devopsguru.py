"""The DevOps Guru backend: registration in moto, every operation per account and region, validation."""
from __future__ import annotations

import uuid

import botocore.config
import botocore.exceptions
import pytest

ORG = {
    "organization": {"management_account": "111111111111", "regions": ["us-east-1", "eu-west-1"]},
    "accounts": [
        {"id": "111111111111", "name": "management", "email": "m@example.com"},
        {"id": "222222222222", "name": "alpha", "email": "a@example.com"},
        {"id": "333333333333", "name": "beta", "email": "b@example.com"},
    ],
}
TOPIC = "arn:aws:sns:us-east-1:222222222222:devops-guru-notifications"


def test_moto_routes_devops_guru_to_the_simulator_backend():
    # Fails loudly (SimulatorIncompatible names what broke) when a moto upgrade changes the internals.
    from scanner.simulator.registration import verify

    verify()


@pytest.fixture(scope="module")
def guru_org():
    from scanner.simulator import scenario_from_dict, serve

    with serve(scenario_from_dict(ORG)) as sim:
        yield sim


def _clients(sim):
    return {
        (account, region): sim.client("devops-guru", region, account_id=account)
        for account in ("222222222222", "333333333333")
        for region in ("us-east-1", "eu-west-1")
    }


def test_every_operation_round_trips_per_account_and_region(guru_org):
    clients = _clients(guru_org)
    for (account, region), guru in clients.items():
        key = f"arn:aws:kms:{region}:{account}:key/{uuid.uuid5(uuid.NAMESPACE_URL, account + region)}"
        guru.update_service_integration(
            ServiceIntegration={
                "OpsCenter": {"OptInStatus": "ENABLED"},
                "KMSServerSideEncryption": {"KMSKeyId": key, "OptInStatus": "ENABLED", "Type": "CUSTOMER_MANAGED_KEY"},
            }
        )
        guru.update_resource_collection(Action="ADD", ResourceCollection={"CloudFormation": {"StackNames": [f"stack-{account}-{region}"]}})
        guru.update_resource_collection(Action="ADD", ResourceCollection={"Tags": [{"AppBoundaryKey": "DevOps-Guru-App", "TagValues": [region]}]})
        channel = guru.add_notification_channel(Config={"Sns": {"TopicArn": TOPIC.replace("us-east-1", region).replace("222222222222", account)}})["Id"]
        assert uuid.UUID(channel)

    for (account, region), guru in clients.items():
        integration = guru.describe_service_integration()["ServiceIntegration"]
        assert integration["OpsCenter"] == {"OptInStatus": "ENABLED"}
        assert integration["LogsAnomalyDetection"] == {"OptInStatus": "DISABLED"}
        encryption = integration["KMSServerSideEncryption"]
        assert encryption["Type"] == "CUSTOMER_MANAGED_KEY" and f":{region}:{account}:" in encryption["KMSKeyId"]
        stacks = guru.get_resource_collection(ResourceCollectionType="AWS_CLOUD_FORMATION")["ResourceCollection"]
        assert stacks == {"CloudFormation": {"StackNames": [f"stack-{account}-{region}"]}}
        tags = guru.get_resource_collection(ResourceCollectionType="AWS_TAGS")["ResourceCollection"]
        assert tags == {"Tags": [{"AppBoundaryKey": "DevOps-Guru-App", "TagValues": [region]}]}
        channels = guru.list_notification_channels()["Channels"]
        assert len(channels) == 1 and f":{region}:{account}:" in channels[0]["Config"]["Sns"]["TopicArn"]
        health = guru.describe_account_health()
        assert health["OpenReactiveInsights"] == 0 and health["AnalyzedResourceCount"] == 2

    for (account, region), guru in clients.items():
        channel_id = guru.list_notification_channels()["Channels"][0]["Id"]
        guru.remove_notification_channel(Id=channel_id)
        assert guru.list_notification_channels()["Channels"] == []
        guru.update_resource_collection(Action="REMOVE", ResourceCollection={"CloudFormation": {"StackNames": [f"stack-{account}-{region}"]}})
        guru.update_resource_collection(Action="REMOVE", ResourceCollection={"Tags": [{"AppBoundaryKey": "DevOps-Guru-App", "TagValues": [region]}]})
        assert guru.get_resource_collection(ResourceCollectionType="AWS_CLOUD_FORMATION")["ResourceCollection"] == {"CloudFormation": {"StackNames": []}}
        assert guru.get_resource_collection(ResourceCollectionType="AWS_TAGS")["ResourceCollection"] == {"Tags": []}
        guru.update_service_integration(ServiceIntegration={"KMSServerSideEncryption": {"OptInStatus": "ENABLED", "Type": "AWS_OWNED_KMS_KEY"}})
        assert "KMSKeyId" not in guru.describe_service_integration()["ServiceIntegration"]["KMSServerSideEncryption"]


def test_a_fresh_account_uses_the_aws_owned_key_and_collects_nothing(guru_org):
    guru = guru_org.client("devops-guru", "eu-west-1")  # the management account, never configured
    integration = guru.describe_service_integration()["ServiceIntegration"]
    assert integration["KMSServerSideEncryption"] == {"OptInStatus": "ENABLED", "Type": "AWS_OWNED_KMS_KEY"}
    assert guru.get_resource_collection(ResourceCollectionType="AWS_CLOUD_FORMATION")["ResourceCollection"] == {"CloudFormation": {"StackNames": []}}


def _unvalidated(sim, account="222222222222"):
    # A client that skips botocore's own checks, so the request reaches the service as written.
    return sim.client("devops-guru", "us-east-1", account_id=account, parameter_validation=False)


def _error(call):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    return caught.value.response


def test_invalid_enum_values_are_validation_exceptions(guru_org):
    guru = _unvalidated(guru_org)
    response = _error(lambda: guru.update_service_integration(ServiceIntegration={"OpsCenter": {"OptInStatus": "MAYBE"}}))
    assert response["Error"]["Code"] == "ValidationException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Value 'MAYBE' at 'serviceIntegration.opsCenter.optInStatus' failed to satisfy constraint" in response["Error"]["Message"]
    assert response["Reason"] == "FIELD_VALIDATION_FAILED"
    assert response["Fields"][0]["Name"] == "serviceIntegration.opsCenter.optInStatus"

    response = _error(lambda: guru.get_resource_collection(ResourceCollectionType="AWS_EVERYTHING"))
    assert response["Error"]["Code"] == "ValidationException"
    response = _error(lambda: guru.update_resource_collection(Action="REPLACE", ResourceCollection={"CloudFormation": {"StackNames": ["a"]}}))
    assert response["Error"]["Code"] == "ValidationException"
    assert "enum value set: [ADD, REMOVE]" in response["Error"]["Message"]


def test_missing_required_parameters_are_validation_exceptions(guru_org):
    guru = _unvalidated(guru_org)
    response = _error(lambda: guru.update_resource_collection(ResourceCollection={"CloudFormation": {"StackNames": ["a"]}}))
    assert response["Error"]["Code"] == "ValidationException"
    assert "Value null at 'action' failed to satisfy constraint: Member must not be null" in response["Error"]["Message"]
    response = _error(lambda: guru.update_service_integration())
    assert response["Error"]["Code"] == "ValidationException"
    response = _error(lambda: guru.add_notification_channel(Config={}))
    assert "config.sns" in response["Error"]["Message"]


def test_service_rules_are_enforced(guru_org):
    guru = guru_org.client("devops-guru", "us-east-1", account_id="333333333333")
    response = _error(lambda: guru.update_service_integration(
        ServiceIntegration={"KMSServerSideEncryption": {"OptInStatus": "ENABLED", "Type": "CUSTOMER_MANAGED_KEY"}}))
    assert response["Error"]["Code"] == "ValidationException"
    response = _error(lambda: guru.update_resource_collection(Action="ADD", ResourceCollection={"Tags": [{"AppBoundaryKey": "team", "TagValues": ["*"]}]}))
    assert response["Error"]["Code"] == "ValidationException"
    response = _error(lambda: guru.remove_notification_channel(Id=str(uuid.uuid4())))
    assert response["Error"]["Code"] == "ResourceNotFoundException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_in_process_mode_serves_devops_guru_too(in_process_org):
    import boto3

    guru = boto3.client("devops-guru", region_name="us-east-1")
    assert guru.describe_service_integration()["ServiceIntegration"]["KMSServerSideEncryption"]["Type"] == "AWS_OWNED_KMS_KEY"
    member = in_process_org.client("devops-guru", "us-east-1", account_id="222222222222")
    # The default scenario's security account uses its customer managed key here.
    assert member.describe_service_integration()["ServiceIntegration"]["KMSServerSideEncryption"]["KMSKeyId"] == "alias/devops-guru"
