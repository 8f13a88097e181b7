"""devopsguru_cmk_policy_grants_service against the simulated organization."""
import pytest

from checks.devopsguru.devopsguru_cmk_policy_grants_service import devopsguru_cmk_policy_grants_service
from devopsguru_scenarios import (
    KEY_ARN,
    MEMBER,
    OTHER,
    OTHER_REGION,
    REGION,
    devops_guru,
    devops_guru_statement,
    good_key,
    key_policy,
    only,
    root_statement,
)
from scanner.model import Status
from scanner.simulator import Faults

VIA = f"devops-guru.{REGION}.amazonaws.com"


def _judge_policy(judge, policy, **kwargs):
    return only(judge(devopsguru_cmk_policy_grants_service, {"kms_keys": [good_key(policy=policy)], "devops_guru": [devops_guru()]}, **kwargs))


def test_pass_with_the_guidance_statement(judge):
    finding = _judge_policy(judge, key_policy())
    assert finding.status is Status.PASS, finding.message
    assert finding.resource_arn == KEY_ARN
    assert finding.evidence["policy"]["kms:CreateGrant"]["granted_by"] == ["Sid 'AllowDevOpsGuru'"]
    assert finding.evidence["policy"]["kms:DescribeKey"]["granted_by"] == ["Sid 'AllowDevOpsGuru'"]


def test_pass_when_the_statement_lists_both_regions(judge):
    statement = devops_guru_statement(via=[f"devops-guru.{OTHER_REGION}.amazonaws.com", VIA])
    assert _judge_policy(judge, key_policy(root_statement(), statement)).status is Status.PASS


def _without_condition(statement, operator, key):
    statement["Condition"][operator].pop(key)
    return statement


def _moved(statement, key, to_operator):
    value = statement["Condition"]["StringEquals"].pop(key)
    statement["Condition"].setdefault(to_operator, {})[key] = value
    return statement


@pytest.mark.parametrize(
    "statement,expected",
    [
        (None, "no Allow of kms:CreateGrant"),
        (_without_condition(devops_guru_statement(), "StringEquals", "kms:CallerAccount"), "no Allow of kms:CreateGrant"),
        (_without_condition(devops_guru_statement(), "StringEquals", "kms:ViaService"), "no Allow of kms:DescribeKey"),
        (_moved(devops_guru_statement(), "kms:ViaService", "StringEqualsIfExists"), "no Allow of kms:CreateGrant"),
        (_moved(devops_guru_statement(), "kms:CallerAccount", "StringNotEquals"), "no Allow of kms:CreateGrant"),
        (_moved(devops_guru_statement(), "kms:ViaService", "StringLike"), "no Allow of kms:CreateGrant"),
        (devops_guru_statement(via=f"devops-guru.{OTHER_REGION}.amazonaws.com"), "no Allow of kms:CreateGrant"),
        (devops_guru_statement(account=OTHER), "no Allow of kms:CreateGrant"),
    ],
    ids=["root-only", "no-calleraccount", "no-viaservice", "ifexists", "negated", "wildcard-operator", "wrong-region", "wrong-account"],
)
def test_fail_without_an_exact_allow(judge, statement, expected):
    statements = [root_statement()] + ([statement] if statement else [])
    finding = _judge_policy(judge, key_policy(*statements))
    assert finding.status is Status.FAIL
    assert expected in finding.message
    assert f"kms:ViaService = {VIA}" in finding.message and f"kms:CallerAccount = {MEMBER}" in finding.message
    if statement:
        not_counted = finding.evidence["policy"]["kms:CreateGrant"]["not_counted"]
        assert not_counted and not_counted[0]["statement"] == "Sid 'AllowDevOpsGuru'"


def test_fail_when_only_one_action_is_allowed(judge):
    statement = devops_guru_statement()
    statement["Action"] = "kms:DescribeKey"
    finding = _judge_policy(judge, key_policy(root_statement(), statement))
    assert finding.status is Status.FAIL
    assert "no Allow of kms:CreateGrant" in finding.message and "kms:DescribeKey" not in finding.message.split("no Allow of kms:CreateGrant")[0]


