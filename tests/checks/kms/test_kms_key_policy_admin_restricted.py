"""kms_key_policy_admin_restricted against the simulated organization."""
from checks.kms.kms_key_policy_admin_restricted import kms_key_policy_admin_restricted
from kms_scenarios import MEMBER, OTHER, key, key_arn, policy
from scanner.model import Status
from scanner.simulator import Faults


def allow(sid, principal, action, condition=None):
    statement = {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*"}
    if condition:
        statement["Condition"] = condition
    return statement


def test_pass_and_fail_per_key(judge):
    keys = [
        key(1),
        key(2, policy(allow("Admins", {"AWS": f"arn:aws:iam::{MEMBER}:role/KeyAdmin"}, ["kms:Put*", "kms:ScheduleKeyDeletion"]))),
        key(3, policy(allow("PartnerAdmin", {"AWS": f"arn:aws:iam::{OTHER}:root"}, "kms:PutKeyPolicy"))),
        key(4, policy(allow("Everyone", "*", "kms:*"))),
        key(5, policy(allow("Service", {"Service": "events.amazonaws.com"}, "kms:DisableKey"))),
        key(6, policy(allow("PartnerUse", {"AWS": OTHER}, ["kms:Decrypt", "kms:DescribeKey"]))),
        key(7, policy(allow("PartnerGrants", {"AWS": OTHER}, ["kms:CreateGrant", "kms:RevokeGrant"], {"Bool": {"kms:GrantIsForAWSResource": "true"}}))),
        key(8, policy(allow("PartnerAnyGrant", {"AWS": OTHER}, "kms:CreateGrant"))),
        key(9, policy(allow("StarMine", {"AWS": "*"}, "kms:*", {"StringEquals": {"kms:CallerAccount": MEMBER}}))),
        key(
            10,
            policy(
                allow("Open", "*", "kms:Cancel*"),
                # A conditional Deny of another account's administration (not of the scan's own reads).
                {"Sid": "OnlyMine", "Effect": "Deny", "Principal": "*", "Action": "kms:Cancel*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:PrincipalAccount": MEMBER}}},
            ),
        ),
    ]
    results = judge(kms_key_policy_admin_restricted, keys)
    statuses = {arn: f.status for arn, f in results.items()}
    assert statuses == {
        key_arn(1): Status.PASS,
        key_arn(2): Status.PASS,
        key_arn(3): Status.FAIL,
        key_arn(4): Status.FAIL,
        key_arn(5): Status.FAIL,
        key_arn(6): Status.PASS,
        key_arn(7): Status.PASS,
        key_arn(8): Status.FAIL,
        key_arn(9): Status.PASS,
        key_arn(10): Status.PASS,
    }
    assert f"account {OTHER}" in results[key_arn(3)].message and "kms:PutKeyPolicy" in results[key_arn(3)].message
    assert "Sid 'Everyone' gives kms:CancelKeyDeletion" in results[key_arn(4)].message
    assert "any principal of an unrelated account" in results[key_arn(4)].message
    assert "service principal events.amazonaws.com" in results[key_arn(5)].message
    assert results[key_arn(8)].evidence["admin_grants"] == [
        {"caller": f"account {OTHER} (root user)", "action": "kms:CreateGrant", "how": "direct", "allowed_by": ["Sid 'PartnerAnyGrant'"]},
        {"caller": f"account {OTHER} (role session)", "action": "kms:CreateGrant", "how": "direct", "allowed_by": ["Sid 'PartnerAnyGrant'"]},
    ]


def test_grant_operations_limited_only_by_transport_or_region_are_administrative(judge):
    # aws:SecureTransport and aws:RequestedRegion say nothing about who calls (reference_policies_condition-keys.html);
    # kms:GrantIsForAWSResource does: only an integrated service acting for the caller (conditions-kms.html).
    keys = [
        key(1, policy(allow("TlsGrants", {"AWS": OTHER}, ["kms:RevokeGrant", "kms:RetireGrant"], {"Bool": {"aws:SecureTransport": "true"}}))),
        key(2, policy(allow("RegionGrants", {"AWS": OTHER}, "kms:CreateGrant", {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}))),
        key(3, policy(allow("ServiceGrants", {"AWS": OTHER}, "kms:CreateGrant", {"Bool": {"kms:GrantIsForAWSResource": "true"}}))),
    ]
    results = judge(kms_key_policy_admin_restricted, keys)
    assert [results[key_arn(i)].status for i in (1, 2, 3)] == [Status.FAIL, Status.FAIL, Status.PASS]
    assert "kms:RetireGrant, kms:RevokeGrant" in results[key_arn(1)].message


def test_organization_wide_administration_is_outside_the_account(judge):
    # aws:PrincipalOrgID lets every account of the organization in: still administration by other accounts.
    keys = [
        key(1, policy(allow("OrgAdmins", "*", "kms:ScheduleKeyDeletion", {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorg01"}}))),
        key(2, policy(allow("OrgUse", "*", "kms:Decrypt", {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorg01"}}))),
    ]
    results = judge(kms_key_policy_admin_restricted, keys)
    assert results[key_arn(1)].status is Status.FAIL and "another account of organization o-exampleorg01" in results[key_arn(1)].message
    assert results[key_arn(2)].status is Status.PASS


def test_aws_managed_keys_are_never_judged(judge):
    aws_managed = {"region": "us-east-1", "manager": "AWS", "aliases": ["alias/aws/ebs"], "policy": policy(allow("Everyone", "*", "kms:*"))}
    assert judge(kms_key_policy_admin_restricted, [aws_managed]) == {}


def test_malformed_policy_is_error(judge):
    broken = key(1)
    broken["policy_text"] = '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"StringEquals": "x"}}]}'
    finding = judge(kms_key_policy_admin_restricted, [broken])[key_arn(1)]
    assert finding.status is Status.ERROR and "must map keys to values" in finding.message


def test_access_denied_is_error_naming_the_action(judge):
    results = judge(kms_key_policy_admin_restricted, [key(1)], faults=Faults(deny_actions={MEMBER: ["kms:DescribeKey"]}))
    assert results[key_arn(1)].status is Status.ERROR and "kms:DescribeKey" in results[key_arn(1)].message
