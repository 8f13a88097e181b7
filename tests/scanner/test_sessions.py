"""Sessions and clients: member accounts' clients built from the declared operations only, over real role assumption."""
import botocore.session
import pytest

from scanner.aws import AwsReader
from scanner.errors import UndeclaredAction
from scanner.sessions import AccountSessions, DeclaredOperationsLoader

MANAGEMENT, MEMBER = "111111111111", "333333333333"
REGION = "us-east-1"


def test_member_clients_know_only_the_declared_operations(simulated_org):
    sessions = AccountSessions(member_actions=["ec2:DescribeVpcs", "kms:*"])
    ec2 = sessions.client(MEMBER, "ec2", REGION)
    assert ec2.meta.service_model.operation_names == ["DescribeVpcs"]
    assert not hasattr(ec2, "describe_instances")
    # A service wildcard keeps every operation of the service.
    kms = sessions.client(MEMBER, "kms", REGION)
    assert "GetKeyPolicy" in kms.meta.service_model.operation_names and "ListKeys" in kms.meta.service_model.operation_names
    # The trimmed client is a working client: the call goes over loopback as the member account's role.
    vpcs = ec2.describe_vpcs()["Vpcs"]
    assert vpcs and all(v["OwnerId"] == MEMBER for v in vpcs)
    # The caller's own account (organization-wide reads, the host's own calls) keeps full clients.
    assert hasattr(sessions.client(MANAGEMENT, "ec2", REGION), "describe_instances")


def test_without_declared_actions_member_clients_are_full(simulated_org):
    sessions = AccountSessions()
    assert hasattr(sessions.client(MEMBER, "ec2", REGION), "describe_instances")


def test_an_undeclared_call_is_named_and_refused_before_any_client_is_asked(simulated_org):
    sessions = AccountSessions(member_actions=["ec2:DescribeVpcs"])
    reader = AwsReader(sessions.target_cache(MEMBER), REGION, frozenset({"ec2:DescribeVpcs"}), "my_check")
    # The member's EC2 client has no describe_instances; the action is still named from botocore's full model.
    with pytest.raises(UndeclaredAction, match="my_check called ec2:DescribeInstances"):
        reader.call("ec2", "describe_instances")
    with pytest.raises(AttributeError, match="ec2 has no operation 'describe_nothing'"):
        reader.call("ec2", "describe_nothing")
    assert reader.collect("ec2", "describe_vpcs", "Vpcs")
    assert reader.actions_used == {"ec2:DescribeVpcs"}


def test_the_tagging_api_is_trimmed_by_its_iam_prefix(simulated_org):
    sessions = AccountSessions(member_actions=["tag:GetResources"])
    client = sessions.client(MEMBER, "resourcegroupstaggingapi", REGION)
    assert client.meta.service_model.operation_names == ["GetResources"]
    assert sessions.iam_actions("resourcegroupstaggingapi", "get_resources") == ("tag:GetResources",)


def test_the_loader_keeps_endpoint_discovery_and_passes_other_models_through():
    loader = botocore.session.Session().get_component("data_loader")
    declared = DeclaredOperationsLoader(loader, ["dynamodb:GetItem"])
    model = declared.load_service_model("dynamodb", "service-2")
    # DescribeEndpoints is botocore's own endpoint discovery, which DynamoDB clients may make before a call.
    assert set(model["operations"]) == {"GetItem", "DescribeEndpoints"}
    assert model["shapes"] is loader.load_service_model("dynamodb", "service-2")["shapes"]
    assert declared.load_service_model("dynamodb", "paginators-1") is loader.load_service_model("dynamodb", "paginators-1")
    # The wrapped loader's other methods are the wrapped loader's.
    assert declared.list_available_services("service-2") == loader.list_available_services("service-2")


def test_a_host_call_missing_from_the_host_actions_is_named(simulated_org):
    sessions = AccountSessions(member_actions=["ec2:DescribeVpcs"])
    host_reader = AwsReader(sessions.target_cache(MEMBER), REGION)
    with pytest.raises(UndeclaredAction, match="orgscan called ec2:DescribeRegions in a member account, which scanner.iam_policy.HOST_MEMBER_ACTIONS"):
        host_reader.collect("ec2", "describe_regions", "Regions")


