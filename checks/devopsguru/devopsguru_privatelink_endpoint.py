"""Every VPC in scope reaches DevOps Guru through an interface endpoint (PrivateLink): its own, or a central one (hub and spoke).

A VPC passes with an available interface endpoint of its own that has private
DNS, or when DevOps Guru's endpoint name resolves to a central endpoint for it:
a private hosted zone named exactly ``devops-guru.<region>.amazonaws.com``
associated with the VPC (``route53:ListHostedZonesByVPC`` lists zones of other
accounts too), or a Route 53 Resolver forwarding rule for exactly that name
associated with the VPC (``route53resolver:ListResolverRuleAssociations``,
``GetResolverRule``). Route 53 is read only for VPCs without an endpoint of
their own, so a denied Route 53 read never hides their verdict.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from checks.devopsguru.gather import (
    DESCRIBE_VPC_ENDPOINTS,
    GET_RESOURCE_COLLECTION,
    devops_guru_endpoints,
    devops_guru_service_name,
    devops_guru_usage,
    integration_error,
    not_in_use_finding,
)
from scanner.errors import AwsError, MalformedResponse
from scanner.findings import error_kind, judge_apart, one_line
from scanner.logsetup import redact
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check
from scanner.options import option_values

METADATA = CheckMetadata(
    id="devopsguru_privatelink_endpoint",
    title="VPCs reach DevOps Guru through an interface VPC endpoint (PrivateLink)",
    # LOW: AWS's DevOps Guru guidance calls PrivateLink "not required, though recommended" (docs/checks/devopsguru.md).
    severity=Severity.LOW,
    service="devops-guru",
    resource_type="AWS::EC2::VPC",
    scope=Scope.REGIONAL,
    rationale=(
        "AWS's guidance for DevOps Guru recommends reaching it through an interface VPC endpoint, so that calls from "
        "workloads stay on the AWS network and endpoint policies can limit who uses the service. Private DNS makes the "
        "standard endpoint name resolve to the endpoint, so SDKs use it without configuration. A central endpoint shared "
        "through a private hosted zone or a Resolver forwarding rule (hub and spoke) serves the same purpose. AWS calls "
        "PrivateLink for DevOps Guru not required, though recommended, hence the low severity."
    ),
    remediation=Remediation(
        text=(
            "Create an interface endpoint for com.amazonaws.<region>.devops-guru in the VPC, in the subnets of your workloads, "
            "with private DNS enabled and a security group that allows HTTPS from them. Which VPCs are judged is set in the "
            "config file: [checks.devopsguru_privatelink_endpoint] vpcs = \"with-subnets\" | \"all\", skip_default_vpcs = true, "
            "vpc_tags = {Environment = \"prod\"}. Or, hub and spoke: associate the VPC with the private hosted zone "
            "devops-guru.<region>.amazonaws.com that points at the central endpoint (the zone's account first runs "
            "aws route53 create-vpc-association-authorization), or with a Resolver forwarding rule for that name "
            "(aws route53resolver associate-resolver-rule)."
        ),
        cli=(
            "aws ec2 create-vpc-endpoint --region <region> --vpc-endpoint-type Interface --vpc-id <vpc-id> "
            "--service-name com.amazonaws.<region>.devops-guru --subnet-ids <subnet-id> --security-group-ids <sg-id> "
            "--private-dns-enabled"
        ),
        url="https://docs.aws.amazon.com/devops-guru/latest/userguide/vpc-interface-endpoints.html",
    ),
    iam_actions=(
        GET_RESOURCE_COLLECTION, "ec2:DescribeVpcs", "ec2:DescribeSubnets", DESCRIBE_VPC_ENDPOINTS,
        "route53:ListHostedZonesByVPC", "route53resolver:ListResolverRuleAssociations", "route53resolver:GetResolverRule",
    ),
    option_schemas={
        # Which VPCs are judged (docs/checks/devopsguru.md): every VPC with a subnet, or every VPC.
        "vpcs": {"enum": ["with-subnets", "all"], "default": "with-subnets"},
        "skip_default_vpcs": {"type": "boolean", "default": False},
        # Only VPCs with these tags: key = value, or a list of values ("*": any value).
        "vpc_tags": {"type": "object", "minProperties": 1,
                     "additionalProperties": {"anyOf": [{"type": "string"},
                                                        {"type": "array", "items": {"type": "string"}, "minItems": 1}]}},
    },
    references=(
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/vpc-interface-endpoints.html",
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
        "https://docs.aws.amazon.com/whitepapers/latest/building-scalable-secure-multi-vpc-network-infrastructure/centralized-access-to-vpc-private-endpoints.html",
        "https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListHostedZonesByVPC.html",
        "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-overview-forward-vpc-to-network-domain-name-matches.html",
    ),
)


@dataclass(frozen=True)
class VpcScope:
    """Which VPCs are judged: default every VPC that has a subnet."""

    vpcs: str = "with-subnets"
    skip_default_vpcs: bool = False
    vpc_tags: Mapping[str, tuple[str, ...]] | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> "VpcScope":
        """The scope the check's options ask for (validated against its schema when the scan was planned)."""
        values = option_values(METADATA, options)
        tags = values.get("vpc_tags")
        normalised = None
        if tags is not None:
            normalised = {str(key): tuple(value if isinstance(value, list) else [value]) for key, value in tags.items()}
        return cls(values["vpcs"], values["skip_default_vpcs"], normalised)

    def includes(self, vpc: Mapping[str, Any], has_subnet: bool) -> bool:
        if self.vpcs == "with-subnets" and not has_subnet:
            return False
        if self.skip_default_vpcs and vpc.get("IsDefault") is True:
            return False
        if self.vpc_tags:
            tags = {t.get("Key"): t.get("Value") for t in vpc.get("Tags") or [] if isinstance(t, Mapping)}
            for key, values in self.vpc_tags.items():
                if key not in tags or ("*" not in values and tags[key] not in values):
                    return False
        return True

    def describe(self) -> dict[str, Any]:
        return {"vpcs": self.vpcs, "skip_default_vpcs": self.skip_default_vpcs, "vpc_tags": {k: list(v) for k, v in (self.vpc_tags or {}).items()}}


