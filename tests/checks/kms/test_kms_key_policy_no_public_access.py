"""kms_key_policy_no_public_access against the simulated organization."""
from checks.kms.kms_key_policy_no_public_access import kms_key_policy_no_public_access
from kms_scenarios import MEMBER, OTHER, REGION, key, key_arn, policy
from scanner.model import Status
from scanner.simulator import Faults

GUIDANCE = {
    "Sid": "AllowDevOpsGuru",
    "Effect": "Allow",
    "Principal": {"AWS": "*"},
    "Action": ["kms:CreateGrant", "kms:DescribeKey"],
    "Resource": "*",
    "Condition": {"StringEquals": {"kms:ViaService": f"devops-guru.{REGION}.amazonaws.com", "kms:CallerAccount": MEMBER}},
}


def public(sid, principal="*", condition=None, action="kms:Decrypt", not_principal=False):
    statement = {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": "*"}
    statement["NotPrincipal" if not_principal else "Principal"] = principal
    if condition:
        statement["Condition"] = condition
    return statement


def test_pass_and_fail_per_key(judge):
    keys = [
        key(1),  # AWS's default key policy
        key(2, policy(GUIDANCE)),  # the guidance's {"AWS": "*"} statement is not public
        key(3, policy(public("Everyone"))),
        key(4, policy(public("AnyAws", principal={"AWS": "*"}))),
        key(5, policy(public("ViaS3Only", principal={"AWS": ["*"]}, condition={"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}))),
        key(6, policy(public("AllButMe", principal={"AWS": f"arn:aws:iam::{MEMBER}:root"}, not_principal=True))),
        key(7, policy(public("Org", condition={"StringEquals": {"aws:PrincipalOrgID": "o-exampleorg01"}}))),
        key(8, policy(public("Partner", principal={"AWS": f"arn:aws:iam::{OTHER}:root"}))),
        key(9, policy(public("IfExists", condition={"StringEqualsIfExists": {"aws:SourceAccount": MEMBER}}))),
        # Every KMS request carries kms:CallerAccount, so IfExists on it still limits the caller.
        key(10, policy(public("CallerIfExists", condition={"StringEqualsIfExists": {"kms:CallerAccount": MEMBER}}))),
    ]
    results = judge(kms_key_policy_no_public_access, keys)
    statuses = {arn: f.status for arn, f in results.items()}
    assert statuses == {
        key_arn(1): Status.PASS,
        key_arn(2): Status.PASS,
        key_arn(3): Status.FAIL,
        key_arn(4): Status.FAIL,
        key_arn(5): Status.FAIL,
        key_arn(6): Status.FAIL,
        key_arn(7): Status.PASS,
        key_arn(8): Status.PASS,
        key_arn(9): Status.FAIL,
        key_arn(10): Status.PASS,
    }
    assert "Sid 'Everyone'" in results[key_arn(3)].message
    assert results[key_arn(5)].evidence["public_statements"][0]["sid"] == "ViaS3Only"
    assert results[key_arn(3)].resource_arn == key_arn(3)


def test_aws_managed_keys_are_never_judged(judge):
    aws_managed = {"region": REGION, "manager": "AWS", "aliases": ["alias/aws/s3"], "policy": policy(public("Everyone"))}
    results = judge(kms_key_policy_no_public_access, [aws_managed, key(1)])
    assert list(results) == [key_arn(1)]


def test_policy_not_json_is_error_for_that_key_only(judge):
    broken = key(2)
    broken["policy_text"] = "Statement: everyone"
    results = judge(kms_key_policy_no_public_access, [key(1), broken])
    assert results[key_arn(1)].status is Status.PASS
    assert results[key_arn(2)].status is Status.ERROR and "not JSON" in results[key_arn(2)].message


def test_malformed_principal_is_error(judge):
    results = judge(kms_key_policy_no_public_access, [key(1, {"Statement": [{"Effect": "Allow", "Principal": {"AWS": {"arn": "x"}}, "Action": "kms:*", "Resource": "*"}]})])
    finding = results[key_arn(1)]
    assert finding.status is Status.ERROR and "Principal.AWS must be a string or a list" in finding.message


def test_no_keys_gives_no_results(judge):
    assert judge(kms_key_policy_no_public_access, []) == {}


def test_access_denied_is_error_naming_the_action(judge):
    results = judge(kms_key_policy_no_public_access, [key(1)], faults=Faults(deny_actions={MEMBER: ["kms:GetKeyPolicy"]}))
    assert results[key_arn(1)].status is Status.ERROR and "kms:GetKeyPolicy" in results[key_arn(1)].message
    results = judge(kms_key_policy_no_public_access, [key(1)], faults=Faults(deny_actions={MEMBER: ["kms:ListKeys"]}))
    assert [f.status for f in results.values()] == [Status.ERROR] and "kms:ListKeys" in results["kms-keys"].message
