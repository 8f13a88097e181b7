"""DevOps Guru's notification topics deny every request made without TLS (aws:SecureTransport false)."""
from __future__ import annotations

from checks.devopsguru.notification_topics import (
    GET_TOPIC_ATTRIBUTES,
    LIST_NOTIFICATION_CHANNELS,
    TOPIC_RESOURCE_TYPE,
    Channel,
    judge_each_topic,
    outside_source_account,
    place_evidence,
    topic_attributes,
)
from checks.policy import Caller, CallerKind, PolicyError, Request, explicit_denies, parse_policy
from checks.request_kinds import CALLER_CHOSEN_KEYS
from scanner.errors import AwsError, MalformedResponse
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

#: The operations a plain-HTTP request could carry an insight through: publishing it, and reading it off as a subscriber.
TLS_ACTIONS = ("sns:Publish", "sns:Subscribe")

METADATA = CheckMetadata(
    id="sns_topic_requires_tls",
    title="DevOps Guru's notification topics deny requests made without TLS",
    severity=Severity.MEDIUM,
    service="sns",
    resource_type=TOPIC_RESOURCE_TYPE,
    scope=Scope.REGIONAL,
    rationale=(
        "The DevOps Guru guidance asks for TLS (1.2 or later) to communicate with AWS resources. SNS accepts plain HTTP "
        "requests unless the topic policy denies them: a Deny on aws:SecureTransport = false makes every caller, whoever "
        "it is, use TLS to publish insights to the topic or subscribe to it."
    ),
    remediation=Remediation(
        text=(
            "Add to the topic policy a statement that denies sns:Publish (and sns:Subscribe) to Principal \"*\" when "
            "aws:SecureTransport is false, as in AWS's SNS security best practices."
        ),
        cli=(
            "aws sns set-topic-attributes --region <region> --topic-arn <topic-arn> --attribute-name Policy "
            "--attribute-value file://topic-policy-with-tls-deny.json"
        ),
        url="https://docs.aws.amazon.com/sns/latest/dg/sns-security-best-practices.html",
    ),
    iam_actions=(LIST_NOTIFICATION_CHANNELS, GET_TOPIC_ATTRIBUTES),
    references=(
        "https://docs.aws.amazon.com/sns/latest/dg/sns-security-best-practices.html",
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-securetransport",
    ),
)


def plain_http_requests(ctx, channel: Channel, action: str) -> list[tuple[str, Request]]:
    """``action`` on the topic without TLS from a role of this account, a role of an unrelated account and DevOps Guru."""
    chosen = tuple(k for k in CALLER_CHOSEN_KEYS if k != "aws:securetransport")
    stranger = outside_source_account(ctx)
    partition = channel.partition
    callers = [
        ("a role of this account", Caller(CallerKind.ROLE_SESSION, account=ctx.account_id, arn=f"arn:{partition}:iam::{ctx.account_id}:role/AnyRole"), {}),
        ("a role of another account", Caller(CallerKind.ROLE_SESSION, account=stranger, arn=f"arn:{partition}:iam::{stranger}:role/AnyRole"), {}),
        (
            "DevOps Guru",
            Caller(CallerKind.SERVICE, account=ctx.account_id, service="devops-guru.amazonaws.com"),
            {"aws:PrincipalIsAWSService": "true", "aws:SourceAccount": ctx.account_id, "aws:SourceArn": channel.source_arn(ctx.region, ctx.account_id)},
        ),
    ]
    requests = []
    for description, caller, extra in callers:
        context: dict[str, object] = {"aws:SecureTransport": "false", "aws:RequestedRegion": channel.region, **extra}
        if caller.kind is not CallerKind.SERVICE:
            context.update({"aws:PrincipalAccount": caller.account, "aws:PrincipalArn": caller.arn, "aws:PrincipalIsAWSService": "false"})
        requests.append((description, Request(action, caller=caller, resource=channel.topic_arn, context=context, caller_chosen_keys=chosen)))
    return requests


def _judge_channel(ctx, channel: Channel) -> Finding:
    arn = channel.topic_arn
    evidence = place_evidence(ctx, channel)
    try:
        attributes = topic_attributes(ctx, channel)
    except (AwsError, MalformedResponse) as error:
        hint = f"; the topic is in account {channel.account_id}: scan that account or let this one read it" if channel.account_id != ctx.account_id else ""
        return Finding(Status.ERROR, resource_id=arn, resource_arn=arn, resource_type=TOPIC_RESOURCE_TYPE,
                       message=f"cannot read the topic: {error}{hint}", evidence=evidence)
    try:
        policy = parse_policy(attributes.get("Policy") or '{"Statement": []}')
    except PolicyError as error:
        return Finding(Status.ERROR, resource_id=arn, resource_arn=arn, resource_type=TOPIC_RESOURCE_TYPE,
                       message=f"the topic policy cannot be judged: {error}", evidence=evidence)
    not_denied, denying = [], set()
    for action in TLS_ACTIONS:
        for description, request in plain_http_requests(ctx, channel, action):
            certain, _ = explicit_denies(policy, request)
            if certain:
                denying.update(s.label for s in certain)
            else:
                not_denied.append(f"{action} by {description}")
    evidence["denied_by"] = sorted(denying)
    evidence["not_denied_without_tls"] = not_denied
    if not_denied:
        return Finding(
            Status.FAIL, resource_id=arn, resource_arn=arn, resource_type=TOPIC_RESOURCE_TYPE,
            message=f"no Deny on aws:SecureTransport = false covers {', '.join(not_denied)}: the topic accepts requests without TLS",
            evidence=evidence,
        )
    return Finding(
        Status.PASS, resource_id=arn, resource_arn=arn, resource_type=TOPIC_RESOURCE_TYPE,
        message=f"requests without TLS are denied ({', '.join(sorted(denying))}); the TLS version clients use cannot be judged from configuration",
        evidence=evidence,
    )


@check(METADATA)
def sns_topic_requires_tls(ctx):
    yield from judge_each_topic(ctx, _judge_channel)