def test_botocores_own_s3_calls_stay_on_trimmed_clients():
    loader = botocore.session.Session().get_component("data_loader")
    model = DeclaredOperationsLoader(loader, ["s3:ListAllMyBuckets"]).load_service_model("s3", "service-2")
    # HeadBucket finds a bucket's region after a redirect, CreateSession signs S3 Express calls.
    assert set(model["operations"]) == {"ListBuckets", "HeadBucket", "CreateSession"}


@pytest.mark.parametrize(
    ("service", "operation", "action"),
    [
        ("cloudwatch", "describe_alarms", "cloudwatch:DescribeAlarms"),
        ("ecr", "describe_repositories", "ecr:DescribeRepositories"),
        ("sesv2", "list_email_identities", "ses:ListEmailIdentities"),
        ("elbv2", "describe_load_balancers", "elasticloadbalancing:DescribeLoadBalancers"),
        ("stepfunctions", "list_state_machines", "states:ListStateMachines"),
    ],
)
def test_actions_are_named_with_the_iam_prefix_not_the_endpoint_prefix(service, operation, action):
    assert AccountSessions().iam_actions(service, operation) == (action,)


def test_clients_alias_event_names_as_botocore_does_from_one_cache():
    from botocore.hooks import EVENT_ALIASES, EventAliaser, HierarchicalEmitter

    from scanner.sessions import SharedAliasNames

    names = [f"before-call.{old}.SomeOperation" for old in EVENT_ALIASES] + ["before-call.kms.ListKeys", "needs-retry"]
    ours, botocores = SharedAliasNames(HierarchicalEmitter()), EventAliaser(HierarchicalEmitter())
    assert [ours._alias_event_name(n) for n in names] == [botocores._alias_event_name(n) for n in names]
    # botocore copies the aliser into every client; the copy answers from the names already aliased.
    copied = ours.__copy__()
    assert isinstance(copied, SharedAliasNames) and copied._alias_name_cache is ours._alias_name_cache


def test_member_clients_still_fire_handlers_registered_for_their_events(simulated_org):
    sessions = AccountSessions(member_actions=["kms:ListKeys"])
    kms = sessions.client(MEMBER, "kms", REGION)
    called = []
    kms.meta.events.register("before-call.kms.ListKeys", lambda **kwargs: called.append(kwargs["model"].name))
    kms.list_keys()
    assert called == ["ListKeys"]


def test_clients_read_no_proxy_settings_when_the_environment_has_none(simulated_org, monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert AccountSessions().client(MEMBER, "kms", REGION).meta.config.proxies == {}
    # With a proxy variable set, botocore chooses per endpoint (honouring NO_PROXY), as without orgscan.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    assert AccountSessions().client(MEMBER, "kms", REGION).meta.config.proxies is None


def test_sessions_are_built_from_the_settings_role_and_first_named_region(simulated_org):
    from scanner.config import ScanSettings
    from scanner.sessions import account_sessions

    settings = ScanSettings(role_name="AuditRole", role_session_name="audit", regions=["eu-west-1", "us-east-1"], concurrency=64)
    sessions = account_sessions(settings)
    assert sessions.default_region == "eu-west-1"
    assert sessions.role_arn("222222222222") == "arn:aws:iam::222222222222:role/AuditRole"
    assert sessions.role_session_name == "audit"
    assert sessions.client(simulated_org.management_account_id, "kms", "eu-west-1").meta.config.max_pool_connections == 64


def test_a_dask_worker_uses_its_own_identity_and_the_drivers_default_region(simulated_org):
    from scanner.config import ScanSettings
    from scanner.errors import UsageError
    from scanner.sessions import account_sessions

    # The driver's profile names a file on the driver's machine: a worker never reads it.
    settings = ScanSettings(profile="only-on-the-driver", regions=["all"])
    with pytest.raises(UsageError, match="only-on-the-driver"):
        account_sessions(settings)
    sessions = account_sessions(settings, default_region="ap-southeast-2", own_identity=True)
    assert sessions.default_region == "ap-southeast-2"
    assert sessions.caller_account_id == simulated_org.management_account_id
