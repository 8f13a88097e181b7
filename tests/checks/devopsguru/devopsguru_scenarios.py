"""A small simulated organization per test: the management account plus the member under test.

Every test declares only what its case needs (DevOps Guru setup, keys, VPCs) in
the scenario file's layout, and runs one check on one account and region of it
through ``scanner.testing.check_context``: boto3 over HTTP to the loopback
simulator, through a real AssumeRole into the member account.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from scanner.testing import check_context

MANAGEMENT = "111111111111"
MEMBER = "222222222222"
OTHER = "333333333333"
REGION = "us-east-1"
OTHER_REGION = "eu-west-1"

KEY_ID = "0d5f1e1a-2b3c-4d5e-8f90-000000000001"
KEY_ARN = f"arn:aws:kms:{REGION}:{MEMBER}:key/{KEY_ID}"


def root_statement(account: str = MEMBER) -> dict:
    return {"Sid": "EnableIAMUserPermissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"}


def devops_guru_statement(account: str = MEMBER, via: Any = f"devops-guru.{REGION}.amazonaws.com", operator: str = "StringEquals") -> dict:
    """The statement of AWS's DevOps Guru guidance."""
    return {
        "Sid": "AllowDevOpsGuru",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": ["kms:CreateGrant", "kms:DescribeKey"],
        "Resource": "*",
        "Condition": {operator: {"kms:ViaService": via, "kms:CallerAccount": account}},
    }


def key_policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements) or [root_statement(), devops_guru_statement()]}


def good_key(**overrides: Any) -> dict:
    """A key DevOps Guru can use: symmetric, Enabled, rotating, with the guidance's policy."""
    return {"id": KEY_ID, "region": REGION, "aliases": ["alias/devops-guru"], "rotation": True, "policy": key_policy(), **overrides}


def devops_guru(kms_key: str | None = "alias/devops-guru", region: str = REGION, **overrides: Any) -> dict:
    """DevOps Guru analysing every stack, encrypting with ``kms_key`` (None: the AWS owned key)."""
    setup: dict[str, Any] = {"region": region, "stacks": ["*"]}
    if kms_key is not None:
        setup["encryption"] = {"type": "CUSTOMER_MANAGED_KEY", "kms_key": kms_key}
    setup.update(overrides)
    return setup


def organization(member: dict, other: dict | None = None) -> dict:
    accounts = [
        {"id": MANAGEMENT, "name": "management", "email": "management@example.com", "default_vpc": False},
        {"id": MEMBER, "name": "member", "email": "member@example.com", "default_vpc": False, **member},
    ]
    if other is not None:
        accounts.append({"id": OTHER, "name": "other", "email": "other@example.com", "default_vpc": False, **other})
    return {"name": "devops-guru-check-test", "organization": {"management_account": MANAGEMENT, "regions": [REGION, OTHER_REGION]}, "accounts": accounts}


def make_judge(make_org) -> Callable[..., list]:
    """``judge(check, member, other=None, account=MEMBER, region=REGION, options=None, faults=None, prepare=None) -> [Finding]``."""

    def run(check, member: dict, *, other: dict | None = None, account: str = MEMBER, region: str = REGION, options=None, faults=None, prepare=None) -> list:
        sim = make_org(organization(member, other), faults)
        if prepare is not None:
            prepare(sim)
        findings = list(check(check_context(sim, account, region, check, options)))
        # Evidence goes into results.json as JSON: it must serialise.
        json.dumps([dict(f.evidence) for f in findings])
        return findings

    return run


def only(findings: list):
    """The one finding a single-resource case must give."""
    assert len(findings) == 1, [f"{f.status.value} {f.resource_id}: {f.message}" for f in findings]
    return findings[0]