def test_fail_when_an_explicit_deny_blocks_the_grant(judge):
    deny = {"Sid": "NoGrantsViaServices", "Effect": "Deny", "Principal": "*", "Action": "kms:CreateGrant", "Resource": "*", "Condition": {"Bool": {"aws:ViaAWSService": "true"}}}
    finding = _judge_policy(judge, key_policy(root_statement(), devops_guru_statement(), deny))
    assert finding.status is Status.FAIL
    assert "kms:CreateGrant is denied by Sid 'NoGrantsViaServices'" in finding.message
    assert finding.evidence["policy"]["kms:CreateGrant"]["denied_by"] == ["Sid 'NoGrantsViaServices'"]


def test_policy_that_is_not_json_is_error(judge):
    key = good_key()
    key.pop("policy")
    key["policy_text"] = '{"Version": "2012-10-17", "Statement": [ {"Effect": "Allow",'
    finding = only(judge(devopsguru_cmk_policy_grants_service, {"kms_keys": [key], "devops_guru": [devops_guru()]}))
    assert finding.status is Status.ERROR
    assert "not JSON" in finding.message


@pytest.mark.parametrize(
    "statement,where",
    [
        ({"Effect": "Allow", "Principal": ["*"], "Action": "kms:*", "Resource": "*"}, "Principal must be"),
        ({"Effect": "Allow", "Principal": "*", "Action": {"kms": "*"}, "Resource": "*"}, "Action must be a string or a list"),
        ({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": ["StringEquals"]}, "Condition must be an object"),
    ],
)
def test_malformed_policy_elements_are_error(judge, statement, where):
    key = good_key()
    key.pop("policy")
    import json

    key["policy_text"] = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    finding = only(judge(devopsguru_cmk_policy_grants_service, {"kms_keys": [key], "devops_guru": [devops_guru()]}))
    assert finding.status is Status.ERROR
    assert where in finding.message and "statement #0" in finding.message


def test_error_for_key_in_another_account(judge):
    foreign = f"arn:aws:kms:{REGION}:{OTHER}:key/{good_key()['id']}"
    shared = good_key(policy=key_policy(root_statement(OTHER), root_statement(MEMBER)))
    finding = only(judge(devopsguru_cmk_policy_grants_service, {"devops_guru": [devops_guru(foreign)]}, other={"kms_keys": [shared]}))
    assert finding.status is Status.ERROR
    assert f"the key is in account {OTHER}" in finding.message


def test_aws_managed_key_is_never_judged(judge):
    key = {"region": REGION, "manager": "AWS", "aliases": ["alias/aws/devops-guru"]}
    finding = only(judge(devopsguru_cmk_policy_grants_service, {"kms_keys": [key], "devops_guru": [devops_guru("alias/aws/devops-guru")]}))
    assert finding.status is Status.NOT_APPLICABLE


def test_not_applicable_where_devops_guru_is_not_in_use(judge):
    finding = only(judge(devopsguru_cmk_policy_grants_service, {"kms_keys": [good_key()], "devops_guru": [devops_guru(stacks=[])]}))
    assert finding.status is Status.NOT_APPLICABLE


def test_access_denied_is_error_naming_the_action(judge):
    finding = _judge_policy(judge, key_policy(), faults=Faults(deny_actions={MEMBER: ["kms:GetKeyPolicy"]}))
    assert finding.status is Status.ERROR
    assert "kms:GetKeyPolicy" in finding.message


def test_grant_condition_in_a_shared_statement_excludes_describe_key(judge):
    # kms:GrantIsForAWSResource exists only in grant requests: on DescribeKey the Bool test is false.
    combined = devops_guru_statement()
    combined["Condition"]["Bool"] = {"kms:GrantIsForAWSResource": "true"}
    finding = _judge_policy(judge, key_policy(root_statement(), combined))
    assert finding.status is Status.FAIL
    assert "no Allow of kms:DescribeKey" in finding.message and "no Allow of kms:CreateGrant" not in finding.message
    assert finding.evidence["policy"]["kms:DescribeKey"]["not_counted"] == [
        {"statement": "Sid 'AllowDevOpsGuru'", "why": "its other conditions exclude DevOps Guru's request"}
    ]


def test_pass_with_the_recommended_split_statements(judge):
    import json

    from checks.devopsguru.devopsguru_cmk_policy_grants_service import _GUIDANCE_STATEMENTS

    statements = json.loads(_GUIDANCE_STATEMENTS.replace("<region>", REGION).replace("<account-id>", MEMBER))
    finding = _judge_policy(judge, key_policy(root_statement(), *statements))
    assert finding.status is Status.PASS, finding.message
