"""sns_topic_requires_tls against the simulated organization.

Expected verdicts follow AWS's SNS security best practices ("Enforce encryption of data in transit": a topic
policy statement that denies sns:Publish to Principal "*" when aws:SecureTransport is false),
https://docs.aws.amazon.com/sns/latest/dg/sns-security-best-practices.html, and IAM's definition of
aws:SecureTransport and of explicit Deny, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-securetransport,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html.
"""

from checks.devopsguru.sns_topic_requires_tls import sns_topic_requires_tls
from devopsguru_scenarios import MEMBER, REGION, devops_guru, only
from notification_topic_scenarios import TOPIC, TOPIC_ARN, publish_statement, tls_deny_statement, topic, topic_key, topic_policy
from scanner.model import Status
from scanner.simulator import Faults


def member(*topics: dict, notification_topics=None) -> dict:
    names = notification_topics if notification_topics is not None else [t["name"] for t in topics]
    return {"kms_keys": [topic_key()], "sns_topics": list(topics), "devops_guru": [devops_guru(None, notification_topics=names)]}


def with_policy(*statements: dict) -> dict:
    return topic(policy=topic_policy(publish_statement(), *statements))


def test_pass_with_the_best_practice_deny(judge):
    finding = only(judge(sns_topic_requires_tls, member(with_policy(tls_deny_statement()))))
    assert finding.status is Status.PASS, finding.message
    assert finding.evidence["denied_by"] == ["Sid 'AllowPublishThroughSSLOnly'"]
    assert "TLS version" in finding.message


def test_pass_with_a_deny_of_every_sns_action(judge):
    finding = only(judge(sns_topic_requires_tls, member(with_policy(tls_deny_statement(actions=["sns:*"])))))
    assert finding.status is Status.PASS, finding.message


def test_fail_without_a_tls_deny(judge):
    finding = only(judge(sns_topic_requires_tls, member(with_policy())))
    assert finding.status is Status.FAIL
    assert "sns:Publish by a role of this account" in finding.message


def test_fail_when_the_deny_covers_publish_only(judge):
    # Subscribing over plain HTTP is not denied: insights can be read off without TLS.
    finding = only(judge(sns_topic_requires_tls, member(with_policy(tls_deny_statement(actions=["sns:Publish"])))))
    assert finding.status is Status.FAIL
    assert "sns:Subscribe" in finding.message and "sns:Publish by" not in finding.message


def test_fail_when_the_deny_is_limited_to_some_callers(judge):
    narrowed = tls_deny_statement()
    narrowed["Principal"] = {"AWS": f"arn:aws:iam::{MEMBER}:root"}
    finding = only(judge(sns_topic_requires_tls, member(with_policy(narrowed))))
    assert finding.status is Status.FAIL
    assert "another account" in finding.message and "DevOps Guru" in finding.message


def test_fail_when_the_deny_also_requires_a_caller_chosen_value(judge):
    # A Deny that applies only from one address is met by none of the callers who call from elsewhere.
    narrowed = tls_deny_statement()
    narrowed["Condition"]["IpAddress"] = {"aws:SourceIp": "192.0.2.0/24"}
    finding = only(judge(sns_topic_requires_tls, member(with_policy(narrowed))))
    assert finding.status is Status.FAIL


def test_not_applicable_without_notification_channels(judge):
    finding = only(judge(sns_topic_requires_tls, member(with_policy(tls_deny_statement()), notification_topics=[])))
    assert finding.status is Status.NOT_APPLICABLE


def test_access_denied_is_error_for_that_topic_only(judge):
    faults = Faults(deny_actions={MEMBER: ["sns:GetTopicAttributes"]})
    finding = only(judge(sns_topic_requires_tls, member(with_policy(tls_deny_statement())), faults=faults))
    assert finding.status is Status.ERROR
    assert "sns:GetTopicAttributes" in finding.message


def test_missing_topic_is_error_and_does_not_hide_another(judge):
    gone = f"arn:aws:sns:{REGION}:{MEMBER}:deleted-topic"
    findings = judge(sns_topic_requires_tls, member(with_policy(tls_deny_statement()), notification_topics=[TOPIC, gone]))
    by_arn = {f.resource_arn: f for f in findings}
    assert by_arn[TOPIC_ARN].status is Status.PASS
    assert by_arn[gone].status is Status.ERROR


def test_unjudgeable_topic_policy_is_error(judge):
    finding = only(judge(sns_topic_requires_tls, member(topic(policy={"Statement": [{"Effect": "Maybe", "Action": "sns:Publish"}]}))))
    assert finding.status is Status.ERROR
    assert "cannot be judged" in finding.message
