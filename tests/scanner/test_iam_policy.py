"""The member-account audit role: least-privilege policy and CloudFormation template generated from the checks' declarations."""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import botocore.exceptions
import pytest

from scanner.cli import main
from scanner.iam_policy import HOST_CALLER_ACTIONS, HOST_MEMBER_ACTIONS
from scanner.iam_reference import iam_reference
from scanner.plugins import build_plugin_manager, collect_checks

#: The access levels of AWS's Service Authorization Reference that change nothing
#: (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_understand-policy-summary-access-level-summaries.html).
READ_ONLY_LEVELS = {"List", "Read"}
#: The one host action that is not a read: reaching a member account at all
#: (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html); the member role never has it.
CALLER_ACTIONS_THAT_ARE_NOT_READS = {"sts:AssumeRole"}
MANAGEMENT = "111111111111"
MEMBER = "222222222222"
SCANNER_ARN = f"arn:aws:iam::{MANAGEMENT}:user/orgscan-simulator-admin"
TWO_ACCOUNTS = {
    "organization": {"management_account": MANAGEMENT, "regions": ["us-east-1"]},
    "accounts": [
        {"id": MANAGEMENT, "name": "management", "email": "management@example.com"},
        {"id": MEMBER, "name": "member", "email": "member@example.com"},
    ],
}


def _orgscan(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(list(argv))
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="module")
def builtin_checks():
    return collect_checks(build_plugin_manager(), {})


def test_every_builtin_check_declares_actions_that_aws_classifies_as_list_or_read(builtin_checks):
    reference = iam_reference()
    assert len(builtin_checks) >= 10
    for check_id, check in builtin_checks.items():
        actions = check.metadata.iam_actions
        assert actions, f"{check_id} declares no IAM action"
        for action in actions:
            assert "*" not in action, f"{check_id} declares a wildcard: {action}"
            level = reference.access_level(action)
            assert level is not None, f"{check_id} declares {action}, which AWS's IAM reference does not know"
            assert level in READ_ONLY_LEVELS, f"{check_id} declares {action}, which AWS classifies as {level}"
            assert reference.canonical(action) == action, f"{check_id} spells {action} unlike AWS"


def test_host_actions_exist_and_those_of_member_accounts_are_reads():
    reference = iam_reference()
    for action in HOST_MEMBER_ACTIONS:
        assert reference.access_level(action) in READ_ONLY_LEVELS, action
    for action in HOST_CALLER_ACTIONS:
        level = reference.access_level(action)
        assert level is not None, f"{action} is not an IAM action"
        assert level in READ_ONLY_LEVELS or action in CALLER_ACTIONS_THAT_ARE_NOT_READS, (action, level)


