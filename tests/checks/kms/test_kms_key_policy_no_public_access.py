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


def test_a_key_with_an_aws_alias_is_skipped_without_describing_it(make_org):
    # "The alias/aws/ prefix is reserved for AWS managed key"
    # (https://docs.aws.amazon.com/kms/latest/developerguide/alias-create.html): the alias alone says AWS manages it,
    # so neither the key-policy checks nor the sensitive-data checks spend a DescribeKey on it.
    from checks.sensitive_data.tags_no_sensitive_data import tags_no_sensitive_data
    from kms_scenarios import organization
    from scanner.testing import check_context

    aws_managed = {"region": REGION, "manager": "AWS", "aliases": ["alias/aws/s3"], "policy": policy(public("Everyone"))}
    sim = make_org(organization([aws_managed, key(1)]))
    for check in (kms_key_policy_no_public_access, tags_no_sensitive_data):
        list(check(check_context(sim, MEMBER, REGION, check)))
    described = sum(n for (account, _, action), n in sim.call_counts().items() if account == MEMBER and action == "kms:DescribeKey")
    assert described == 2  # key(1), once by each check (each check_context has its own cache)


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


def test_changed_verdicts_per_aws_documentation(judge):
    # Each key follows a page of AWS's documentation (cited per key); earlier orgscan got keys 1-3 wrong.
    org_paths = {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["o-exampleorg01/r-ab12/ou-ab12-11111111/*"]}}
    keys = [
        # reference_policies_condition-keys.html#condition-keys-principal-org-paths: only the OU's accounts.
        key(1, policy(public("OrgPath", condition=org_paths))),
        # reference_policies_elements_notprincipal.html: a Deny with NotPrincipal is an exception list.
        key(2, policy(public("Open"), {"Sid": "AllButMine", "Effect": "Deny", "NotPrincipal": {"AWS": [f"arn:aws:iam::{MEMBER}:root", f"arn:aws:iam::{MEMBER}:role/App"]}, "Action": "kms:Decrypt", "Resource": "*"})),
        # reference_policies_elements_resource.html: a Resource that cannot match this key grants nothing on it.
        key(3, policy({"Sid": "OtherKey", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": f"arn:aws:kms:{REGION}:{OTHER}:key/*"})),
        # conditions-kms.html#conditions-kms-caller-account with a policy variable: the key's own account.
        key(4, policy(public("SameAccount", condition={"StringEquals": {"kms:CallerAccount": "${aws:ResourceAccount}"}}))),
        # reference_policies_condition-keys.html#condition-keys-securetransport: TLS says nothing about who calls.
        key(5, policy(public("TlsOnly", condition={"Bool": {"aws:SecureTransport": "true"}}))),
        # reference_policies_elements_condition_operators.html#Conditions_ARN: a wildcard account limits nothing.
        key(6, policy(public("AnyAdmin", condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Admin"}}))),
    ]
    results = judge(kms_key_policy_no_public_access, keys)
    assert {arn: f.status for arn, f in results.items()} == {
        key_arn(1): Status.PASS,
        key_arn(2): Status.PASS,
        key_arn(3): Status.PASS,
        key_arn(4): Status.PASS,
        key_arn(5): Status.FAIL,
        key_arn(6): Status.FAIL,
    }
    assert "Sid 'AnyAdmin'" in results[key_arn(6)].message
    assert results[key_arn(6)].evidence["public_requests"][0]["caller"].startswith("role Admin of an unrelated account")


HUGE_INTEGER = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": ' + "9" * 4301 + "}}}]}"


def test_unreadable_policy_of_one_key_never_hides_another_keys_fail(judge):
    # Issue 15, finding 3: a 4,301-digit integer (Python's int limit), deep nesting or wrong types in one key's
    # policy make that key ERROR; the public key next to it still gets its critical FAIL.
    huge, deep, wrong = key(2), key(3), key(4)
    huge["policy_text"] = HUGE_INTEGER
    deep["policy_text"] = '{"Statement": ' + "[" * 2000 + "]" * 2000 + "}"
    wrong["policy_text"] = '{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"StringEquals": {"k": {"n": 1}}}}}'
    results = judge(kms_key_policy_no_public_access, [key(1, policy(public("Everyone"))), huge, deep, wrong])
    assert results[key_arn(1)].status is Status.FAIL and "Sid 'Everyone'" in results[key_arn(1)].message
    assert results[key_arn(2)].status is Status.ERROR and "number too long" in results[key_arn(2)].message
    assert results[key_arn(3)].status is Status.ERROR and "nest" in results[key_arn(3)].message
    assert results[key_arn(4)].status is Status.ERROR and "a value must be a string" in results[key_arn(4)].message


def test_wildcard_storm_in_a_key_policy_does_not_stall_the_scan(judge):
    # Issue 15, finding 1: `kms:` + 40 `*` + a character that cannot match made the old regex matcher backtrack
    # for minutes (holding the GIL, so no timeout could fire). Matched without backtracking, the key is judged.
    storm = "kms:" + "*" * 40 + "!"
    statement = {"Sid": "Storm", "Effect": "Allow", "Principal": "*", "Action": [storm] * 20, "Resource": "*",
                 "Condition": {"StringLike": {"aws:PrincipalArn": ["arn:aws:iam::*:" + "*" * 40 + "!"] * 20}}}
    results = judge(kms_key_policy_no_public_access, [key(1, policy(statement)), key(2, policy(public("Everyone")))])
    assert results[key_arn(1)].status is Status.PASS
    assert results[key_arn(2)].status is Status.FAIL
