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
from scanner.errors import UsageError
from scanner.model import Status
from scanner.simulator import Faults

VIA = f"devops-guru.{REGION}.amazonaws.com"


def _judge_policy(judge, policy, **kwargs):
    """The one finding for a key with ``policy`` configured for DevOps Guru in the member account."""
    return only(judge(devopsguru_cmk_policy_grants_service, {"kms_keys": [good_key(policy=policy)], "devops_guru": [devops_guru()]}, **kwargs))


STRICT = {"require_explicit_statement": True}
DOC_DEFAULT = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html"


def test_pass_with_the_guidance_statement(judge):
    finding = _judge_policy(judge, key_policy())
    assert finding.status is Status.PASS, finding.message
    assert finding.resource_arn == KEY_ARN
    # Both the guidance statement and the default root statement allow DevOps Guru's request.
    assert finding.evidence["policy"]["kms:CreateGrant"]["allowed_by"] == ["Sid 'EnableIAMUserPermissions'", "Sid 'AllowDevOpsGuru'"]
    assert finding.evidence["policy"]["kms:DescribeKey"]["guidance_statements"] == ["Sid 'AllowDevOpsGuru'"]
    strict = _judge_policy(judge, key_policy(), options=STRICT)
    assert strict.status is Status.PASS and "Sid 'AllowDevOpsGuru'" in strict.message


def test_pass_when_the_statement_lists_both_regions(judge):
    statement = devops_guru_statement(via=[f"devops-guru.{OTHER_REGION}.amazonaws.com", VIA])
    assert _judge_policy(judge, key_policy(root_statement(), statement), options=STRICT).status is Status.PASS


def test_delegation_only_key_policy_passes(judge):
    # The default key policy (DOC_DEFAULT) allows the account root kms:*: IAM policies decide, and DevOps Guru's
    # forward access session is a role of the account. Earlier orgscan failed this key (wrong per AWS's docs).
    finding = _judge_policy(judge, key_policy(root_statement()))
    assert finding.status is Status.PASS, finding.message
    assert "delegates to IAM (Sid 'EnableIAMUserPermissions')" in finding.message
    assert "IAM policy of the principal that configures DevOps Guru must also allow" in finding.message
    assert finding.evidence["policy"]["kms:CreateGrant"]["delegates_to_iam"] == ["Sid 'EnableIAMUserPermissions'"]
    strict = _judge_policy(judge, key_policy(root_statement()), options=STRICT)
    assert strict.status is Status.FAIL and "require_explicit_statement is set" in strict.message


def test_wrong_option_is_refused_as_the_scan_plans_it(judge):
    with pytest.raises(UsageError, match=r"^\[checks.devopsguru_cmk_policy_grants_service\] require_explicit_statement: expected true or false$"):
        _judge_policy(judge, key_policy(), options={"require_explicit_statement": "yes"})
    with pytest.raises(UsageError, match=r"strict: unknown option \(known: require_explicit_statement\)"):
        _judge_policy(judge, key_policy(), options={"strict": True})


def _without_condition(statement, operator, key):
    statement["Condition"][operator].pop(key)
    return statement


def _moved(statement, key, to_operator):
    value = statement["Condition"]["StringEquals"].pop(key)
    statement["Condition"].setdefault(to_operator, {})[key] = value
    return statement


@pytest.mark.parametrize(
    "statement,allowed",
    [
        (_without_condition(devops_guru_statement(), "StringEquals", "kms:CallerAccount"), True),
        (_without_condition(devops_guru_statement(), "StringEquals", "kms:ViaService"), True),
        (_moved(devops_guru_statement(), "kms:ViaService", "StringEqualsIfExists"), True),
        (_moved(devops_guru_statement(), "kms:CallerAccount", "StringNotEquals"), False),
        (_moved(devops_guru_statement(), "kms:ViaService", "StringLike"), True),
        (devops_guru_statement(via=f"devops-guru.{OTHER_REGION}.amazonaws.com"), False),
        (devops_guru_statement(account=OTHER), False),
    ],
    ids=["no-calleraccount", "no-viaservice", "ifexists", "negated", "wildcard-operator", "wrong-region", "wrong-account"],
)
def test_variants_of_the_guidance_statement(judge, statement, allowed):
    # Without the root statement, the statement alone decides; the verdict is AWS's answer to DevOps Guru's
    # request (condition-operator reference). The strict reading accepts only the exact-match statement.
    finding = _judge_policy(judge, key_policy(statement))
    assert finding.status is (Status.PASS if allowed else Status.FAIL), finding.message
    if not allowed:
        assert "no statement allows DevOps Guru's kms:CreateGrant request" in finding.message
        assert finding.evidence["policy"]["kms:CreateGrant"]["not_counted"][0]["statement"] == "Sid 'AllowDevOpsGuru'"
    strict = _judge_policy(judge, key_policy(root_statement(), statement), options=STRICT)
    assert strict.status is Status.FAIL
    assert f"kms:ViaService = {VIA}" in strict.message and f"kms:CallerAccount = {MEMBER}" in strict.message


