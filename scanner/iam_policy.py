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
    "organizations:DescribeOrganizationalUnit",
    "organizations:ListAccounts",
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListParents",
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


def managed_policies(checks: Mapping[str, Check]) -> list[str]:
    """AWS managed policies the checks need besides their actions (bridges to other tools), sorted."""
    return sorted({name for check in checks.values() for name in check.metadata.iam_managed_policies})


def managed_policy_note(checks: Mapping[str, Check]) -> str | None:
    """One line saying which checks need which AWS managed policies, or ``None`` when none do."""
    needing = sorted(check_id for check_id, check in checks.items() if check.metadata.iam_managed_policies)
    if not needing:
        return None
    return (f"checks {', '.join(needing)} also need the AWS managed policies {', '.join(managed_policies(checks))} "
            "attached to the audit role (the --cloudformation template attaches them)")


def scanner_policy(checks: Mapping[str, Check], *, role_name: str, history: str | None = None,
                   kms_key: str | None = None) -> dict:
    """The IAM policy of the scanner principal (the role or user that runs ``orgscan scan``), not the audit role's.

    It may read the organization, assume the audit role in every account, read
    its own account as the audit role reads the others (the caller's own account
    is scanned with its own credentials), and use the S3 history, with the KMS
    key, when one is given (``scanner.history.history_resources``).
    """
    from scanner.history import history_resources

    organization = sorted(a for a in HOST_CALLER_ACTIONS if a.startswith("organizations:"))
    statements: list[dict] = [
        {"Sid": "OrgscanReadOrganization", "Effect": "Allow", "Action": organization, "Resource": "*"},
        {"Sid": "OrgscanAssumeAuditRole", "Effect": "Allow", "Action": ["sts:AssumeRole"],
         "Resource": f"arn:aws:iam::*:role/{role_name}"},
        {"Sid": "OrgscanReadOwnAccount", "Effect": "Allow", "Action": member_actions(checks), "Resource": "*"},
    ]
    if history:
        statements.extend(history_resources(history, kms_key))
    return {"Version": "2012-10-17", "Statement": statements}


def policy_document(actions: list[str]) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "OrgscanReadOnly", "Effect": "Allow", "Action": actions, "Resource": "*"}],
    }


#: The external id is a shared secret against the confused deputy problem; AWS accepts 2 to 1224 characters
#: of ``[\w+=,.@:/-]`` (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html, ExternalId).
#: The template asks for at least 16, the length of a short random token: a 2-character id is guessable.
EXTERNAL_ID_MIN_LENGTH = 16


def cloudformation_template(actions: list[str], role_name: str, managed: list[str] | None = None) -> dict:
    """A template for CloudFormation StackSets: the audit role, trusted only by the scanner with an external id.

    ``managed`` are AWS managed policies (``SecurityAudit``) attached besides the inline policy.
    """
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "orgscan read-only audit role (deploy to every member account with StackSets)",
        "Parameters": {
            "ScannerPrincipalArn": {
                "Type": "String",
                "Description": "ARN of the role or user that runs orgscan (in the management or delegated administrator account)",
                "AllowedPattern": "arn:aws[a-z-]*:iam::\\d{12}:(role|user)/.+",
            },
            "ExternalId": {
                "Type": "String",
                "NoEcho": True,
                "MinLength": EXTERNAL_ID_MIN_LENGTH,
                "MaxLength": 1224,
                "AllowedPattern": "[\\w+=,.@:/-]*",
                "Description": f"value of --external-id: a random secret of at least {EXTERNAL_ID_MIN_LENGTH} characters",
            },
            "RoleName": {
                "Type": "String",
                "Default": role_name,
                "MinLength": 1,
                "MaxLength": 64,
                "AllowedPattern": "[\\w+=,.@-]+",
                "Description": "name of the audit role (orgscan --role-name)",
            },
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
    if managed:
        properties = template["Resources"]["OrgscanAuditRole"]["Properties"]
        properties["ManagedPolicyArns"] = [{"Fn::Sub": f"arn:${{AWS::Partition}}:iam::aws:policy/{name}"} for name in managed]
    return template


def render_policy(checks: Mapping[str, Check], *, cloudformation: bool, role_name: str, only: list[str] | None = None) -> str:
    """The policy (or template, with the managed policies the checks need) as indented JSON."""
    actions = member_actions(checks, only)
    chosen = {check_id: check for check_id, check in checks.items() if not only or check_id in only}
    if cloudformation:
        document = cloudformation_template(actions, role_name, managed_policies(chosen))
    else:
        document = policy_document(actions)
    return json.dumps(document, indent=2)