@pytest.fixture
def fake_prowler(tmp_path):
    """An executable file standing in for Prowler: iam-policy only needs the bridge enabled, never runs it."""
    path = tmp_path / "prowler"
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize("with_prowler_bridge", [False, True])
def test_every_action_of_the_generated_policy_is_list_or_read_in_awss_reference(with_prowler_bridge, request):
    """The read-only proof: AWS's own classification of every action `orgscan iam-policy` grants (patterns expanded)."""
    reference = iam_reference()
    extra = ["--prowler-bin", request.getfixturevalue("fake_prowler")] if with_prowler_bridge else []
    code, out, err = _orgscan("iam-policy", *extra)

    assert code == 0, err
    granted = [a for s in json.loads(out)["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert granted
    for action in granted:
        named = reference.matching(action)
        assert named, f"{action} names no action of AWS's IAM reference"
        levels = {each: reference.access_level(each) for each in named}
        assert set(levels.values()) <= READ_ONLY_LEVELS, {a: level for a, level in levels.items() if level not in READ_ONLY_LEVELS}


def test_iam_policy_is_exactly_the_declared_reads(builtin_checks):
    code, out, err = _orgscan("iam-policy")

    assert code == 0, err
    policy = json.loads(out)
    assert policy["Version"] == "2012-10-17"
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Allow" and statement["Resource"] == "*"
    expected = {a for c in builtin_checks.values() for a in c.metadata.iam_actions} | set(HOST_MEMBER_ACTIONS)
    assert set(statement["Action"]) == expected
    assert statement["Action"] == sorted(statement["Action"], key=str.lower)
    assert len(statement["Action"]) == len(set(statement["Action"]))
    assert not any("*" in a for a in statement["Action"])
    assert not set(HOST_CALLER_ACTIONS) & set(statement["Action"]), "the member role needs none of the caller's actions"


def test_iam_policy_for_chosen_checks_only(builtin_checks):
    chosen = "iam_root_mfa_enabled"
    code, out, err = _orgscan("iam-policy", "--checks", chosen)

    assert code == 0, err
    actions = json.loads(out)["Statement"][0]["Action"]
    assert set(actions) == set(builtin_checks[chosen].metadata.iam_actions) | set(HOST_MEMBER_ACTIONS)


def test_iam_policy_includes_a_local_plugins_declarations():
    code, out, _ = _orgscan("iam-policy", "--plugin", "tests.plugins.fake_plugin")

    assert code == 0
    assert {"iam:ListAccountAliases", "ec2:DescribeVpcs"} <= set(json.loads(out)["Statement"][0]["Action"])


def _template(role_name: str = "OrgScanAudit") -> dict:
    code, out, err = _orgscan("iam-policy", "--cloudformation", "--role-name", role_name)
    assert code == 0, err
    return json.loads(out)


def test_cloudformation_template_trusts_only_the_scanner_with_an_external_id():
    _, policy_out, _ = _orgscan("iam-policy")
    template = _template("AuditRole")

    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    parameters = template["Parameters"]
    assert parameters["RoleName"]["Default"] == "AuditRole"
    assert parameters["ExternalId"]["NoEcho"] is True
    (resource,) = template["Resources"].values()
    assert resource["Type"] == "AWS::IAM::Role"
    properties = resource["Properties"]
    trust = properties["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == {"AWS": {"Ref": "ScannerPrincipalArn"}}, "the trust must name the scanner, not an account or *"
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}
    (inline,) = properties["Policies"]
    assert inline["PolicyDocument"] == json.loads(policy_out), "the template's policy differs from `orgscan iam-policy`"
    assert not properties.get("ManagedPolicyArns"), "no managed policy may widen the role"


def test_the_template_deploys_and_only_the_right_external_id_assumes_the_role(make_org):
    simulation = make_org(TWO_ACCOUNTS)
    cloudformation = simulation.client("cloudformation", account_id=MEMBER)
    cloudformation.create_stack(
        StackName="orgscan-audit-role",
        TemplateBody=json.dumps(_template()),
        Parameters=[
            {"ParameterKey": "ScannerPrincipalArn", "ParameterValue": SCANNER_ARN},
            {"ParameterKey": "ExternalId", "ParameterValue": "correct-horse-battery"},
        ],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    role = simulation.client("iam", account_id=MEMBER).get_role(RoleName="OrgScanAudit")["Role"]
    assert role["MaxSessionDuration"] == 3600
    sts = simulation.client("sts")
    role_arn = f"arn:aws:iam::{MEMBER}:role/OrgScanAudit"

    assumed = sts.assume_role(RoleArn=role_arn, RoleSessionName="orgscan", ExternalId="correct-horse-battery")
    assert assumed["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{MEMBER}:assumed-role/OrgScanAudit/")
    for wrong in ({"ExternalId": "wrong-horse"}, {}):
        with pytest.raises(botocore.exceptions.ClientError) as denied:
            sts.assume_role(RoleArn=role_arn, RoleSessionName="orgscan", **wrong)
        assert denied.value.response["Error"]["Code"] == "AccessDenied"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["iam-policy", "--checks", "nope"], "unknown check id 'nope'"),
        # IAM's rule for role names: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
        (["iam-policy", "--cloudformation", "--role-name", "Audit Role"], "--role-name 'Audit Role'"),
        (["iam-policy", "--role-name", "x" * 65], "not an IAM role name (1 to 64"),
        (["iam-policy", "--role-name", ""], "not an IAM role name (1 to 64"),
        (["scan", "--role-name", "audit/role", "--quiet"], "--role-name 'audit/role'"),
        (["scan", "--role-name", "evil\nrole", "--quiet"], "--role-name 'evil\\nrole'"),
    ],
)
def test_bad_iam_policy_and_scan_arguments_are_one_line_and_exit_2(argv, said):
    code, out, err = _orgscan(*argv)

    assert code == 2
    assert out == ""
    assert said in err and err.count("\n") == 1, err


