"""devopsguru_privatelink_endpoint against the simulated organization."""
import pytest

from checks.devopsguru.devopsguru_privatelink_endpoint import devopsguru_privatelink_endpoint
from devopsguru_scenarios import MEMBER, OTHER, REGION, devops_guru, only
from scanner.errors import UsageError
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
        ({"skip_default_vpc": True}, "skip_default_vpc: unknown option; did you mean 'skip_default_vpcs'?"),
        ({"skip_default_vpcs": "yes"}, "skip_default_vpcs: expected true or false"),
        ({"vpc_tags": ["Environment"]}, "vpc_tags: expected a non-empty table of key = a string or a non-empty list of strings"),
        ({"vpc_tags": {"Environment": [1]}}, "vpc_tags.Environment: expected a string or a non-empty list of strings"),
        ({"vpc_tags": {}}, "vpc_tags: expected a non-empty table"),
    ],
)
def test_bad_options_are_refused_as_the_scan_plans_them(judge, options, message):
    with pytest.raises(UsageError) as refused:
        judge(devopsguru_privatelink_endpoint, member(vpc(endpoint())), options=options)
    assert str(refused.value).startswith("[checks.devopsguru_privatelink_endpoint] ") and message in str(refused.value)


def test_not_applicable_where_devops_guru_is_not_in_use(judge):
    finding = only(judge(devopsguru_privatelink_endpoint, member(vpc(), guru=devops_guru(None, stacks=[]))))
    assert finding.status is Status.NOT_APPLICABLE
    assert "not in use" in finding.message


def test_access_denied_is_error_naming_the_action(judge):
    finding = only(judge(devopsguru_privatelink_endpoint, member(vpc(endpoint())), faults=Faults(deny_actions={MEMBER: ["ec2:DescribeVpcEndpoints"]})))
    assert finding.status is Status.ERROR
    assert "ec2:DescribeVpcEndpoints" in finding.message


# -- hub and spoke ---------------------------------------------------------------------------------
#
# Ground truth:
# [whitepaper] "Building a Scalable and Secure Multi-VPC AWS Network Infrastructure", Centralized access to VPC
#   private endpoints: with private DNS off on the central endpoint, a private hosted zone named with "the full AWS
#   service endpoint name" and an alias to the endpoint is associated with the spoke VPCs, which then resolve the
#   service name to the central endpoint.
#   https://docs.aws.amazon.com/whitepapers/latest/building-scalable-secure-multi-vpc-network-infrastructure/centralized-access-to-vpc-private-endpoints.html
# [ListHostedZonesByVPC] lists "all the private hosted zones that a specified VPC is associated with, regardless of
#   which Amazon Web Services account ... owns the hosted zones", owner in Owner.OwningAccount.
#   https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListHostedZonesByVPC.html
# [Resolver rules] a rule matches a query for its domain name or a subdomain of it; of several matching rules the most
#   specific domain name wins ("How Resolver determines whether the domain name in a query matches any rules"); FORWARD
#   sends the query to the rule's target IPs, SYSTEM makes Resolver process it itself (botocore's RuleType documentation).
#   https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-overview-forward-vpc-to-network-domain-name-matches.html
# [DevOps Guru endpoints] DevOps Guru's API host is devops-guru.<region>.amazonaws.com.
#   https://docs.aws.amazon.com/general/latest/gr/devops-guru.html
# orgscan's decision (docs/checks/devopsguru.md): only a zone or FORWARD rule named exactly
# devops-guru.<region>.amazonaws.com counts; a parent name's zone would need a record for the service name, which the
# spoke account cannot read in another account's zone, and a parent forwarding rule sends every AWS name elsewhere.

SERVICE_HOST = f"devops-guru.{REGION}.amazonaws.com"
RULE = "devops-guru-hub"