def endpoint_shortcomings(endpoint: Mapping[str, Any]) -> list[str]:
    """Why an endpoint does not give its VPC private access to DevOps Guru (empty: it does)."""
    problems = []
    if endpoint.get("VpcEndpointType") != "Interface":
        problems.append(f"type {endpoint.get('VpcEndpointType')}, not Interface")
    state = endpoint.get("State")
    if not isinstance(state, str) or state.lower() != "available":
        problems.append(f"state {state}, not available")
    if endpoint.get("PrivateDnsEnabled") is not True:
        problems.append("private DNS is not enabled")
    return problems


#: ListHostedZonesByVPC pages read at most per VPC: a hostile NextToken that never ends cannot keep the scan here.
_MAX_ZONE_PAGES = 50
#: Names and rules listed in a FAIL's evidence at most.
_EVIDENCE_LIMIT = 20


def devops_guru_endpoint_name(region: str) -> str:
    """DevOps Guru's regional API host name, the name a central endpoint must answer for (``devops-guru.<region>.amazonaws.com``)."""
    return f"devops-guru.{region}.amazonaws.com"


def dns_name(value: str) -> str:
    """``value`` as Route 53 and Resolver compare names: lower case, without the final dot."""
    return value.lower()[:-1] if value.endswith(".") else value.lower()


