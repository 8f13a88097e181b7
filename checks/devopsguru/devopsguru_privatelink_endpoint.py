"""Every VPC in scope reaches DevOps Guru through an available interface endpoint with private DNS."""
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
from checks.kms.gather import MalformedResponse
from scanner.errors import AwsError
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

METADATA = CheckMetadata(
    id="devopsguru_privatelink_endpoint",
    title="VPCs reach DevOps Guru through an interface VPC endpoint (PrivateLink)",
    severity=Severity.MEDIUM,
    service="devops-guru",
    resource_type="AWS::EC2::VPC",
    scope=Scope.REGIONAL,
    rationale=(
        "AWS's guidance for DevOps Guru recommends reaching it through an interface VPC endpoint, so that calls from "
        "workloads stay on the AWS network and endpoint policies can limit who uses the service. Private DNS makes the "
        "standard endpoint name resolve to the endpoint, so SDKs use it without configuration."
    ),
    remediation=Remediation(
        text=(
            "Create an interface endpoint for com.amazonaws.<region>.devops-guru in the VPC, in the subnets of your workloads, "
            "with private DNS enabled and a security group that allows HTTPS from them. Which VPCs are judged is set in the "
            "config file: [checks.devopsguru_privatelink_endpoint] vpcs = \"with-subnets\" | \"all\", skip_default_vpcs = true, "
            "vpc_tags = {Environment = \"prod\"}."
        ),
        cli=(
            "aws ec2 create-vpc-endpoint --region <region> --vpc-endpoint-type Interface --vpc-id <vpc-id> "
            "--service-name com.amazonaws.<region>.devops-guru --subnet-ids <subnet-id> --security-group-ids <sg-id> "
            "--private-dns-enabled"
        ),
        url="https://docs.aws.amazon.com/devops-guru/latest/userguide/vpc-interface-endpoints.html",
    ),
    iam_actions=(GET_RESOURCE_COLLECTION, "ec2:DescribeVpcs", "ec2:DescribeSubnets", DESCRIBE_VPC_ENDPOINTS),
    references=(
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/vpc-interface-endpoints.html",
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
    ),
)

_VPC_SCOPES = ("with-subnets", "all")
_OPTION_NAMES = ("vpcs", "skip_default_vpcs", "vpc_tags")


class OptionError(ValueError):
    """A bad ``[checks.devopsguru_privatelink_endpoint]`` setting; the message names it."""


@dataclass(frozen=True)
class VpcScope:
    """Which VPCs are judged: default every VPC that has a subnet."""

    vpcs: str = "with-subnets"
    skip_default_vpcs: bool = False
    vpc_tags: Mapping[str, tuple[str, ...]] | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "VpcScope":
        where = "[checks.devopsguru_privatelink_endpoint]"
        unknown = sorted(set(options) - set(_OPTION_NAMES))
        if unknown:
            raise OptionError(f"{where}: unknown option {unknown[0]!r} (known: {', '.join(_OPTION_NAMES)})")
        vpcs = options.get("vpcs", "with-subnets")
        if vpcs not in _VPC_SCOPES:
            raise OptionError(f"{where} vpcs: expected one of {', '.join(_VPC_SCOPES)}, got {vpcs!r:.40}")
        skip_default = options.get("skip_default_vpcs", False)
        if not isinstance(skip_default, bool):
            raise OptionError(f"{where} skip_default_vpcs: expected true or false")
        tags = options.get("vpc_tags")
        normalised = None
        if tags is not None:
            if not isinstance(tags, Mapping) or not tags:
                raise OptionError(f"{where} vpc_tags: expected a table of tag key = value (or list of values)")
            normalised = {}
            for key, value in tags.items():
                values = value if isinstance(value, list) else [value]
                if not values or not all(isinstance(v, str) for v in values):
                    raise OptionError(f"{where} vpc_tags.{key}: expected a string or a list of strings")
                normalised[str(key)] = tuple(values)
        return cls(vpcs, skip_default, normalised)

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


@check(METADATA)
def devopsguru_privatelink_endpoint(ctx):
    try:
        scope = VpcScope.from_options(ctx.options or {})
    except OptionError as error:
        yield integration_error(str(error))
        return
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
    service = devops_guru_service_name(ctx.region)
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
        arn = ctx.arn("ec2", f"vpc/{vpc_id}")
        in_vpc = [e for e in endpoints if e.get("VpcId") == vpc_id]
        reviewed = {e["VpcEndpointId"]: endpoint_shortcomings(e) for e in in_vpc}
        good = [endpoint_id for endpoint_id, problems in reviewed.items() if not problems]
        evidence = {
            "service_name": service,
            "is_default_vpc": vpc.get("IsDefault") is True,
            "endpoints": {endpoint_id: (problems or ["ok"]) for endpoint_id, problems in reviewed.items()},
            "scope": scope.describe(),
        }
        if good:
            yield Finding(
                Status.PASS,
                resource_id=vpc_id,
                resource_arn=arn,
                resource_type="AWS::EC2::VPC",
                message=f"VPC reaches DevOps Guru through interface endpoint {', '.join(good)} (available, private DNS)",
                evidence=evidence,
            )
        elif reviewed:
            detail = "; ".join(f"{endpoint_id}: {', '.join(problems)}" for endpoint_id, problems in reviewed.items())
            yield Finding(
                Status.FAIL,
                resource_id=vpc_id,
                resource_arn=arn,
                resource_type="AWS::EC2::VPC",
                message=f"no usable DevOps Guru interface endpoint in the VPC ({detail})",
                evidence=evidence,
            )
        else:
            yield Finding(
                Status.FAIL,
                resource_id=vpc_id,
                resource_arn=arn,
                resource_type="AWS::EC2::VPC",
                message=f"VPC has no interface endpoint for {service}",
                evidence=evidence,
            )
    if not judged:
        yield Finding(
            Status.NOT_APPLICABLE,
            resource_id=f"vpcs/{ctx.region}",
            resource_type="AWS::EC2::VPC",
            message="no VPC in scope in this region",
            evidence={"scope": scope.describe(), "vpcs_seen": len(vpcs)},
        )