def hub(*zone_names, rules=()):
    """The hub account: a central endpoint without private DNS, zones for ``zone_names``, Resolver rules shared with MEMBER."""
    return {
        "vpcs": [vpc(endpoint(private_dns=False), cidr="10.9.0.0/16", subnets=["10.9.1.0/24"])],
        "hosted_zones": [{"name": name, "region": REGION} for name in zone_names],
        "resolver_rules": [{"name": RULE, "region": REGION, "target_ips": ["10.9.1.10"], "shared_with": [MEMBER], **rule} for rule in rules],
    }


def spoke(**dns):
    return vpc(**dns)


@pytest.mark.parametrize(
    "spoke_vpc,hub_account,own,status,evidence",
    [
        # [whitepaper], [ListHostedZonesByVPC]: the hub's zone for the exact name, associated with the spoke -> PASS
        (spoke(hosted_zones=[{"account": OTHER, "name": SERVICE_HOST}]), hub(SERVICE_HOST), {}, "PASS",
         {"kind": "private_hosted_zone", "owning_account": OTHER}),
        # the same zone owned by the spoke's own account (names end with a dot in Route 53's answers) -> PASS
        (spoke(hosted_zones=[{"name": SERVICE_HOST + "."}]), None, {"hosted_zones": [{"name": SERVICE_HOST}]}, "PASS",
         {"kind": "private_hosted_zone", "owning_account": MEMBER}),
        # [Resolver rules]: a FORWARD rule for the exact name, shared by the hub and associated with the spoke -> PASS
        (spoke(resolver_rules=[{"account": OTHER, "name": RULE}]), hub(rules=[{"domain": SERVICE_HOST}]), {}, "PASS",
         {"kind": "resolver_rule", "owner_id": OTHER, "share_status": "SHARED_WITH_ME", "target_ips": ["10.9.1.10:53"]}),
        # a zone for another service's name resolves nothing for DevOps Guru -> FAIL
        (spoke(hosted_zones=[{"account": OTHER, "name": f"kms.{REGION}.amazonaws.com"}]), hub(f"kms.{REGION}.amazonaws.com"), {}, "FAIL", None),
        # DevOps Guru's name of another region: that region's endpoint, not this one's -> FAIL
        (spoke(hosted_zones=[{"account": OTHER, "name": "devops-guru.eu-west-1.amazonaws.com"}]), hub("devops-guru.eu-west-1.amazonaws.com"), {}, "FAIL", None),
        # a parent zone: whether it holds a record for the name cannot be read from the spoke (orgscan's decision) -> FAIL
        (spoke(hosted_zones=[{"account": OTHER, "name": f"{REGION}.amazonaws.com"}]), hub(f"{REGION}.amazonaws.com"), {}, "FAIL", None),
        # [Resolver rules]: a SYSTEM rule makes Resolver answer the name itself (the public endpoint) -> FAIL
        (spoke(resolver_rules=[{"account": OTHER, "name": RULE}]), hub(rules=[{"domain": SERVICE_HOST, "type": "SYSTEM", "target_ips": []}]), {}, "FAIL", None),
        # a forwarding rule for all of amazonaws.com sends every AWS name away (orgscan's decision) -> FAIL
        (spoke(resolver_rules=[{"account": OTHER, "name": RULE}]), hub(rules=[{"domain": "amazonaws.com"}]), {}, "FAIL", None),
        # a rule for the name that is not associated with the spoke VPC resolves nothing there -> FAIL
        (spoke(), hub(SERVICE_HOST, rules=[{"domain": SERVICE_HOST}]), {}, "FAIL", None),
    ],
    ids=["shared-zone", "own-zone", "shared-forwarding-rule", "unrelated-zone", "other-region-zone", "parent-zone",
         "system-rule", "parent-forwarding-rule", "not-associated"],
)
def test_hub_and_spoke(judge, spoke_vpc, hub_account, own, status, evidence):
    finding = only(judge(devopsguru_privatelink_endpoint, {**member(spoke_vpc), **own}, other=hub_account))
    assert finding.status.value == status, finding.message
    if status == "PASS":
        assert f"VPC resolves {SERVICE_HOST} to a central endpoint" in finding.message
        route = only(finding.evidence["central_endpoint"])
        assert {key: route[key] for key in evidence} == evidence
    else:
        assert finding.message == (f"VPC has no interface endpoint for com.amazonaws.{REGION}.devops-guru, and no private hosted "
                                   f"zone or Resolver forwarding rule for {SERVICE_HOST} is associated with it")


