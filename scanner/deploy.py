"""The scanner side of a scheduled organization scan, as a CloudFormation template (``orgscan deploy --cloudformation``).

The member accounts get the audit role from ``orgscan iam-policy --cloudformation`` (StackSets). This
template is for the account that runs the scan (the management account or a delegated administrator):

* an EventBridge Scheduler schedule that starts an AWS CodeBuild build on a schedule expression;
* the CodeBuild project, which runs the orgscan container image (``Dockerfile``) from Amazon ECR:
  ``orgscan scan --org ... --history s3://BUCKET/orgscan`` and, when a GitHub repository is given,
  ``orgscan upload github`` with the token from a Secrets Manager secret;
* the scanner role CodeBuild runs as: it may assume the member audit role (the member role's trust
  policy demands the external id), read the organization and its own account, and read and write the
  scan history (S3 and the KMS key);
* the history bucket: SSE-KMS with a customer managed key, all public access blocked, a TLS-only
  bucket policy, versioning and a lifecycle that expires old scans;
* the CloudWatch Logs group of the builds, with a retention.

Why CodeBuild rather than an ECS Fargate task: a Fargate task needs a VPC, subnets, a security group,
a cluster and an execution role from the user; a CodeBuild project needs none of them, injects a
Secrets Manager secret into the environment by itself (``env: secrets-manager``), sends its output to
CloudWatch Logs and stops a build at its timeout. EventBridge Scheduler starts it through its universal
target (``aws-sdk:codebuild:startBuild``).
"""
from __future__ import annotations

import json
from typing import Any

from scanner.iam_policy import EXTERNAL_ID_MIN_LENGTH, HOST_CALLER_ACTIONS

#: Where the scans are kept in the bucket (``--history s3://BUCKET/orgscan``).
HISTORY_PREFIX = "orgscan"
#: Where the scan writes inside the build container (a directory the image's volume holds).
OUTPUT_DIR = "/out/scan"
#: CloudWatch Logs accepts only these retention periods (AWS::Logs::LogGroup RetentionInDays).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)

_SCAN = (
    'orgscan scan --org --regions "$ORGSCAN_REGIONS" --role-name "$ORGSCAN_ROLE_NAME" '
    '--external-id "$ORGSCAN_EXTERNAL_ID" --format "$ORGSCAN_FORMATS" --output-dir "$ORGSCAN_OUTPUT_DIR" '
    '--history "$ORGSCAN_HISTORY" --history-keep "$ORGSCAN_HISTORY_KEEP" '
    '--history-kms-key "$ORGSCAN_HISTORY_KMS_KEY" --quiet'
)
_UPLOAD = ('orgscan upload github "$ORGSCAN_OUTPUT_DIR" --repository "$ORGSCAN_GITHUB_REPOSITORY" '
           '--ref "$ORGSCAN_GITHUB_REF"')


def scan_command() -> str:
    """The ``orgscan scan`` command line the scheduled build runs (with the build's environment variables)."""
    return _SCAN


def upload_command() -> str:
    """The ``orgscan upload github`` command line the build runs when a repository is given."""
    return _UPLOAD


def buildspec(with_github: bool) -> str:
    """The CodeBuild buildspec (YAML): scan, upload when asked, then fail the build only for exit codes above 1.

    Exit code 1 means "FAILs were found", the normal outcome of a scan; 2 and above mean the scan itself
    went wrong (usage, ERROR results, internal error). ``${GitHubTokenSecretArn}`` is for ``Fn::Sub``.
    """
    lines = ["version: 0.2"]
    if with_github:
        lines += ["env:", "  secrets-manager:", "    GITHUB_TOKEN: ${GitHubTokenSecretArn}"]
    lines += ["phases:", "  build:", "    commands:",
              f"      - {_SCAN}; echo $? > /tmp/scan-exit-code"]
    if with_github:
        lines.append(f"      - {_UPLOAD}")
    lines.append('      - code=$(cat /tmp/scan-exit-code); echo "orgscan scan exited $code"; '
                 'if [ "$code" -gt 1 ]; then exit "$code"; fi')
    return "\n".join(lines) + "\n"


def _own_account_statement(actions: list[str]) -> dict[str, Any]:
    # In organization mode the account that runs the scan is scanned with the caller's own credentials
    # (scanner/sessions.py), so the scanner role needs the checks' read-only actions for that one account.
    return {"Sid": "ReadOwnAccount", "Effect": "Allow", "Action": actions, "Resource": "*"}