def test_fail_when_only_one_action_is_allowed(judge):
    statement = devops_guru_statement()
    statement["Action"] = "kms:DescribeKey"
    finding = _judge_policy(judge, key_policy(statement))
    assert finding.status is Status.FAIL
    assert "no statement allows DevOps Guru's kms:CreateGrant request" in finding.message and "kms:DescribeKey request" not in finding.message


def test_fail_when_an_explicit_deny_blocks_the_grant(judge):
    deny = {"Sid": "NoGrantsViaServices", "Effect": "Deny", "Principal": "*", "Action": "kms:CreateGrant", "Resource": "*", "Condition": {"Bool": {"aws:ViaAWSService": "true"}}}
    finding = _judge_policy(judge, key_policy(root_statement(), devops_guru_statement(), deny))
    assert finding.status is Status.FAIL
    assert "kms:CreateGrant is denied by Sid 'NoGrantsViaServices'" in finding.message
    assert finding.evidence["policy"]["kms:CreateGrant"]["denied_by"] == ["Sid 'NoGrantsViaServices'"]


def test_vpc_endpoint_guard_without_service_exception_blocks_devops_guru(judge):
    # A forward access session carries no aws:SourceVpce (access_forward_access_sessions.html), so StringNotEquals
    # on it is true and the Deny applies (condition-operator reference: negated operators on a missing key).
    # (The guard covers the key's use, not kms:DescribeKey/GetKeyPolicy, so the scanner itself may still read the key.)
    guard = {"Sid": "OnlyThroughMyEndpoint", "Effect": "Deny", "Principal": "*", "Resource": "*",
             "Action": ["kms:CreateGrant", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
             "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d5e6f7a8b9"}}}
    finding = _judge_policy(judge, key_policy(root_statement(), devops_guru_statement(), guard))
    assert finding.status is Status.FAIL
    assert "kms:CreateGrant is denied by Sid 'OnlyThroughMyEndpoint'" in finding.message
    # The data-perimeter form exempts requests that AWS services make on the caller's behalf.
    guard["Condition"] = {"StringNotEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d5e6f7a8b9"}, "BoolIfExists": {"aws:ViaAWSService": "false"}}
    assert _judge_policy(judge, key_policy(root_statement(), devops_guru_statement(), guard)).status is Status.PASS


def test_deny_with_not_principal_naming_only_the_account_root_blocks_devops_guru(judge):
    # NotPrincipal: AWS checks the account, then the role, then the session -- naming only the root user leaves
    # every role of the account denied (reference_policies_elements_notprincipal.html).
    deny = {"Sid": "OnlyRoot", "Effect": "Deny", "NotPrincipal": {"AWS": f"arn:aws:iam::{MEMBER}:root"}, "Action": "kms:CreateGrant", "Resource": "*"}
    finding = _judge_policy(judge, key_policy(root_statement(), devops_guru_statement(), deny))
    assert finding.status is Status.FAIL and "denied by Sid 'OnlyRoot'" in finding.message


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
    finding = _judge_policy(judge, key_policy(combined))
    assert finding.status is Status.FAIL
    assert "kms:DescribeKey request" in finding.message and "kms:CreateGrant request" not in finding.message
    assert finding.evidence["policy"]["kms:DescribeKey"]["not_counted"] == [
        {"statement": "Sid 'AllowDevOpsGuru'", "why": "its other conditions exclude DevOps Guru's request"}
    ]


def test_pass_with_the_recommended_split_statements(judge):
    import json

    from checks.devopsguru.devopsguru_cmk_policy_grants_service import _GUIDANCE_STATEMENTS

    statements = json.loads(_GUIDANCE_STATEMENTS.replace("<region>", REGION).replace("<account-id>", MEMBER))
    finding = _judge_policy(judge, key_policy(*statements), options=STRICT)
    assert finding.status is Status.PASS, finding.message
