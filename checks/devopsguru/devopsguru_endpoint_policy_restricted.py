"""DevOps Guru interface endpoints carry a policy that limits who may use them."""
from __future__ import annotations

from collections.abc import Mapping

from checks.devopsguru.gather import (
    DESCRIBE_VPC_ENDPOINTS,
    GET_RESOURCE_COLLECTION,
    devops_guru_endpoints,
    devops_guru_usage,
    integration_error,
    not_in_use_finding,
)
from checks.policy import Policy, PolicyError, parse_policy
from checks.request_kinds import Access, OutsideCaller, allowed_accesses, outside_callers, outside_endpoint_request
from scanner.errors import AwsError, MalformedResponse
from scanner.findings import judge_apart
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

_GONE_STATES = ("deleted", "deleting")

METADATA = CheckMetadata(
    id="devopsguru_endpoint_policy_restricted",
    title="DevOps Guru VPC endpoint policies allow only your organization's or account's principals",
    severity=Severity.MEDIUM,
    service="devops-guru",
    resource_type="AWS::EC2::VPCEndpoint",
    scope=Scope.REGIONAL,
    rationale=(
        "Without a policy, or with the default full-access one, an interface endpoint lets any principal, including "
        "credentials from other accounts brought into the VPC, use DevOps Guru through it. A policy that limits \"*\" with "
        "aws:PrincipalOrgID, aws:PrincipalAccount or aws:PrincipalArn keeps the private path for your own principals."
    ),
    remediation=Remediation(
        text=(
            "Attach an endpoint policy whose statements either name principals or carry a StringEquals condition on "
            "aws:PrincipalOrgID, aws:PrincipalAccount or aws:PrincipalArn with fixed values."
        ),
        cli=(
            "aws ec2 modify-vpc-endpoint --region <region> --vpc-endpoint-id <vpce-id> --policy-document "
            "'{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"devops-guru:*\", "
            "\"Resource\": \"*\", \"Condition\": {\"StringEquals\": {\"aws:PrincipalOrgID\": \"<o-organization-id>\"}}}]}'"
        ),
        url="https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html",
    ),
    iam_actions=(GET_RESOURCE_COLLECTION, DESCRIBE_VPC_ENDPOINTS),
    references=(
        "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html",
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/vpc-interface-endpoints.html",
    ),
)


#: DevOps Guru operations an outside caller is asked about (plus every action the policy names).
DEVOPS_GURU_ACTIONS = (
    "devops-guru:DescribeServiceIntegration",
    "devops-guru:UpdateServiceIntegration",
    "devops-guru:ListInsights",
    "devops-guru:DescribeInsight",
    "devops-guru:ListAnomaliesForInsight",
    "devops-guru:DescribeAnomaly",
    "devops-guru:GetResourceCollection",
    "devops-guru:UpdateResourceCollection",
    "devops-guru:SearchInsights",
    "devops-guru:ListRecommendations",
    "devops-guru:ListNotificationChannels",
    "devops-guru:AddNotificationChannel",
    "devops-guru:RemoveNotificationChannel",
    "devops-guru:DescribeAccountHealth",
    "devops-guru:GetCostEstimation",
    "devops-guru:ListEvents",
)


def endpoint_public_accesses(policy: Policy, endpoint_id: str, vpc_id: str | None, account_id: str, region: str, partition: str) -> list[Access]:
    """What an unrelated or anonymous caller may do through the endpoint (empty: the policy limits the caller).

    Every request through the endpoint carries aws:SourceVpce (and aws:SourceVpc),
    so those keys limit nothing here; the caller picks the resource it calls.
    """
    strangers = [c for c in outside_callers(policy, account_id, partition, None, include_anonymous=True) if c.public]

    def requests(action: str, outside: OutsideCaller):
        yield "through the endpoint", outside_endpoint_request(action, outside, endpoint_id, vpc_id, region)

    return allowed_accesses(policy, strangers, DEVOPS_GURU_ACTIONS, requests)


