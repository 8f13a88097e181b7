"""Each SNS topic DevOps Guru sends insights to is encrypted with a customer managed key DevOps Guru may use,
and its topic policy lets DevOps Guru publish only for this account."""
from __future__ import annotations

from typing import Any

from checks.devopsguru.notification_topics import (
    GET_TOPIC_ATTRIBUTES,
    LIST_NOTIFICATION_CHANNELS,
    TOPIC_RESOURCE_TYPE,
    Channel,
    devops_guru_publishing_request,
    judge_each_topic,
    outside_source_account,
    place_evidence,
    topic_attributes,
)
from checks.kms.gather import DESCRIBE_KEY, GET_KEY_POLICY, describe_key
from checks.kms_aliases import AWS_MANAGED_ALIAS_PREFIX
from checks.policy import PolicyError, Verdict, evaluate, parse_policy
from scanner.errors import AwsError, MalformedResponse
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

#: What DevOps Guru (through SNS) asks of the topic's key to publish an encrypted message.
KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
PUBLISH = "sns:Publish"

METADATA = CheckMetadata(
    id="devopsguru_notification_topic_encrypted",
    title="DevOps Guru's notification topics are encrypted with a customer managed key and accept only this account's insights",
    severity=Severity.MEDIUM,
    service="devops-guru",
    resource_type=TOPIC_RESOURCE_TYPE,
    scope=Scope.REGIONAL,
    rationale=(
        "Insights describe your resources, their anomalies and their metrics: they are data DevOps Guru produces and sends "
        "to SNS. A customer managed key lets you control and audit who reads them at rest (the AWS managed key alias/aws/sns "
        "cannot be given to DevOps Guru, whose service principal must be allowed in the key policy), and a topic policy "
        "conditioned on aws:SourceAccount/aws:SourceArn stops DevOps Guru acting for another account from publishing into it."
    ),
    remediation=Remediation(
        text=(
            "Encrypt the topic with a symmetric customer managed key whose key policy allows the service principal "
            "devops-guru.amazonaws.com kms:GenerateDataKey* and kms:Decrypt, and give the topic a policy that allows "
            "devops-guru.amazonaws.com sns:Publish only with aws:SourceAccount = this account (and aws:SourceArn = the "
            "notification channel)."
        ),
        cli=(
            "aws sns set-topic-attributes --region <region> --topic-arn <topic-arn> --attribute-name KmsMasterKeyId "
            "--attribute-value <key-arn> && aws sns set-topic-attributes --region <region> --topic-arn <topic-arn> "
            "--attribute-name Policy --attribute-value file://topic-policy.json"
        ),
        url="https://docs.aws.amazon.com/devops-guru/latest/userguide/sns-required-permissions.html",
    ),
    iam_actions=(LIST_NOTIFICATION_CHANNELS, GET_TOPIC_ATTRIBUTES, DESCRIBE_KEY, GET_KEY_POLICY),
    references=(
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/sns-required-permissions.html",
        "https://docs.aws.amazon.com/devops-guru/latest/APIReference/API_SnsChannelConfig.html",
        "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html",
    ),
)


def _key_ref_for(channel: Channel, key_id: str) -> str:
    """The KmsMasterKeyId as something DescribeKey resolves in the topic's account: ids and alias names made ARNs."""
    if key_id.startswith("arn:"):
        return key_id
    resource = key_id if key_id.startswith("alias/") else f"key/{key_id}"
    return f"arn:{channel.partition}:kms:{channel.region}:{channel.account_id}:{resource}"


def _decision_text(action: str, verdict: Verdict, statements) -> str:
    labels = ", ".join(s.label for s in statements)
    if verdict is Verdict.EXPLICIT_DENY:
        return f"{action} is denied by {labels}"
    if verdict is Verdict.UNKNOWN:
        return f"{action} depends on values orgscan cannot know ({labels})"
    return f"no statement allows {action}"


