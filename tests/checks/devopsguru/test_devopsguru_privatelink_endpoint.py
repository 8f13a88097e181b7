"""devopsguru_privatelink_endpoint against the simulated organization."""
import pytest

from checks.devopsguru.devopsguru_privatelink_endpoint import devopsguru_privatelink_endpoint
from devopsguru_scenarios import MEMBER, REGION, devops_guru, only
from scanner.model import Status
from scanner.simulator import Faults

ORG_ONLY = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorg01"}}}]}


def endpoint(**overrides):
    return {"service": "devops-guru", "policy": ORG_ONLY, **overrides}


def vpc(*endpoints, **overrides):
    return {"region": REGION, "endpoints": list(endpoints), **overrides}


def member(*vpcs, guru=None):
    # The account keeps its default VPC only when one of the VPCs is declared default.
    has_default = any(v.get("default") for v in vpcs)
    return {"devops_guru": [guru or devops_guru(None)], "vpcs": list(vpcs), "default_vpc": has_default}


def by_status(findings):
    return sorted((f.status.value, f.message) for f in findings)


def test_pass_with_available_interface_endpoint_and_private_dns(judge):
    finding = only(judge(devopsguru_privatelink_endpoint, member(vpc(endpoint()))))
    assert finding.status is Status.PASS
    assert finding.resource_id.startswith("vpc-")
    assert finding.resource_arn == f"arn:aws:ec2:{REGION}:{MEMBER}:vpc/{finding.resource_id}"
    assert finding.evidence["service_name"] == f"com.amazonaws.{REGION}.devops-guru"


@pytest.mark.parametrize(
    "spec,reason",
    [
        (None, "has no interface endpoint for com.amazonaws.us-east-1.devops-guru"),
        (endpoint(private_dns=False), "private DNS is not enabled"),
        (endpoint(state="pending"), "state pending, not available"),
        (endpoint(state="rejected"), "state rejected, not available"),
        ({"service": "devops-guru", "type": "Gateway"}, "type Gateway, not Interface"),
        ({"service": "com.amazonaws.us-east-1.kms"}, "has no interface endpoint for com.amazonaws.us-east-1.devops-guru"),
        ({"service": "com.amazonaws.eu-west-1.devops-guru"}, "has no interface endpoint for com.amazonaws.us-east-1.devops-guru"),
    ],
    ids=["none", "no-private-dns", "pending", "rejected", "gateway", "other-service", "other-region-service"],
)
def test_fail_without_a_usable_endpoint(judge, spec, reason):
    finding = only(judge(devopsguru_privatelink_endpoint, member(vpc(*([spec] if spec else [])))))
    assert finding.status is Status.FAIL
    assert reason in finding.message


def test_default_scope_is_every_vpc_with_a_subnet(judge):
    findings = judge(devopsguru_privatelink_endpoint, member(vpc(endpoint()), vpc(subnets=[], cidr="10.1.0.0/16"), vpc(default=True)))
    assert [f.status for f in findings].count(Status.PASS) == 1
    failing = [f for f in findings if f.status is Status.FAIL]
    assert len(failing) == 1 and failing[0].evidence["is_default_vpc"] is True


def test_scope_options(judge):
    vpcs = member(
        vpc(endpoint(), tags={"Environment": "prod"}),
        vpc(subnets=[], cidr="10.1.0.0/16", tags={"Environment": "prod"}),
        vpc(default=True),
        vpc(cidr="10.2.0.0/16", subnets=["10.2.1.0/24"], tags={"Environment": "dev"}),
    )
    everything = judge(devopsguru_privatelink_endpoint, vpcs, options={"vpcs": "all"})
    assert sorted(f.status.value for f in everything) == ["FAIL", "FAIL", "FAIL", "PASS"]
    no_default = judge(devopsguru_privatelink_endpoint, vpcs, options={"skip_default_vpcs": True})
    assert sorted(f.status.value for f in no_default) == ["FAIL", "PASS"]
    prod = judge(devopsguru_privatelink_endpoint, vpcs, options={"vpcs": "all", "vpc_tags": {"Environment": ["prod"]}})
    assert sorted(f.status.value for f in prod) == ["FAIL", "PASS"]
    nothing = only(judge(devopsguru_privatelink_endpoint, vpcs, options={"vpc_tags": {"Environment": "qa"}}))
    assert nothing.status is Status.NOT_APPLICABLE and nothing.message == "no VPC in scope in this region"


@pytest.mark.parametrize(
    "options,message",
    [
        ({"vpcs": "some"}, "vpcs: expected one of with-subnets, all"),
        ({"skip_default_vpc": True}, "unknown option 'skip_default_vpc'"),
        ({"skip_default_vpcs": "yes"}, "skip_default_vpcs: expected true or false"),
        ({"vpc_tags": ["Environment"]}, "vpc_tags: expected a table"),
    ],
)
def test_bad_options_are_error_naming_the_setting(judge, options, message):
    finding = only(judge(devopsguru_privatelink_endpoint, member(vpc(endpoint())), options=options))
    assert finding.status is Status.ERROR
    assert "[checks.devopsguru_privatelink_endpoint]" in finding.message and message in finding.message


def test_not_applicable_where_devops_guru_is_not_in_use(judge):
    finding = only(judge(devopsguru_privatelink_endpoint, member(vpc(), guru=devops_guru(None, stacks=[]))))
    assert finding.status is Status.NOT_APPLICABLE
    assert "not in use" in finding.message


def test_access_denied_is_error_naming_the_action(judge):
    finding = only(judge(devopsguru_privatelink_endpoint, member(vpc(endpoint())), faults=Faults(deny_actions={MEMBER: ["ec2:DescribeVpcEndpoints"]})))
    assert finding.status is Status.ERROR
    assert "ec2:DescribeVpcEndpoints" in finding.message
