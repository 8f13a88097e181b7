"""The least-privilege policy of the member-account audit role, generated from the checks' declarations."""
from __future__ import annotations

import json
from typing import Mapping

from scanner.model import Check

#: Actions the host itself calls in a member account (``--regions all``).
HOST_MEMBER_ACTIONS = ("ec2:DescribeRegions",)
#: Actions the host calls with the caller's own credentials in organization mode.
HOST_CALLER_ACTIONS = (
    "organizations:DescribeOrganization",
    "organizations:ListAccounts",
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
    "sts:AssumeRole",
    "sts:GetCallerIdentity",
)


def member_actions(checks: Mapping[str, Check], only: list[str] | None = None) -> list[str]:
    """Every action the loaded checks (or ``only`` those) and the host call in a member account, sorted."""
    actions = set(HOST_MEMBER_ACTIONS)
    for check_id, check in checks.items():
        if only and check_id not in only:
            continue
        actions.update(check.metadata.iam_actions)
    return sorted(actions, key=str.lower)


def policy_document(actions: list[str]) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "OrgscanReadOnly", "Effect": "Allow", "Action": actions, "Resource": "*"}],
    }


def cloudformation_template(actions: list[str], role_name: str) -> dict:
    """A template for CloudFormation StackSets: the audit role, trusted only by the scanner with an external id."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "orgscan read-only audit role (deploy to every member account with StackSets)",
        "Parameters": {
            "ScannerPrincipalArn": {
                "Type": "String",
                "Description": "ARN of the role or user that runs orgscan (in the management or delegated administrator account)",
                "AllowedPattern": "arn:aws[a-z-]*:iam::\\d{12}:(role|user)/.+",
            },
            "ExternalId": {"Type": "String", "NoEcho": True, "MinLength": 2, "Description": "value of --external-id"},
            "RoleName": {"Type": "String", "Default": role_name},
        },
        "Resources": {
            "OrgscanAuditRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": {"Ref": "RoleName"},
                    "MaxSessionDuration": 3600,
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": {"Ref": "ScannerPrincipalArn"}},
                                "Action": "sts:AssumeRole",
                                "Condition": {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}},
                            }
                        ],
                    },
                    "Policies": [{"PolicyName": "orgscan-read-only", "PolicyDocument": policy_document(actions)}],
                },
            }
        },
        "Outputs": {"RoleArn": {"Value": {"Fn::GetAtt": ["OrgscanAuditRole", "Arn"]}}},
    }


def render_policy(checks: Mapping[str, Check], *, cloudformation: bool, role_name: str, only: list[str] | None = None) -> str:
    """The policy (or template) as indented JSON."""
    actions = member_actions(checks, only)
    document = cloudformation_template(actions, role_name) if cloudformation else policy_document(actions)
    return json.dumps(document, indent=2)
