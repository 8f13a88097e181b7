"""devopsguru_notification_topic_encrypted against the simulated organization.

Expected verdicts follow AWS's documentation:
- https://docs.aws.amazon.com/devops-guru/latest/userguide/sns-required-permissions.html (DevOps Guru publishes as
  devops-guru.amazonaws.com; topic owners condition on aws:SourceAccount / aws:SourceArn = the channel)
- https://docs.aws.amazon.com/devops-guru/latest/APIReference/API_SnsChannelConfig.html (an SNS topic encrypted by a
  customer managed key needs permissions for DevOps Guru in the key policy)
- https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html (SNS encrypts with a KMS key; publishers need
  kms:GenerateDataKey* and kms:Decrypt on it)
- https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html (aws:SourceAccount/aws:SourceArn stop a
  service acting for another account)
"""
import pytest

from checks.devopsguru.devopsguru_notification_topic_encrypted import devopsguru_notification_topic_encrypted
from devopsguru_scenarios import MEMBER, OTHER, OTHER_REGION, REGION, devops_guru, key_policy, only, root_statement
from notification_topic_scenarios import (
    TOPIC,
    TOPIC_ARN,
    TOPIC_KEY_ARN,
    publish_statement,
    topic,
    topic_key,
    topic_policy,
)
from scanner.model import Status
from scanner.simulator import Faults


def member(*topics: dict, keys=None, notification_topics=None) -> dict:
    names = notification_topics if notification_topics is not None else [t["name"] for t in topics]
    return {
        "kms_keys": keys if keys is not None else [topic_key()],
        "sns_topics": list(topics),
        "devops_guru": [devops_guru(None, notification_topics=names)],
    }


def test_pass_for_a_topic_set_up_as_the_guidance_says(judge):
    finding = only(judge(devopsguru_notification_topic_encrypted, member(topic())))
    assert finding.status is Status.PASS, finding.message
    assert finding.resource_arn == TOPIC_ARN
    assert finding.evidence["key_arn"] == TOPIC_KEY_ARN
    assert finding.evidence["topic_policy"]["devops_guru_for_another_account"]["verdict"] == "implicit_deny"


def test_pass_when_the_topic_policy_conditions_on_the_channel_arn(judge):
    condition = {"ArnLike": {"aws:SourceArn": f"arn:aws:devops-guru:{REGION}:{MEMBER}:channel/*"}}
    spec = topic(policy=topic_policy(publish_statement(condition=condition)))
    finding = only(judge(devopsguru_notification_topic_encrypted, member(spec)))
    assert finding.status is Status.PASS, finding.message


def test_fail_for_an_unencrypted_topic(judge):
    finding = only(judge(devopsguru_notification_topic_encrypted, member(topic(kms_key=None))))
    assert finding.status is Status.FAIL
    assert "not encrypted" in finding.message


def test_fail_for_the_aws_managed_sns_key(judge):
    finding = only(judge(devopsguru_notification_topic_encrypted, member(topic(kms_key="alias/aws/sns"))))
    assert finding.status is Status.FAIL
    assert "AWS managed key" in finding.message


def test_fail_when_the_key_policy_does_not_let_devops_guru_use_the_key(judge):
    keys = [topic_key(policy=key_policy(root_statement()))]
    finding = only(judge(devopsguru_notification_topic_encrypted, member(topic(), keys=keys)))
    assert finding.status is Status.FAIL
    assert "kms:GenerateDataKey" in finding.message and "kms:Decrypt" in finding.message


def test_fail_when_the_key_policy_denies_decrypt_to_devops_guru(judge):
    deny = {"Sid": "NoDecrypt", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
    keys = [topic_key(policy=key_policy(root_statement(), topic_key()["policy"]["Statement"][1], deny))]
    finding = only(judge(devopsguru_notification_topic_encrypted, member(topic(), keys=keys)))
    assert finding.status is Status.FAIL
    assert "kms:Decrypt is denied by Sid 'NoDecrypt'" in finding.message


def test_fail_when_any_account_s_devops_guru_may_publish(judge):
    spec = topic(policy=topic_policy(publish_statement(condition={})))
    finding = only(judge(devopsguru_notification_topic_encrypted, member(spec)))
    assert finding.status is Status.FAIL
    assert "publish for any account" in finding.message


def test_fail_when_the_topic_policy_conditions_on_another_account(judge):
    spec = topic(policy=topic_policy(publish_statement(condition={"StringEquals": {"aws:SourceAccount": OTHER}})))
    finding = only(judge(devopsguru_notification_topic_encrypted, member(spec)))
    assert finding.status is Status.FAIL
    assert "does not let DevOps Guru publish for this account" in finding.message


def test_fail_when_the_key_does_not_exist(judge):
    finding = only(judge(devopsguru_notification_topic_encrypted, member(topic(kms_key="alias/missing"))))
    assert finding.status is Status.FAIL
    assert "does not exist" in finding.message


def test_not_applicable_without_notification_channels(judge):
    finding = only(judge(devopsguru_notification_topic_encrypted, member(topic(), notification_topics=[])))
    assert finding.status is Status.NOT_APPLICABLE


def test_a_topic_in_another_region_is_read_there(judge):
    spec = topic(region=OTHER_REGION, kms_key=TOPIC_KEY_ARN.replace(REGION, OTHER_REGION))
    arn = f"arn:aws:sns:{OTHER_REGION}:{MEMBER}:{TOPIC}"
    finding = only(judge(devopsguru_notification_topic_encrypted, member(spec, keys=[topic_key(region=OTHER_REGION)], notification_topics=[arn])))
    assert finding.status is Status.PASS, finding.message
    assert finding.evidence["topic_region"] == OTHER_REGION


def test_unreadable_topic_is_error_and_does_not_hide_another_topic(judge):
    foreign = f"arn:aws:sns:{REGION}:{OTHER}:{TOPIC}"
    findings = judge(
        devopsguru_notification_topic_encrypted,
        member(topic(), notification_topics=[TOPIC, foreign]),
        other={"sns_topics": [topic()]},
    )
    by_arn = {f.resource_arn: f for f in findings}
    assert by_arn[TOPIC_ARN].status is Status.PASS
    assert by_arn[foreign].status is Status.ERROR
    assert OTHER in by_arn[foreign].message


@pytest.mark.parametrize("action", ["sns:GetTopicAttributes", "kms:GetKeyPolicy", "kms:DescribeKey"])
def test_access_denied_is_error_naming_the_action(judge, action):
    faults = Faults(deny_actions={MEMBER: [action]})
    finding = only(judge(devopsguru_notification_topic_encrypted, member(topic()), faults=faults))
    assert finding.status is Status.ERROR
    assert action in finding.message


def test_listing_denied_is_one_error(judge):
    faults = Faults(deny_actions={MEMBER: ["devops-guru:ListNotificationChannels"]})
    finding = only(judge(devopsguru_notification_topic_encrypted, member(topic()), faults=faults))
    assert finding.status is Status.ERROR
    assert "devops-guru:ListNotificationChannels" in finding.message