@dataclass(frozen=True)
class CentralRoute:
    """What makes DevOps Guru's endpoint name resolve to a central endpoint for a VPC: a zone or a forwarding rule."""

    kind: str  # "private_hosted_zone" | "resolver_rule"
    evidence: Mapping[str, Any]

    def describe(self) -> str:
        if self.kind == "private_hosted_zone":
            owner = self.evidence.get("owning_account") or self.evidence.get("owning_service")
            return f"private hosted zone {self.evidence['id']} ({self.evidence['name']}, owner {owner})"
        return (f"Resolver forwarding rule {self.evidence['id']} ({self.evidence['domain_name']} to "
                f"{', '.join(self.evidence['target_ips']) or 'its resolver endpoint'}, owner {self.evidence.get('owner_id')})")


def zones_of_vpc(ctx, vpc_id: str) -> list[Mapping[str, Any]]:
    """Every private hosted zone associated with the VPC, any owner (ListHostedZonesByVPC, every page): id, name, owner."""
    zones: list[Mapping[str, Any]] = []
    token = None
    for _ in range(_MAX_ZONE_PAGES):
        params: dict[str, Any] = {"VPCId": vpc_id, "VPCRegion": ctx.region}
        if token:
            params["NextToken"] = token
        page = ctx.aws.call("route53", "list_hosted_zones_by_vpc", **params)
        summaries = page.get("HostedZoneSummaries", []) if isinstance(page, Mapping) else None
        if not isinstance(summaries, list):
            raise MalformedResponse("ListHostedZonesByVPC: HostedZoneSummaries is not a list")
        for summary in summaries:
            owner = summary.get("Owner") if isinstance(summary, Mapping) else None
            if not isinstance(summary, Mapping) or not isinstance(summary.get("HostedZoneId"), str) \
                    or not isinstance(summary.get("Name"), str) or not isinstance(owner, Mapping):
                raise MalformedResponse("ListHostedZonesByVPC: a hosted zone has no HostedZoneId, Name or Owner")
            zones.append({
                "id": summary["HostedZoneId"],
                "name": summary["Name"],
                "owning_account": owner.get("OwningAccount") if isinstance(owner.get("OwningAccount"), str) else None,
                "owning_service": owner.get("OwningService") if isinstance(owner.get("OwningService"), str) else None,
            })
        token = page.get("NextToken")
        if not token:
            return zones
        if not isinstance(token, str):
            raise MalformedResponse("ListHostedZonesByVPC: NextToken is not a string")
    raise MalformedResponse(f"ListHostedZonesByVPC: more than {_MAX_ZONE_PAGES} pages of hosted zones for one VPC")


def rule_associations(ctx) -> list[Mapping[str, Any]]:
    """Every Resolver rule association this account made in the region (ListResolverRuleAssociations, every page)."""
    associations = ctx.aws.collect("route53resolver", "list_resolver_rule_associations", "ResolverRuleAssociations")
    for association in associations:
        if not isinstance(association, Mapping) or not isinstance(association.get("ResolverRuleId"), str) \
                or not isinstance(association.get("VPCId"), str):
            raise MalformedResponse("ListResolverRuleAssociations: an association has no ResolverRuleId or VPCId")
    return associations


def resolver_rule(ctx, rule_id: str) -> Mapping[str, Any]:
    """The Resolver rule (GetResolverRule): this account's or one shared with it."""
    rule = ctx.aws.call("route53resolver", "get_resolver_rule", ResolverRuleId=rule_id).get("ResolverRule")
    if not isinstance(rule, Mapping):
        raise MalformedResponse(f"GetResolverRule({rule_id!r:.60}): ResolverRule is not an object")
    return rule


