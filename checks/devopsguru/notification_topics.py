"""The SNS topics DevOps Guru sends insights to, read once per account and region, and DevOps Guru's requests on them.

ListNotificationChannels names the topics; GetTopicAttributes is asked in the
topic's own region (a topic ARN names it), so a topic in another region of the
account is read there. A topic in another account is read the same way: it
answers when its topic policy lets this account read it, and is otherwise an
ERROR for that topic alone ("scan that account").

DevOps Guru publishes as its service principal ``devops-guru.amazonaws.com``
with ``aws:SourceAccount`` = the account that configured it and
``aws:SourceArn`` = the notification channel
(``arn:aws:devops-guru:<region>:<account>:channel/<channel-id>``), the values
AWS's "Permissions for cross account Amazon SNS topics" page tells topic owners
to condition on (https://docs.aws.amazon.com/devops-guru/latest/userguide/sns-required-permissions.html).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

from checks.policy import Caller, CallerKind, Request
from checks.request_kinds import CALLER_CHOSEN_KEYS, RESOURCE_PROPERTY_KEYS, STRANGER_ACCOUNT
from checks.devopsguru.gather import INTEGRATION_RESOURCE_TYPE, integration_error
from scanner.errors import AwsError, MalformedResponse
from scanner.findings import judge_apart
from scanner.model import Finding, Status

LIST_NOTIFICATION_CHANNELS = "devops-guru:ListNotificationChannels"
GET_TOPIC_ATTRIBUTES = "sns:GetTopicAttributes"
DEVOPS_GURU_SERVICE = "devops-guru.amazonaws.com"
TOPIC_RESOURCE_TYPE = "AWS::SNS::Topic"

#: Keys a service principal's request never carries: it does not come through the customer's network.
_NETWORK_KEYS = ("aws:sourcevpce", "aws:sourcevpc", "aws:sourceip", "aws:vpcsourceip")


@dataclass(frozen=True)
class Channel:
    """One notification channel: its id and the topic it names (account and region taken from the ARN)."""

    channel_id: str
    topic_arn: str
    partition: str
    region: str
    account_id: str

    def source_arn(self, region: str, account_id: str) -> str:
        """The ``aws:SourceArn`` DevOps Guru's publish carries: this channel in the configuring account and region."""
        return f"arn:{self.partition}:devops-guru:{region}:{account_id}:channel/{self.channel_id}"


def _parse_topic_arn(arn: str) -> tuple[str, str, str]:
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not parts[3] or not (parts[4].isdigit() and len(parts[4]) == 12) or not parts[5]:
        raise MalformedResponse(f"ListNotificationChannels: TopicArn {arn!r:.120} is not an SNS topic ARN")
    return parts[1], parts[3], parts[4]


def notification_channels(ctx) -> list[Channel]:
    """Every SNS notification channel of DevOps Guru here (ListNotificationChannels, every page)."""
    channels = []
    for page in ctx.aws.pages("devops-guru", "list_notification_channels"):
        entries = page.get("Channels", []) if isinstance(page, Mapping) else None
        if entries is None:
            entries = []
        if not isinstance(entries, list):
            raise MalformedResponse("ListNotificationChannels: Channels is not a list")
        for entry in entries:
            config = entry.get("Config") if isinstance(entry, Mapping) else None
            sns = config.get("Sns") if isinstance(config, Mapping) else None
            channel_id = entry.get("Id") if isinstance(entry, Mapping) else None
            topic = sns.get("TopicArn") if isinstance(sns, Mapping) else None
            if not isinstance(channel_id, str) or not channel_id or not isinstance(topic, str):
                raise MalformedResponse("ListNotificationChannels: a channel has no Id or Config.Sns.TopicArn")
            partition, region, account = _parse_topic_arn(topic)
            channels.append(Channel(channel_id, topic, partition, region, account))
    return channels