def test_the_hub_vpc_itself_passes_through_its_own_zone(judge):
    # [whitepaper]: the central VPC is associated with the zone too; its endpoint has private DNS off.
    finding = only(judge(devopsguru_privatelink_endpoint, {**hub(SERVICE_HOST), "devops_guru": [devops_guru(None)], "default_vpc": False}))
    assert finding.status is Status.PASS
    assert "private DNS is not enabled" in finding.evidence["endpoints"][next(iter(finding.evidence["endpoints"]))]
    assert finding.evidence["central_endpoint"][0]["owning_account"] == MEMBER


def test_route53_denied_does_not_matter_with_an_own_endpoint(judge):
    faults = Faults(deny_actions={MEMBER: ["route53:ListHostedZonesByVPC", "route53resolver:*"]})
    finding = only(judge(devopsguru_privatelink_endpoint, member(vpc(endpoint())), faults=faults))
    assert finding.status is Status.PASS


def test_route53_denied_is_error_for_that_vpc_only(judge):
    faults = Faults(deny_actions={MEMBER: ["route53:ListHostedZonesByVPC"]})
    findings = judge(devopsguru_privatelink_endpoint, member(vpc(endpoint()), vpc(cidr="10.1.0.0/16", subnets=["10.1.1.0/24"])), faults=faults)
    assert sorted(f.status.value for f in findings) == ["ERROR", "PASS"]
    error = next(f for f in findings if f.status is Status.ERROR)
    assert error.resource_id.startswith("vpc-")
    assert "route53:ListHostedZonesByVPC" in error.message and "VPC has no interface endpoint" in error.message
    assert error.evidence["action"] == "route53:ListHostedZonesByVPC" and error.evidence["error_kind"] == "access_denied"


def test_a_forwarding_rule_passes_even_when_zones_cannot_be_read(judge):
    faults = Faults(deny_actions={MEMBER: ["route53:ListHostedZonesByVPC"]})
    finding = only(judge(devopsguru_privatelink_endpoint, member(spoke(resolver_rules=[{"account": OTHER, "name": RULE}])),
                         other=hub(rules=[{"domain": SERVICE_HOST}]), faults=faults))
    assert finding.status is Status.PASS
    assert finding.evidence["central_endpoint"][0]["kind"] == "resolver_rule"


@pytest.mark.parametrize("denied", ["route53resolver:ListResolverRuleAssociations", "route53resolver:GetResolverRule"])
def test_resolver_denied_is_error_when_no_zone_answers(judge, denied):
    faults = Faults(deny_actions={MEMBER: [denied]})
    finding = only(judge(devopsguru_privatelink_endpoint, member(spoke(resolver_rules=[{"account": OTHER, "name": RULE}])),
                         other=hub(rules=[{"domain": SERVICE_HOST}]), faults=faults))
    assert finding.status is Status.ERROR
    assert denied in finding.message


def test_a_zone_passes_even_when_resolver_rules_cannot_be_read(judge):
    faults = Faults(deny_actions={MEMBER: ["route53resolver:*"]})
    finding = only(judge(devopsguru_privatelink_endpoint, member(spoke(hosted_zones=[{"account": OTHER, "name": SERVICE_HOST}])),
                         other=hub(SERVICE_HOST), faults=faults))
    assert finding.status is Status.PASS