def forwarding_rule_evidence(rule: Mapping[str, Any], wanted: str) -> dict[str, Any] | None:
    """The rule's evidence when it forwards exactly ``wanted`` (a COMPLETE FORWARD rule with targets), else ``None``."""
    domain = rule.get("DomainName")
    if not isinstance(domain, str) or dns_name(domain) != wanted:
        return None
    if rule.get("RuleType") != "FORWARD" or rule.get("Status") != "COMPLETE":
        return None
    targets = rule.get("TargetIps") or []
    if not isinstance(targets, list):
        raise MalformedResponse("GetResolverRule: TargetIps is not a list")
    addresses = []
    for target in targets:
        if not isinstance(target, Mapping):
            raise MalformedResponse("GetResolverRule: a target is not an object")
        address = target.get("Ip") or target.get("Ipv6")
        if isinstance(address, str):
            port = target.get("Port")
            addresses.append(f"{address}:{port}" if isinstance(port, int) and not isinstance(port, bool) else address)
    if not addresses and not isinstance(rule.get("ResolverEndpointId"), str):
        return None  # forwards nowhere
    return {
        "domain_name": domain,
        "target_ips": addresses,
        "resolver_endpoint_id": rule.get("ResolverEndpointId") if isinstance(rule.get("ResolverEndpointId"), str) else None,
        "owner_id": rule.get("OwnerId") if isinstance(rule.get("OwnerId"), str) else None,
        "share_status": rule.get("ShareStatus") if isinstance(rule.get("ShareStatus"), str) else None,
    }


def _text(value: Any) -> str:
    """``value`` when AWS sent a string, else a placeholder: a hostile number is never formatted (Python limits int digits)."""
    return value if isinstance(value, str) else "?"


def _unreadable(error: AwsError) -> str:
    return one_line(redact(str(error)))


def central_routes(ctx, vpc_id: str, wanted: str) -> tuple[list[CentralRoute], dict[str, Any], list[AwsError]]:
    """How the VPC resolves ``wanted`` to a central endpoint: the routes found, what was seen, and what could not be read.

    The private hosted zones come first; Resolver rules are read only when no zone answers for the name.
    An AWS error (access denied, throttling) is kept and reading goes on: another source may still prove the route.
    """
    seen: dict[str, Any] = {}
    failures: list[AwsError] = []
    try:
        zones = zones_of_vpc(ctx, vpc_id)
    except AwsError as error:
        failures.append(error)
    else:
        seen["private_hosted_zones"] = [zone["name"] for zone in zones[:_EVIDENCE_LIMIT]]
        matching = [CentralRoute("private_hosted_zone", zone) for zone in zones if dns_name(zone["name"]) == wanted]
        if matching:
            return matching, seen, failures
    try:
        associations = [a for a in rule_associations(ctx) if a["VPCId"] == vpc_id]
    except AwsError as error:
        failures.append(error)
        return [], seen, failures
    routes: list[CentralRoute] = []
    rules_seen = []
    for association in associations:
        if association.get("Status") != "COMPLETE":
            rules_seen.append(f"{association['ResolverRuleId']} (association {_text(association.get('Status'))})")
            continue
        try:
            rule = resolver_rule(ctx, association["ResolverRuleId"])
        except AwsError as error:
            failures.append(error)
            continue
        evidence = forwarding_rule_evidence(rule, wanted)
        if evidence is not None:
            routes.append(CentralRoute("resolver_rule", {"id": association["ResolverRuleId"], **evidence}))
        rules_seen.append(f"{association['ResolverRuleId']} ({_text(rule.get('RuleType'))} {_text(rule.get('DomainName'))})")
    seen["resolver_rules"] = rules_seen[:_EVIDENCE_LIMIT]
    return routes, seen, failures