def no_channels_finding() -> Finding:
    return Finding(
        Status.NOT_APPLICABLE,
        resource_id="devops-guru-notification-channels",
        resource_type=INTEGRATION_RESOURCE_TYPE,
        message="DevOps Guru has no notification channel here: it sends insights to no SNS topic",
    )


def topic_attributes(ctx, channel: Channel) -> dict[str, Any]:
    """GetTopicAttributes of the channel's topic, asked in the topic's region."""
    response = ctx.aws.call("sns", "get_topic_attributes", region=channel.region, TopicArn=channel.topic_arn)
    attributes = response.get("Attributes") if isinstance(response, Mapping) else None
    if not isinstance(attributes, Mapping) or not all(isinstance(v, str) for v in attributes.values()):
        raise MalformedResponse(f"GetTopicAttributes({channel.topic_arn:.120}): Attributes is not a map of strings")
    return dict(attributes)


def place_evidence(ctx, channel: Channel) -> dict[str, Any]:
    """Where the topic is, relative to the account and region scanned."""
    data: dict[str, Any] = {"channel_id": channel.channel_id, "topic_arn": channel.topic_arn}
    if channel.account_id != ctx.account_id:
        data["topic_account"] = channel.account_id
    if channel.region != ctx.region:
        data["topic_region"] = channel.region
    return data


def devops_guru_publishing_request(
    action: str,
    resource_arn: str,
    channel: Channel,
    source_account: str,
    region: str,
    *,
    secure_transport: bool = True,
    extra_context: Mapping[str, object] | None = None,
) -> Request:
    """DevOps Guru's service principal calling ``action`` on ``resource_arn`` to deliver an insight of ``source_account``.

    aws:SourceAccount is the account whose DevOps Guru publishes and
    aws:SourceArn its notification channel; aws:PrincipalIsAWSService is true;
    network keys are absent (a service principal does not call from a VPC).
    Keys a caller picks for itself (encryption context, user agent...) are
    taken as met by an Allow and not met by a Deny.
    """
    context: dict[str, object] = {
        "aws:PrincipalIsAWSService": "true",
        "aws:PrincipalServiceName": DEVOPS_GURU_SERVICE,
        "aws:SourceAccount": source_account,
        "aws:SourceArn": channel.source_arn(region, source_account),
        "aws:SecureTransport": "true" if secure_transport else "false",
        "aws:ResourceAccount": channel.account_id,
        "aws:RequestedRegion": channel.region,
        **(extra_context or {}),
    }
    chosen = tuple(k for k in CALLER_CHOSEN_KEYS + RESOURCE_PROPERTY_KEYS if k not in _NETWORK_KEYS and k != "aws:securetransport")
    caller = Caller(CallerKind.SERVICE, account=source_account, service=DEVOPS_GURU_SERVICE)
    return Request(action, caller=caller, resource=resource_arn, context=context, caller_chosen_keys=chosen)


def outside_source_account(ctx) -> str:
    """An account id unrelated to the scanned one: DevOps Guru publishing for it must be refused."""
    return STRANGER_ACCOUNT if ctx.account_id != STRANGER_ACCOUNT else "999988887776"


def judge_each_topic(ctx, judge_channel: Callable[[Any, Channel], Finding]) -> Iterator[Finding]:
    """``judge_channel``'s verdict on each topic DevOps Guru notifies, one topic's failure an ERROR for it alone.

    An ERROR when the channels cannot be listed, NOT_APPLICABLE when there are none.
    """
    try:
        channels = notification_channels(ctx)
    except (AwsError, MalformedResponse) as error:
        yield integration_error(f"cannot list DevOps Guru's notification channels: {error}")
        return
    if not channels:
        yield no_channels_finding()
        return
    for channel in channels:
        yield from judge_apart(channel.topic_arn, lambda: judge_channel(ctx, channel), resource_arn=channel.topic_arn,
                               resource_type=TOPIC_RESOURCE_TYPE)
