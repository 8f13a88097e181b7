"""Scenario pieces for the notification-topic checks: topics, their policies and keys, in the scenario file's layout.

The statements follow AWS's documentation:
- DevOps Guru's topic policy: allow the service principal devops-guru.amazonaws.com sns:Publish on the topic
  with StringEquals aws:SourceAccount (and, recommended, aws:SourceArn = the notification channel)
  https://docs.aws.amazon.com/devops-guru/latest/userguide/sns-required-permissions.html
- a KMS-encrypted topic: the key policy allows DevOps Guru kms:GenerateDataKey* and kms:Decrypt
  ("Permissions for AWS KMS-encrypted Amazon SNS topics", linked from
  https://docs.aws.amazon.com/devops-guru/latest/APIReference/API_SnsChannelConfig.html)
- TLS: deny sns:Publish to Principal "*" when aws:SecureTransport is false
  https://docs.aws.amazon.com/sns/latest/dg/sns-security-best-practices.html
"""
from __future__ import annotations

from typing import Any

from devopsguru_scenarios import MEMBER, REGION, key_policy, root_statement

TOPIC = "devops-guru-insights"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{MEMBER}:{TOPIC}"
TOPIC_KEY_ID = "0d5f1e1a-2b3c-4d5e-8f90-0000000000a1"
TOPIC_KEY_ARN = f"arn:aws:kms:{REGION}:{MEMBER}:key/{TOPIC_KEY_ID}"


def devops_guru_key_statement() -> dict:
    return {
        "Sid": "AllowDevOpsGuruToPublishEncrypted",
        "Effect": "Allow",
        "Principal": {"Service": "devops-guru.amazonaws.com"},
        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
        "Resource": "*",
    }


def topic_key(**overrides: Any) -> dict:
    """A customer managed key whose policy lets DevOps Guru publish to a topic it encrypts."""
    return {"id": TOPIC_KEY_ID, "region": REGION, "aliases": ["alias/insights"], "rotation": True,
            "policy": key_policy(root_statement(), devops_guru_key_statement()), **overrides}


def publish_statement(topic_arn: str = TOPIC_ARN, condition: dict | None = None) -> dict:
    statement = {
        "Sid": "DevOpsGuruPublish",
        "Effect": "Allow",
        "Principal": {"Service": "devops-guru.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": topic_arn,
    }
    if condition is None:
        condition = {"StringEquals": {"aws:SourceAccount": MEMBER}}
    if condition:
        statement["Condition"] = condition
    return statement


def tls_deny_statement(topic_arn: str = TOPIC_ARN, actions: Any = ("sns:Publish", "sns:Subscribe")) -> dict:
    return {
        "Sid": "AllowPublishThroughSSLOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": list(actions),
        "Resource": topic_arn,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def topic_policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def topic(name: str = TOPIC, region: str = REGION, kms_key: str | None = "alias/insights", policy: dict | None = None) -> dict:
    spec: dict[str, Any] = {"name": name, "region": region}
    if kms_key is not None:
        spec["kms_key"] = kms_key
    spec["policy"] = policy if policy is not None else topic_policy(publish_statement(f"arn:aws:sns:{region}:{MEMBER}:{name}"))
    return spec