def scanner_template(own_account_actions: list[str], role_name: str) -> dict[str, Any]:
    """The CloudFormation template of the scanner side; ``own_account_actions`` as ``orgscan iam-policy`` lists them."""
    partition_arn = "arn:${AWS::Partition}"
    history_key_arn = {"Fn::GetAtt": ["HistoryKey", "Arn"]}
    history_bucket_arn = {"Fn::GetAtt": ["HistoryBucket", "Arn"]}
    project_arn = {"Fn::Sub": partition_arn + ":codebuild:${AWS::Region}:${AWS::AccountId}:project/${ProjectName}"}
    log_group_arn = {"Fn::GetAtt": ["BuildLogs", "Arn"]}
    source_account = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    environment = {
        "ORGSCAN_REGIONS": {"Ref": "Regions"},
        "ORGSCAN_ROLE_NAME": {"Ref": "MemberRoleName"},
        "ORGSCAN_EXTERNAL_ID": {"Ref": "ExternalId"},
        "ORGSCAN_FORMATS": {"Ref": "Formats"},
        "ORGSCAN_OUTPUT_DIR": OUTPUT_DIR,
        "ORGSCAN_HISTORY": {"Fn::Sub": f"s3://${{HistoryBucket}}/{HISTORY_PREFIX}"},
        "ORGSCAN_HISTORY_KEEP": {"Ref": "HistoryKeep"},
        "ORGSCAN_HISTORY_KMS_KEY": history_key_arn,
        "ORGSCAN_GITHUB_REPOSITORY": {"Ref": "GitHubRepository"},
        "ORGSCAN_GITHUB_REF": {"Ref": "GitHubRef"},
        "XDG_STATE_HOME": "/state",
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "orgscan scanner side: a scheduled organization scan in CodeBuild, its role, the encrypted "
                       "history bucket and the build logs (the member role comes from orgscan iam-policy --cloudformation)",
        "Parameters": {
            "ScheduleExpression": {
                "Type": "String", "Default": "cron(0 6 ? * MON *)",
                "Description": "EventBridge Scheduler expression: cron(...), rate(...) or at(...) (default: Mondays 06:00)",
                "AllowedPattern": "^(cron|rate|at)\\(.+\\)$",
            },
            "ScheduleTimezone": {"Type": "String", "Default": "UTC", "Description": "time zone of the schedule expression"},
            "Regions": {
                "Type": "String", "Default": "all",
                "Description": "orgscan --regions: comma-separated regions, or all enabled regions",
                "AllowedPattern": "^(all|[a-z0-9-]+(,[a-z0-9-]+)*)$",
            },
            "MemberRoleName": {
                "Type": "String", "Default": role_name, "MinLength": 1, "MaxLength": 64, "AllowedPattern": "[\\w+=,.@-]+",
                "Description": "the audit role in every member account (orgscan iam-policy --cloudformation RoleName)",
            },
            "ExternalId": {
                "Type": "String", "NoEcho": True, "MinLength": EXTERNAL_ID_MIN_LENGTH, "MaxLength": 1224,
                "AllowedPattern": "[\\w+=,.@:/-]*",
                "Description": "the member role's external id (the same value as its stack's ExternalId)",
            },
            "Formats": {
                "Type": "String", "Default": "html,sarif,markdown",
                "Description": "orgscan --format (keep sarif when a GitHub repository is given)",
                "AllowedPattern": "^[a-z-]+(,[a-z-]+)*$",
            },
            "ImageRepository": {
                "Type": "String", "Default": "orgscan", "AllowedPattern": "^[a-z0-9][a-z0-9._/-]*$",
                "Description": "Amazon ECR repository (this account and region) holding the orgscan image",
            },
            "ImageTag": {"Type": "String", "Default": "latest", "AllowedPattern": "^[\\w][\\w.-]{0,127}$",
                         "Description": "tag of the orgscan image to run"},
            "ProjectName": {"Type": "String", "Default": "orgscan-scheduled-scan", "AllowedPattern": "^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$",
                            "Description": "name of the CodeBuild project"},
            "HistoryKeep": {"Type": "Number", "Default": 52, "MinValue": 1, "MaxValue": 10000,
                            "Description": "orgscan --history-keep: scans kept in the history (older ones are pruned)"},
            "HistoryRetentionDays": {"Type": "Number", "Default": 400, "MinValue": 1,
                                     "Description": "lifecycle: objects of the history expire after this many days"},
            "LogRetentionDays": {"Type": "Number", "Default": 90, "AllowedValues": list(LOG_RETENTION_DAYS),
                                 "Description": "retention of the build logs in CloudWatch Logs"},
            "GitHubRepository": {
                "Type": "String", "Default": "", "AllowedPattern": "^$|^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$",
                "Description": "optional OWNER/NAME: upload the SARIF to its code scanning after each scan",
            },
            "GitHubRef": {"Type": "String", "Default": "refs/heads/main", "AllowedPattern": "^refs/(heads|tags)/.+$",
                          "Description": "the branch whose code scanning receives the results"},
            "GitHubTokenSecretArn": {
                "Type": "String", "Default": "",
                "AllowedPattern": "^$|^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\\d{12}:secret:.+$",
                "Description": "ARN of the Secrets Manager secret whose value is the GitHub token (security_events scope)",
            },
        },
        "Conditions": {
            # The rule below refuses a repository without a secret; both are named in the condition so that
            # the secret's ARN is known to be non-empty wherever the condition holds.
            "UploadToGitHub": {"Fn::And": [
                {"Fn::Not": [{"Fn::Equals": [{"Ref": "GitHubRepository"}, ""]}]},
                {"Fn::Not": [{"Fn::Equals": [{"Ref": "GitHubTokenSecretArn"}, ""]}]},
            ]},
        },
        "Rules": {
            "GitHubNeedsAToken": {
                "RuleCondition": {"Fn::Not": [{"Fn::Equals": [{"Ref": "GitHubRepository"}, ""]}]},
                "Assertions": [{
                    "Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "GitHubTokenSecretArn"}, ""]}]},
                    "AssertDescription": "GitHubRepository needs GitHubTokenSecretArn (the secret holding the token)",
                }],
            },
        },
        "Resources": {
            "HistoryKey": {
                "Type": "AWS::KMS::Key",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "Description": "orgscan scan history",
                    "EnableKeyRotation": True,
                    # The account's IAM policies decide who uses the key (the scanner role's policy below).
                    "KeyPolicy": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Sid": "AccountIamPoliciesDecide",
                            "Effect": "Allow",
                            "Principal": {"AWS": {"Fn::Sub": partition_arn + ":iam::${AWS::AccountId}:root"}},
                            "Action": "kms:*",
                            "Resource": "*",
                        }],
                    },
                },
            },
            "HistoryBucket": {
                "Type": "AWS::S3::Bucket",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
                        "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": history_key_arn},
                        "BucketKeyEnabled": True,
                    }]},
                    "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                       "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "LifecycleConfiguration": {"Rules": [{
                        "Id": "expire-old-scans",
                        "Status": "Enabled",
                        "Prefix": f"{HISTORY_PREFIX}/",
                        "ExpirationInDays": {"Ref": "HistoryRetentionDays"},
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                    }]},
                },
            },
            "HistoryBucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": {"Ref": "HistoryBucket"},
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "DenyInsecureTransport",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": [history_bucket_arn, {"Fn::Sub": "${HistoryBucket.Arn}/*"}],
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            },
                            {
                                "Sid": "DenyOtherEncryption",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:PutObject",
                                "Resource": {"Fn::Sub": "${HistoryBucket.Arn}/*"},
                                "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
                            },
                        ],
                    },
                },
            },
            "BuildLogs": {
                "Type": "AWS::Logs::LogGroup",
                "DeletionPolicy": "Delete",
                "UpdateReplacePolicy": "Delete",
                "Properties": {
                    "LogGroupName": {"Fn::Sub": "/aws/codebuild/${ProjectName}"},
                    "RetentionInDays": {"Ref": "LogRetentionDays"},
                },
            },
            "ScannerRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Description": "orgscan scanner: runs the scheduled scan in CodeBuild",
                    "MaxSessionDuration": 3600,
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Principal": {"Service": "codebuild.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Condition": source_account,
                        }],
                    },
                    "Policies": [{
                        "PolicyName": "orgscan-scanner",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    # The member role's trust policy demands the external id; asking for it here too
                                    # (sts:ExternalId is a condition key of sts:AssumeRole) keeps this role from
                                    # assuming the audit role without it, whatever a member stack says.
                                    "Sid": "AssumeMemberAuditRole",
                                    "Effect": "Allow",
                                    "Action": "sts:AssumeRole",
                                    "Resource": {"Fn::Sub": partition_arn + ":iam::*:role/${MemberRoleName}"},
                                    "Condition": {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}},
                                },
                                {
                                    "Sid": "ReadOrganization",
                                    "Effect": "Allow",
                                    "Action": [a for a in HOST_CALLER_ACTIONS if a != "sts:AssumeRole"],
                                    "Resource": "*",
                                },
                                _own_account_statement(own_account_actions),
                                {
                                    "Sid": "ListHistory",
                                    "Effect": "Allow",
                                    "Action": "s3:ListBucket",
                                    "Resource": history_bucket_arn,
                                    "Condition": {"StringLike": {"s3:prefix": [HISTORY_PREFIX, f"{HISTORY_PREFIX}/*"]}},
                                },
                                {
                                    # DeleteObject: --history-keep prunes the oldest scans.
                                    "Sid": "ReadWriteHistory",
                                    "Effect": "Allow",
                                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                                    "Resource": {"Fn::Sub": f"${{HistoryBucket.Arn}}/{HISTORY_PREFIX}/*"},
                                },
                                {
                                    "Sid": "HistoryKey",
                                    "Effect": "Allow",
                                    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                                    "Resource": history_key_arn,
                                },
                                {
                                    "Sid": "BuildLogs",
                                    "Effect": "Allow",
                                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                    "Resource": [log_group_arn, {"Fn::Sub": "${BuildLogs.Arn}:log-stream:*"}],
                                },
                                {
                                    "Sid": "PullImageToken",
                                    "Effect": "Allow",
                                    "Action": "ecr:GetAuthorizationToken",
                                    "Resource": "*",
                                },
                                {
                                    "Sid": "PullImage",
                                    "Effect": "Allow",
                                    "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                                    "Resource": {"Fn::Sub": partition_arn + ":ecr:${AWS::Region}:${AWS::AccountId}:repository/${ImageRepository}"},
                                },
                                {
                                    "Fn::If": ["UploadToGitHub", {
                                        "Sid": "GitHubToken",
                                        "Effect": "Allow",
                                        "Action": "secretsmanager:GetSecretValue",
                                        "Resource": {"Ref": "GitHubTokenSecretArn"},
                                    }, {"Ref": "AWS::NoValue"}],
                                },
                            ],
                        },
                    }],
                },
            },
            "ScanProject": {
                "Type": "AWS::CodeBuild::Project",
                "Properties": {
                    "Name": {"Ref": "ProjectName"},
                    "Description": "orgscan scheduled organization scan",
                    "ServiceRole": {"Fn::GetAtt": ["ScannerRole", "Arn"]},
                    "Artifacts": {"Type": "NO_ARTIFACTS"},
                    "Source": {
                        "Type": "NO_SOURCE",
                        "BuildSpec": {"Fn::If": ["UploadToGitHub", {"Fn::Sub": buildspec(True)}, buildspec(False)]},
                    },
                    "Environment": {
                        "Type": "LINUX_CONTAINER",
                        "ComputeType": "BUILD_GENERAL1_SMALL",
                        "Image": {"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/${ImageRepository}:${ImageTag}"},
                        "ImagePullCredentialsType": "SERVICE_ROLE",
                        "EnvironmentVariables": [{"Name": name, "Type": "PLAINTEXT", "Value": value}
                                                 for name, value in environment.items()],
                    },
                    "TimeoutInMinutes": 480,
                    "LogsConfig": {"CloudWatchLogs": {"Status": "ENABLED", "GroupName": {"Ref": "BuildLogs"}}},
                },
            },
            "SchedulerRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Description": "orgscan: lets EventBridge Scheduler start the scan build",
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Principal": {"Service": "scheduler.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Condition": source_account,
                        }],
                    },
                    "Policies": [{
                        "PolicyName": "start-scan-build",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": "codebuild:StartBuild", "Resource": project_arn}],
                        },
                    }],
                },
            },
            "ScanSchedule": {
                "Type": "AWS::Scheduler::Schedule",
                "Properties": {
                    "Description": "orgscan scheduled organization scan",
                    "ScheduleExpression": {"Ref": "ScheduleExpression"},
                    "ScheduleExpressionTimezone": {"Ref": "ScheduleTimezone"},
                    "FlexibleTimeWindow": {"Mode": "OFF"},
                    "State": "ENABLED",
                    "Target": {
                        "Arn": {"Fn::Sub": partition_arn + ":scheduler:::aws-sdk:codebuild:startBuild"},
                        "RoleArn": {"Fn::GetAtt": ["SchedulerRole", "Arn"]},
                        "Input": {"Fn::Sub": json.dumps({"ProjectName": "${ScanProject}"})},
                        "RetryPolicy": {"MaximumRetryAttempts": 0},
                    },
                },
            },
        },
        "Outputs": {
            "ScannerRoleArn": {
                "Description": "the ScannerPrincipalArn of the member role stack (orgscan iam-policy --cloudformation)",
                "Value": {"Fn::GetAtt": ["ScannerRole", "Arn"]},
            },
            "HistoryLocation": {"Description": "orgscan history list LOCATION",
                                "Value": {"Fn::Sub": f"s3://${{HistoryBucket}}/{HISTORY_PREFIX}"}},
            "HistoryKeyArn": {"Value": history_key_arn},
            "ProjectName": {"Value": {"Ref": "ScanProject"}},
        },
    }


def render_scanner_template(own_account_actions: list[str], role_name: str) -> str:
    """The scanner template as indented JSON."""
    return json.dumps(scanner_template(own_account_actions, role_name), indent=2)