def test_valid_role_names_pass_through_to_the_template():
    name = "Org+Scan=Audit,role.v2@team-1_" + "x" * 34
    assert len(name) == 64
    assert _template(name)["Parameters"]["RoleName"]["Default"] == name


def _lint(template: dict) -> list[tuple[str, str]]:
    from cfnlint.api import ManualArgs, lint

    return [(match.rule.id, match.message) for match in lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"]))]


@pytest.mark.parametrize("with_prowler_bridge", [False, True])
def test_the_generated_template_passes_cfn_lint(with_prowler_bridge, request):
    extra = ["--prowler-bin", request.getfixturevalue("fake_prowler")] if with_prowler_bridge else []
    code, out, err = _orgscan("iam-policy", "--cloudformation", "--role-name", "Org.Scan+Audit@team", *extra)

    assert code == 0, err
    assert _lint(json.loads(out)) == []


def test_cfn_lint_would_catch_the_role_names_orgscan_refuses():
    from scanner.iam_policy import cloudformation_template

    # W1030: the value of a Ref breaks the property's pattern or length (what `--role-name` now refuses).
    assert any(rule == "W1030" for rule, _ in _lint(cloudformation_template(["kms:ListKeys"], "Audit Role")))
    assert _orgscan("iam-policy", "--cloudformation", "--role-name", "Audit Role")[0] == 2


def test_the_external_id_parameter_asks_for_a_secret_of_realistic_length():
    external_id = _template()["Parameters"]["ExternalId"]
    # AWS accepts 2 to 1224 characters of [\w+=,.@:/-] (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html);
    # orgscan asks for at least 16, a short random token, since the id guards against the confused deputy.
    assert external_id["MinLength"] == 16 and external_id["MaxLength"] == 1224
    assert external_id["AllowedPattern"] == "[\\w+=,.@:/-]*"
    assert external_id["NoEcho"] is True


def test_with_the_prowler_bridge_the_template_attaches_what_prowler_documents(fake_prowler):
    """Prowler's role: SecurityAudit and ViewOnlyAccess (https://docs.prowler.com/user-guide/providers/aws/authentication)
    plus permissions/prowler-additions-policy.json of prowler-cloud/prowler."""
    code, out, err = _orgscan("iam-policy", "--cloudformation", "--prowler-bin", fake_prowler)

    assert code == 0, err
    properties = json.loads(out)["Resources"]["OrgscanAuditRole"]["Properties"]
    assert properties["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/SecurityAudit"},
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/job-function/ViewOnlyAccess"},
    ]
    actions = set(properties["Policies"][0]["PolicyDocument"]["Statement"][0]["Action"])
    assert {"sts:GetCallerIdentity", "ec2:GetEbsEncryptionByDefault", "support:Describe*", "apigateway:GET", "tag:GetTagKeys"} <= actions


def test_the_plain_policy_says_plainly_that_the_bridge_needs_managed_policies(fake_prowler):
    code, out, err = _orgscan("iam-policy", "--prowler-bin", fake_prowler)

    assert code == 0
    json.loads(out)  # stdout stays a policy document
    assert err.count("\n") == 1
    assert "prowler_bridge also need the AWS managed policies SecurityAudit, job-function/ViewOnlyAccess" in err


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """`orgscan iam-policy | head -1`: the pipe's reader closes early; orgscan exits 0 with nothing on stderr."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # gone before orgscan writes a byte: its first write meets a broken pipe
    try:
        finished = subprocess.run([sys.executable, "-m", "scanner.cli", "iam-policy"], stdout=write_end,
                                  stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parents[2], timeout=120)
    finally:
        os.close(write_end)
    assert finished.returncode == 0
    assert finished.stderr == b""