def is_default_full_access(policy: Policy) -> bool:
    """The policy AWS attaches when none is given: Allow * to * on * with no condition."""
    if len(policy.statements) != 1:
        return False
    statement = policy.statements[0]
    return (
        statement.is_allow
        and statement.principal is not None
        and statement.principal.has_wildcard
        and statement.actions == ("*",)
        and statement.resources in (("*",), None)
        and not statement.conditions
    )


@check(METADATA)
def devopsguru_endpoint_policy_restricted(ctx):
    try:
        usage = devops_guru_usage(ctx)
        if not usage.in_use:
            yield not_in_use_finding(usage)
            return
        endpoints = devops_guru_endpoints(ctx)
    except (MalformedResponse, AwsError) as error:
        yield integration_error(str(error))
        return
    live = [e for e in endpoints if str(e.get("State", "")).lower() not in _GONE_STATES]
    if not live:
        yield Finding(
            Status.NOT_APPLICABLE,
            resource_id=f"vpc-endpoints/{ctx.region}",
            resource_type="AWS::EC2::VPCEndpoint",
            message="no DevOps Guru VPC endpoint in this region (devopsguru_privatelink_endpoint reports the VPCs)",
        )
        return
    for position, endpoint in enumerate(live):
        named = endpoint.get("VpcEndpointId") if isinstance(endpoint, Mapping) else None
        shown = named if isinstance(named, str) and named else f"VpcEndpoints[{position}]"
        # One endpoint whose policy cannot be judged is an ERROR for that endpoint; the others are still judged.
        yield from judge_apart(shown, lambda: list(_judge_endpoints(ctx, [endpoint])), resource_type="AWS::EC2::VPCEndpoint")


def _judge_endpoints(ctx, endpoints):
    """The verdict for each endpoint of ``endpoints`` (the check hands it one endpoint at a time)."""
    for endpoint in endpoints:
        endpoint_id = endpoint["VpcEndpointId"]
        arn = ctx.arn("ec2", f"vpc-endpoint/{endpoint_id}")
        evidence = {"vpc_id": endpoint["VpcId"], "state": endpoint.get("State")}
        document = endpoint.get("PolicyDocument")
        if document in (None, ""):
            yield Finding(Status.FAIL, resource_id=endpoint_id, resource_arn=arn, message="endpoint has no policy: full access to every principal", evidence={**evidence, "PolicyDocument": None})
            continue
        try:
            policy = parse_policy(document)
        except PolicyError as error:
            yield Finding(Status.ERROR, resource_id=endpoint_id, resource_arn=arn, message=f"endpoint policy cannot be judged: {error}", evidence=evidence)
            continue
        if is_default_full_access(policy):
            yield Finding(
                Status.FAIL,
                resource_id=endpoint_id,
                resource_arn=arn,
                message="endpoint policy is the default full access (Allow * to every principal)",
                evidence={**evidence, "statements": [s.evidence() for s in policy.statements]},
            )
            continue
        vpc_id = endpoint.get("VpcId") if isinstance(endpoint.get("VpcId"), str) else None
        try:
            accesses = endpoint_public_accesses(policy, endpoint_id, vpc_id, ctx.account_id, ctx.region, ctx.partition)
        except PolicyError as error:
            yield Finding(Status.ERROR, resource_id=endpoint_id, resource_arn=arn, message=f"endpoint policy cannot be judged: {error}", evidence=evidence)
            continue
        if accesses:
            statements = {s.index: s for a in accesses for s in a.statements}
            callers = sorted({a.who.description for a in accesses})
            yield Finding(
                Status.FAIL,
                resource_id=endpoint_id,
                resource_arn=arn,
                message=(
                    "endpoint policy lets callers outside your organization and account use DevOps Guru through it "
                    f"({'; '.join(callers[:3])}): " + ", ".join(s.label for s in statements.values())
                ),
                evidence={
                    **evidence,
                    "public_statements": [s.evidence() for s in statements.values()],
                    "public_requests": [a.evidence() for a in accesses[:20]],
                    "public_request_count": len(accesses),
                },
            )
            continue
        yield Finding(
            Status.PASS,
            resource_id=endpoint_id,
            resource_arn=arn,
            message="endpoint policy limits who may use DevOps Guru through it",
            evidence={**evidence, "statements_read": len(policy.statements)},
        )
