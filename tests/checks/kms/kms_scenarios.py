"""A small simulated organization per KMS key-policy test: the management account plus the member under test."""
from __future__ import annotations

import json
from typing import Callable

from scanner.testing import check_context

MANAGEMENT = "111111111111"
MEMBER = "222222222222"
OTHER = "444455556666"
REGION = "us-east-1"


def root(account: str = MEMBER) -> dict:
    return {"Sid": "EnableIAMUserPermissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"}


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": [root(), *statements]}


def key(index: int, key_policy: dict | None = None, **overrides) -> dict:
    spec = {"id": key_id(index), "region": REGION, "aliases": [f"alias/key-{index}"], **overrides}
    if key_policy is not None:
        spec["policy"] = key_policy
    return spec


def key_id(index: int) -> str:
    return f"0d5f1e1a-2b3c-4d5e-8f90-{index:012d}"


def key_arn(index: int) -> str:
    return f"arn:aws:kms:{REGION}:{MEMBER}:key/{key_id(index)}"


def organization(keys: list[dict]) -> dict:
    return {
        "name": "kms-key-policy-test",
        "organization": {"management_account": MANAGEMENT, "regions": [REGION]},
        "accounts": [
            {"id": MANAGEMENT, "name": "management", "email": "management@example.com", "default_vpc": False},
            {"id": MEMBER, "name": "member", "email": "member@example.com", "default_vpc": False, "kms_keys": keys},
        ],
    }


def make_judge(make_org) -> Callable[..., dict]:
    def run(check, keys: list[dict], *, faults=None, options=None) -> dict:
        """Findings of ``check`` on the member's region, by resource id."""
        sim = make_org(organization(keys), faults)
        findings = list(check(check_context(sim, MEMBER, REGION, check, options)))
        json.dumps([dict(f.evidence) for f in findings])
        by_resource = {f.resource_id: f for f in findings}
        assert len(by_resource) == len(findings), "one result per key"
        return by_resource

    return run