def _judge_key(ctx, channel: Channel, key_id: str, evidence: dict[str, Any]) -> tuple[list[str], Finding | None]:
    """Problems with the topic's key, or an ERROR finding when the key cannot be read."""
    arn = channel.topic_arn
    if key_id.startswith(AWS_MANAGED_ALIAS_PREFIX) or ":alias/aws/" in key_id:
        return [f"the topic is encrypted with the AWS managed key {key_id}, whose policy cannot let DevOps Guru use it"], None
    try:
        facts = describe_key(ctx, _key_ref_for(channel, key_id), region=channel.region)
    except (AwsError, MalformedResponse) as error:
        if isinstance(error, AwsError) and error.code == "NotFoundException":
            return [f"the topic's key {key_id} does not exist"], None
        hint = f"; the topic is in account {channel.account_id}: scan that account" if channel.account_id != ctx.account_id else ""
        return [], Finding(Status.ERROR, resource_id=arn, resource_arn=arn, resource_type=TOPIC_RESOURCE_TYPE,
                           message=f"cannot read the topic's key {key_id}: {error}{hint}", evidence=evidence)
    evidence.update({"key_arn": facts.arn, "KeyManager": facts.key_manager, "KeyState": facts.key_state})
    if facts.key_manager == "AWS":
        return [f"the topic is encrypted with an AWS managed key ({facts.arn}), whose policy cannot let DevOps Guru use it"], None
    if facts.account_id != ctx.account_id:
        return [], Finding(
            Status.ERROR, resource_id=arn, resource_arn=arn, resource_type=TOPIC_RESOURCE_TYPE,
            message=f"the topic's key is in account {facts.account_id}: its key policy can only be read there; scan that account to judge it",
            evidence=evidence,
        )
    try:
        response = ctx.aws.call("kms", "get_key_policy", region=facts.region, KeyId=facts.key_id, PolicyName="default")
        text = response.get("Policy") if isinstance(response, dict) else None
        if not isinstance(text, str):
            raise MalformedResponse(f"GetKeyPolicy({facts.key_id}): response has no Policy text")
        policy = parse_policy(text)
    except (AwsError, MalformedResponse, PolicyError) as error:
        return [], Finding(Status.ERROR, resource_id=arn, resource_arn=arn, resource_type=TOPIC_RESOURCE_TYPE,
                           message=f"cannot judge the key policy of {facts.arn}: {error}", evidence=evidence)
    problems = []
    key_evidence = {}
    for action in KEY_ACTIONS:
        # SNS asks KMS for the data key on the publisher's behalf: kms:ViaService is SNS in the topic's region.
        via_sns = {"kms:ViaService": f"sns.{channel.region}.amazonaws.com"}
        request = devops_guru_publishing_request(action, facts.arn, channel, ctx.account_id, ctx.region, extra_context=via_sns)
        decision = evaluate(policy, request)
        key_evidence[action] = {"verdict": decision.verdict.value, "statements": [s.label for s in decision.statements]}
        if not decision.allowed:
            problems.append(f"the key policy does not let DevOps Guru use the key: {_decision_text(action, decision.verdict, decision.statements)}")
    evidence["key_policy"] = key_evidence
    return problems, None


def _judge_topic_policy(ctx, channel: Channel, attributes: dict[str, str], evidence: dict[str, Any]) -> list[str]:
    """Problems with the topic policy: DevOps Guru cannot publish for this account, or may publish for another."""
    policy = parse_policy(attributes.get("Policy") or '{"Statement": []}')
    own = evaluate(policy, devops_guru_publishing_request(PUBLISH, channel.topic_arn, channel, ctx.account_id, ctx.region))
    stranger_account = outside_source_account(ctx)
    stranger = evaluate(policy, devops_guru_publishing_request(PUBLISH, channel.topic_arn, channel, stranger_account, ctx.region))
    evidence["topic_policy"] = {
        "devops_guru_for_this_account": {"verdict": own.verdict.value, "statements": [s.label for s in own.statements]},
        "devops_guru_for_another_account": {"verdict": stranger.verdict.value, "statements": [s.label for s in stranger.statements]},
    }
    problems = []
    if not own.allowed:
        problems.append(f"the topic policy does not let DevOps Guru publish for this account: {_decision_text(PUBLISH, own.verdict, own.statements)}")
    if stranger.allowed or stranger.verdict is Verdict.UNKNOWN:
        labels = ", ".join(s.label for s in stranger.statements)
        problems.append(
            f"the topic policy lets DevOps Guru publish for any account ({labels}): condition its sns:Publish on "
            f"aws:SourceAccount = {ctx.account_id} (or aws:SourceArn = the channel)"
        )
    return problems


def _judge_channel(ctx, channel: Channel):
    arn = channel.topic_arn
    evidence = place_evidence(ctx, channel)
    try:
        attributes = topic_attributes(ctx, channel)
    except (AwsError, MalformedResponse) as error:
        hint = f"; the topic is in account {channel.account_id}: scan that account or let this one read it" if channel.account_id != ctx.account_id else ""
        return Finding(Status.ERROR, resource_id=arn, resource_arn=arn, resource_type=TOPIC_RESOURCE_TYPE,
                       message=f"cannot read the topic: {error}{hint}", evidence=evidence)
    key_id = attributes.get("KmsMasterKeyId") or None
    evidence["KmsMasterKeyId"] = key_id
    problems: list[str] = []
    if key_id is None:
        problems.append("the topic is not encrypted at rest (no KmsMasterKeyId)")
    else:
        key_problems, error = _judge_key(ctx, channel, key_id, evidence)
        if error is not None:
            return error
        problems += key_problems
    try:
        problems += _judge_topic_policy(ctx, channel, attributes, evidence)
    except PolicyError as error:
        return Finding(Status.ERROR, resource_id=arn, resource_arn=arn, resource_type=TOPIC_RESOURCE_TYPE,
                       message=f"the topic policy cannot be judged: {error}", evidence=evidence)
    if problems:
        return Finding(Status.FAIL, resource_id=arn, resource_arn=arn, resource_type=TOPIC_RESOURCE_TYPE, message="; ".join(problems), evidence=evidence)
    return Finding(
        Status.PASS, resource_id=arn, resource_arn=arn, resource_type=TOPIC_RESOURCE_TYPE,
        message="encrypted with a customer managed key DevOps Guru may use; only DevOps Guru acting for this account may publish",
        evidence=evidence,
    )


@check(METADATA)
def devopsguru_notification_topic_encrypted(ctx):
    yield from judge_each_topic(ctx, _judge_channel)