def judge_vpc(ctx, vpc: Mapping[str, Any], vpc_id: str, endpoints: list[Mapping[str, Any]], scope: VpcScope) -> Finding:
    """The VPC's verdict: PASS through its own endpoint or a central one, ERROR when that could not be read, else FAIL."""
    arn = ctx.arn("ec2", f"vpc/{vpc_id}")
    service = devops_guru_service_name(ctx.region)
    reviewed = {e["VpcEndpointId"]: endpoint_shortcomings(e) for e in endpoints if e.get("VpcId") == vpc_id}
    good = [endpoint_id for endpoint_id, problems in reviewed.items() if not problems]
    evidence: dict[str, Any] = {
        "service_name": service,
        "is_default_vpc": vpc.get("IsDefault") is True,
        "endpoints": {endpoint_id: (problems or ["ok"]) for endpoint_id, problems in reviewed.items()},
        "scope": scope.describe(),
    }

    def finding(status: Status, message: str) -> Finding:
        return Finding(status, resource_id=vpc_id, resource_arn=arn, resource_type="AWS::EC2::VPC", message=message, evidence=evidence)

    if good:
        return finding(Status.PASS, f"VPC reaches DevOps Guru through interface endpoint {', '.join(good)} (available, private DNS)")
    wanted = devops_guru_endpoint_name(ctx.region)
    evidence["endpoint_name"] = wanted
    routes, seen, failures = central_routes(ctx, vpc_id, wanted)
    evidence.update(seen)
    if routes:
        evidence["central_endpoint"] = [{"kind": route.kind, **route.evidence} for route in routes]
        return finding(Status.PASS, f"VPC resolves {wanted} to a central endpoint through {'; '.join(r.describe() for r in routes)}")
    if reviewed:
        detail = "; ".join(f"{endpoint_id}: {', '.join(problems)}" for endpoint_id, problems in reviewed.items())
        reason = f"no usable DevOps Guru interface endpoint in the VPC ({detail})"
    else:
        reason = f"VPC has no interface endpoint for {service}"
    if failures:
        evidence["unreadable"] = [_unreadable(error) for error in failures]
        evidence.update(error_kind=error_kind(failures[0]), action=failures[0].action, error_code=failures[0].code)
        return finding(Status.ERROR, f"{reason}, and whether {wanted} resolves to a central endpoint could not be read: "
                                     f"{'; '.join(evidence['unreadable'])}")
    return finding(Status.FAIL, f"{reason}, and no private hosted zone or Resolver forwarding rule for {wanted} is associated with it")


@check(METADATA)
def devopsguru_privatelink_endpoint(ctx):
    scope = VpcScope.from_options(ctx.options)
    try:
        usage = devops_guru_usage(ctx)
        if not usage.in_use:
            yield not_in_use_finding(usage)
            return
        endpoints = devops_guru_endpoints(ctx)
        vpcs = ctx.aws.collect("ec2", "describe_vpcs", "Vpcs")
        subnets = ctx.aws.collect("ec2", "describe_subnets", "Subnets") if scope.vpcs == "with-subnets" else []
    except (MalformedResponse, AwsError) as error:
        yield integration_error(str(error))
        return
    vpcs_with_subnets = {s.get("VpcId") for s in subnets if isinstance(s, Mapping)}
    judged = 0
    for vpc in vpcs:
        vpc_id = vpc.get("VpcId") if isinstance(vpc, Mapping) else None
        if not isinstance(vpc_id, str):
            yield integration_error("DescribeVpcs: a VPC has no VpcId")
            continue
        owner = vpc.get("OwnerId")
        if isinstance(owner, str) and owner and owner != ctx.account_id:
            continue  # a VPC shared with this account: its owner's scan judges it, and only the owner can add endpoints
        if not scope.includes(vpc, vpc_id in vpcs_with_subnets):
            continue
        judged += 1
        yield from judge_apart(vpc_id, lambda: judge_vpc(ctx, vpc, vpc_id, endpoints, scope),
                               resource_arn=ctx.arn("ec2", f"vpc/{vpc_id}"), resource_type="AWS::EC2::VPC")
    if not judged:
        yield Finding(
            Status.NOT_APPLICABLE,
            resource_id=f"vpcs/{ctx.region}",
            resource_type="AWS::EC2::VPC",
            message="no VPC in scope in this region",
            evidence={"scope": scope.describe(), "vpcs_seen": len(vpcs)},
        )
