"""The simulator's own key-policy evaluator decides requests as AWS documents, and the simulator enforces with it.

Every expected decision cites the AWS documentation page it follows. The evaluator under
test (``scanner/simulator/kms_key_policy.py``) is independent of ``checks/policy.py``: the
simulator must not judge the checks with the checks' own code.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import botocore.exceptions
import pytest

from scanner.simulator.kms_key_policy import PolicyDocumentError, decide, glob_match, parse, _wildcard_tokens

IAM = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
EVALUATION = IAM + "reference_policies_evaluation-logic.html"
OPERATORS = IAM + "reference_policies_elements_condition_operators.html"
MULTIVALUED = IAM + "reference_policies_condition-single-vs-multi-valued-context-keys.html"
PRINCIPAL = IAM + "reference_policies_elements_principal.html"
NOT_PRINCIPAL = IAM + "reference_policies_elements_notprincipal.html"
ACTION = IAM + "reference_policies_elements_action.html"
NOT_ACTION = IAM + "reference_policies_elements_notaction.html"
RESOURCE = IAM + "reference_policies_elements_resource.html"
NOT_RESOURCE = IAM + "reference_policies_elements_notresource.html"
CONDITION = IAM + "reference_policies_elements_condition.html"
VARIABLES = IAM + "reference_policies_variables.html"
GLOBAL_KEYS = IAM + "reference_policies_condition-keys.html"
KMS = "https://docs.aws.amazon.com/kms/latest/developerguide/"
KMS_DEFAULT_POLICY = KMS + "key-policy-default.html"
KMS_CONDITIONS = KMS + "conditions-kms.html"
KMS_GLOBAL_CONDITIONS = KMS + "conditions-aws.html"

ACCOUNT, OTHER_ACCOUNT = "111122223333", "444455556666"
ORG_ID, ORG_PATH = "o-a1b2c3d4e5", "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Admin"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"


def role_session(account: str = ACCOUNT, role: str = "Admin", action: str = "kms:DescribeKey", resource: str = KEY, **context) -> dict:
    """A direct call by a role session: the request context AWS gives it (global condition keys page)."""
    return {
        "principal": {"type": "AWS", "arn": f"arn:aws:sts::{account}:assumed-role/{role}/alice", "account": account,
                      "org_id": ORG_ID, "org_paths": [ORG_PATH], "is_root": False},
        "action": action,
        "resource": resource,
        "context": {"aws:PrincipalAccount": account, "kms:CallerAccount": account, "aws:PrincipalArn": f"arn:aws:iam::{account}:role/{role}",
                    "aws:PrincipalOrgID": ORG_ID, "aws:PrincipalOrgPaths": [ORG_PATH], "aws:ResourceAccount": ACCOUNT,
                    "aws:SecureTransport": "true", "aws:ViaAWSService": "false", **context},
    }


def root_user(action: str = "kms:DescribeKey") -> dict:
    return {"principal": {"type": "AWS", "arn": ROOT, "account": ACCOUNT, "is_root": True}, "action": action, "resource": KEY,
            "context": {"aws:PrincipalAccount": ACCOUNT, "kms:CallerAccount": ACCOUNT, "aws:PrincipalArn": ROOT}}


def anonymous(action: str = "kms:DescribeKey") -> dict:
    return {"principal": {"type": "anonymous"}, "action": action, "resource": KEY, "context": {"aws:SecureTransport": "true"}}


def service(name: str = "devops-guru.amazonaws.com", action: str = "kms:DescribeKey") -> dict:
    return {"principal": {"type": "Service", "arn": name}, "action": action, "resource": KEY,
            "context": {"aws:PrincipalIsAWSService": "true", "aws:PrincipalServiceName": name}}


def with_context(request: dict, **changes) -> dict:
    """``request`` with context keys set (a value of None removes the key)."""
    context = {**request["context"], **{k.replace("__", ":").replace("_SLASH_", "/"): v for k, v in changes.items()}}
    return {**request, "context": {k: v for k, v in context.items() if v is not None}}


def policy(*statements, version="2012-10-17") -> dict:
    return {"Version": version, "Statement": list(statements)}


def allow(action="kms:*", principal=None, **extra) -> dict:
    return {"Effect": "Allow", "Principal": principal or {"AWS": "*"}, "Action": action, "Resource": "*", **extra}


def deny(action="kms:*", principal="*", **extra) -> dict:
    return {"Effect": "Deny", "Principal": principal, "Action": action, "Resource": "*", **extra}


ENABLE_IAM = {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}


def when(operator: str, key: str, value) -> dict:
    return {"Condition": {operator: {key: value}}}


# name: (policy, request, expected decision, the AWS page the expectation follows)
CASES = {
    # -- evaluation order and the default key policy
    "default key policy allows the account's role session": (policy(ENABLE_IAM), role_session(), "allow", KMS_DEFAULT_POLICY),
    "default key policy allows the account's root user": (policy(ENABLE_IAM), root_user(), "allow", KMS_DEFAULT_POLICY),
    "default key policy does not allow another account": (policy(ENABLE_IAM), role_session(OTHER_ACCOUNT), "implicit_deny", KMS_DEFAULT_POLICY),
    "default key policy does not allow anonymous callers": (policy(ENABLE_IAM), anonymous(), "implicit_deny", KMS_DEFAULT_POLICY),
    "a single Statement object is a policy": ({"Version": "2012-10-17", "Statement": ENABLE_IAM}, role_session(), "allow", IAM + "reference_policies_elements_statement.html"),
    "an explicit deny overrides an allow": (policy(ENABLE_IAM, deny("kms:DescribeKey")), role_session(), "deny", EVALUATION),
    "no statement for the action is an implicit deny": (policy(allow("kms:Encrypt")), role_session(), "implicit_deny", EVALUATION),
    "a deny for another action leaves the allow": (policy(ENABLE_IAM, deny("kms:ScheduleKeyDeletion")), role_session(), "allow", EVALUATION),
    # -- Principal and NotPrincipal
    "Principal * allows anonymous callers": (policy({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}), anonymous(), "allow", PRINCIPAL),
    "Principal AWS * is the same as *": (policy(allow()), anonymous(), "allow", PRINCIPAL),
    "an account id as principal covers its role sessions": (policy(allow(principal={"AWS": ACCOUNT})), role_session(), "allow", PRINCIPAL),
    "a role ARN as principal covers that role's sessions": (policy(allow(principal={"AWS": ROLE})), role_session(), "allow", PRINCIPAL),
    "a role ARN as principal does not cover another role": (policy(allow(principal={"AWS": ROLE})), role_session(role="Reader"), "implicit_deny", PRINCIPAL),
    "an assumed-role session ARN as principal covers that session": (policy(allow(principal={"AWS": SESSION})), role_session(), "allow", PRINCIPAL),
    "a role ARN does not cover the account's root user": (policy(allow(principal={"AWS": ROLE})), root_user(), "implicit_deny", PRINCIPAL),
    "a service principal covers that service": (policy(allow(principal={"Service": "devops-guru.amazonaws.com"})), service(), "allow", PRINCIPAL),
    "a service principal does not cover a role": (policy(allow(principal={"Service": "devops-guru.amazonaws.com"})), role_session(), "implicit_deny", PRINCIPAL),
    "a service principal does not cover another service": (policy(allow(principal={"Service": "devops-guru.amazonaws.com"})), service("s3.amazonaws.com"), "implicit_deny", PRINCIPAL),
    "NotPrincipal naming only the account denies its role sessions": (
        policy(ENABLE_IAM, {"Effect": "Deny", "NotPrincipal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}), role_session(), "deny", NOT_PRINCIPAL),
    "NotPrincipal naming the account exempts its root user": (
        policy(ENABLE_IAM, {"Effect": "Deny", "NotPrincipal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}), root_user(), "allow", NOT_PRINCIPAL),
    "NotPrincipal naming the account and the role exempts the role's session": (
        policy(ENABLE_IAM, {"Effect": "Deny", "NotPrincipal": {"AWS": [ROOT, ROLE]}, "Action": "kms:*", "Resource": "*"}), role_session(), "allow", NOT_PRINCIPAL),
    "NotPrincipal naming the role without its account still denies": (
        policy(ENABLE_IAM, {"Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "Action": "kms:*", "Resource": "*"}), role_session(), "deny", NOT_PRINCIPAL),
    "NotPrincipal naming another account denies this one": (
        policy(ENABLE_IAM, {"Effect": "Deny", "NotPrincipal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}), root_user(), "deny", NOT_PRINCIPAL),
    "NotPrincipal naming the service exempts it": (
        policy(allow(principal={"Service": "devops-guru.amazonaws.com"}),
               {"Effect": "Deny", "NotPrincipal": {"Service": "devops-guru.amazonaws.com"}, "Action": "kms:*", "Resource": "*"}), service(), "allow", NOT_PRINCIPAL),
    # -- Action and NotAction
    "action wildcards match": (policy(allow("kms:Describe*")), role_session(), "allow", ACTION),
    "actions match without regard to case": (policy(allow("KMS:describekey")), role_session(), "allow", ACTION),
    "? matches one character of an action": (policy(allow("kms:Describe?ey")), role_session(), "allow", ACTION),
    "? does not match two characters": (policy(allow("kms:Describe?")), role_session(), "implicit_deny", ACTION),
    "NotAction allows what it does not name": (
        policy({"Effect": "Allow", "Principal": {"AWS": ROOT}, "NotAction": "kms:ScheduleKeyDeletion", "Resource": "*"}), role_session(), "allow", NOT_ACTION),
    "NotAction does not allow what it names": (
        policy({"Effect": "Allow", "Principal": {"AWS": ROOT}, "NotAction": "kms:ScheduleKeyDeletion", "Resource": "*"}), role_session(action="kms:ScheduleKeyDeletion"), "implicit_deny", NOT_ACTION),
    "a Deny with NotAction denies every other action": (
        policy(ENABLE_IAM, {"Effect": "Deny", "Principal": "*", "NotAction": "kms:Describe*", "Resource": "*"}), role_session(action="kms:Decrypt"), "deny", NOT_ACTION),
    "a Deny with NotAction spares the actions it names": (
        policy(ENABLE_IAM, {"Effect": "Deny", "Principal": "*", "NotAction": "kms:Describe*", "Resource": "*"}), role_session(), "allow", NOT_ACTION),
    # -- Resource and NotResource
    "a Resource naming another key does not allow on this one": (
        policy(allow() | {"Resource": KEY.replace("1234abcd", "9999abcd")}), role_session(), "implicit_deny", RESOURCE),
    "a Resource pattern for the account's keys allows on this one": (
        policy(allow() | {"Resource": f"arn:aws:kms:*:{ACCOUNT}:key/*"}), role_session(), "allow", RESOURCE),
    "a Deny with NotResource naming this key spares it": (
        policy(ENABLE_IAM, {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "NotResource": KEY}), role_session(), "allow", NOT_RESOURCE),
    "a Deny with NotResource naming another key applies to this one": (
        policy(ENABLE_IAM, {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "NotResource": KEY + "x"}), role_session(), "deny", NOT_RESOURCE),
    # -- string operators and missing keys
    "StringEquals on kms:CallerAccount allows the account": (policy(allow(**when("StringEquals", "kms:CallerAccount", ACCOUNT))), role_session(), "allow", KMS_CONDITIONS),
    "StringEquals on kms:CallerAccount does not allow another account": (policy(allow(**when("StringEquals", "kms:CallerAccount", ACCOUNT))), role_session(OTHER_ACCOUNT), "implicit_deny", KMS_CONDITIONS),
    "a positive operator on a missing key is false": (policy(allow(**when("StringEquals", "kms:ViaService", "ec2.us-east-1.amazonaws.com"))), role_session(), "implicit_deny", OPERATORS),
    "condition key names are not case-sensitive": (policy(allow(**when("StringEquals", "KMS:CALLERACCOUNT", ACCOUNT))), role_session(), "allow", CONDITION),
    "StringEquals values are case-sensitive": (policy(allow(**when("StringEquals", "aws:PrincipalArn", ROLE.lower()))), role_session(), "implicit_deny", OPERATORS),
    "StringEqualsIgnoreCase ignores case": (policy(allow(**when("StringEqualsIgnoreCase", "aws:PrincipalArn", ROLE.upper()))), role_session(), "allow", OPERATORS),
    "several values of one key are ORed": (policy(allow(**when("StringEquals", "aws:PrincipalAccount", [OTHER_ACCOUNT, ACCOUNT]))), role_session(), "allow", CONDITION),
    "several keys are ANDed": (policy(allow(Condition={"StringEquals": {"aws:PrincipalAccount": ACCOUNT, "kms:ViaService": "s3.us-east-1.amazonaws.com"}})), role_session(), "implicit_deny", CONDITION),
    "several operators are ANDed": (policy(allow(Condition={"StringEquals": {"aws:PrincipalAccount": ACCOUNT}, "Bool": {"aws:SecureTransport": "false"}})), role_session(), "implicit_deny", CONDITION),
    "a negated operator on a missing key is true: deny unless from the VPC endpoint": (
        policy(ENABLE_IAM, deny(**when("StringNotEquals", "aws:SourceVpce", "vpce-1a2b3c4d"))), role_session(), "deny", OPERATORS),
    "a negated operator on a matching value is false": (
        policy(ENABLE_IAM, deny(**when("StringNotEquals", "aws:SourceVpce", "vpce-1a2b3c4d"))), role_session(**{"aws:SourceVpce": "vpce-1a2b3c4d"}), "allow", OPERATORS),
    "a negated operator with several values is a NOR": (
        policy(ENABLE_IAM, deny(**when("StringNotEquals", "aws:PrincipalAccount", [ACCOUNT, OTHER_ACCOUNT]))), role_session(), "allow", CONDITION),
    "StringNotEqualsIfExists on a missing key is true": (
        policy(ENABLE_IAM, deny(**when("StringNotEqualsIfExists", "aws:SourceVpce", "vpce-1a2b3c4d"))), role_session(), "deny", OPERATORS),
    "StringEqualsIfExists on a missing key is true": (
        policy(allow(**when("StringEqualsIfExists", "kms:ViaService", "s3.us-east-1.amazonaws.com"))), role_session(), "allow", OPERATORS),
    "StringEqualsIfExists on a present key compares it": (
        policy(allow(**when("StringEqualsIfExists", "kms:CallerAccount", OTHER_ACCOUNT))), role_session(), "implicit_deny", OPERATORS),
    "a service-call exception spares DevOps Guru from a VPC-endpoint guard": (
        policy(allow(principal={"Service": "devops-guru.amazonaws.com"}),
               deny(Condition={"StringNotEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}, "BoolIfExists": {"aws:ViaAWSService": "false"}})),
        with_context(role_session(), **{"aws__ViaAWSService": "true", "kms__ViaService": "devops-guru.us-east-1.amazonaws.com"}), "implicit_deny", GLOBAL_KEYS),
    "without the exception the VPC-endpoint guard blocks the service call": (
        policy(ENABLE_IAM, deny(**when("StringNotEqualsIfExists", "aws:SourceVpce", "vpce-1a2b3c4d"))),
        with_context(role_session(), **{"aws__ViaAWSService": "true", "kms__ViaService": "devops-guru.us-east-1.amazonaws.com"}), "deny", GLOBAL_KEYS),
    "StringLike matches wildcards": (policy(allow(**when("StringLike", "aws:PrincipalArn", f"arn:aws:iam::{ACCOUNT}:role/Adm*"))), role_session(), "allow", OPERATORS),
    "StringLike ? matches exactly one character": (policy(allow(**when("StringLike", "aws:PrincipalArn", f"arn:aws:iam::{ACCOUNT}:role/Admi?"))), role_session(), "allow", OPERATORS),
    "StringNotLike on a matching value is false": (policy(ENABLE_IAM, deny(**when("StringNotLike", "aws:PrincipalArn", "arn:aws:iam::*:role/Adm*"))), role_session(), "allow", OPERATORS),
    "StringNotLike on a missing key is true": (policy(ENABLE_IAM, deny(**when("StringNotLike", "aws:SourceArn", "arn:aws:s3:::*"))), role_session(), "deny", OPERATORS),
    # -- ARN operators
    "ArnLike matches per ARN part with wildcards": (policy(allow(**when("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:role/Admin"))), role_session(), "allow", OPERATORS),
    "ArnEquals takes wildcards as ArnLike does": (policy(allow(**when("ArnEquals", "aws:PrincipalArn", "arn:aws:iam::*:role/*"))), role_session(), "allow", OPERATORS),
    "ArnLike: a wildcard stays within its ARN part": (policy(allow(**when("ArnLike", "aws:PrincipalArn", "arn:aws:*:role/Admin"))), role_session(), "implicit_deny", OPERATORS),
    "ArnLike does not match another account": (policy(allow(**when("ArnLike", "aws:PrincipalArn", f"arn:aws:iam::{OTHER_ACCOUNT}:role/*"))), role_session(), "implicit_deny", OPERATORS),
    "ArnNotLike on a missing key is true": (policy(ENABLE_IAM, deny(**when("ArnNotLike", "aws:SourceArn", "arn:aws:cloudtrail:*"))), role_session(), "deny", OPERATORS),
    "an ARN operator does not match a value that is not an ARN": (policy(allow(**when("ArnLike", "kms:CallerAccount", "*"))), role_session(), "implicit_deny", OPERATORS),
    # -- Null, Bool, numbers, dates, addresses
    "Null true holds when the key is missing": (policy(ENABLE_IAM, deny(**when("Null", "aws:SourceVpce", "true"))), role_session(), "deny", OPERATORS),
    "Null true does not hold when the key is present": (policy(ENABLE_IAM, deny(**when("Null", "aws:PrincipalOrgID", "true"))), role_session(), "allow", OPERATORS),
    "Null false holds when the key is present": (policy(allow(**when("Null", "aws:PrincipalOrgID", "false"))), role_session(), "allow", OPERATORS),
    "Bool SecureTransport false does not deny an HTTPS call": (policy(ENABLE_IAM, deny(**when("Bool", "aws:SecureTransport", "false"))), role_session(), "allow", OPERATORS),
    "Bool on a missing key is false": (policy(ENABLE_IAM, deny(**when("Bool", "aws:SecureTransport", "false"))), with_context(role_session(), aws__SecureTransport=None), "allow", OPERATORS),
    "Bool takes a JSON boolean": (policy(ENABLE_IAM, deny(**when("Bool", "aws:ViaAWSService", False))), role_session(), "deny", OPERATORS),
    "NumericLessThan compares numbers": (policy(allow(**when("NumericLessThan", "aws:MultiFactorAuthAge", "3600"))), role_session(**{"aws:MultiFactorAuthAge": "120"}), "allow", OPERATORS),
    "NumericGreaterThanEquals compares numbers": (policy(allow(**when("NumericGreaterThanEquals", "aws:MultiFactorAuthAge", 3600))), role_session(**{"aws:MultiFactorAuthAge": "120.0"}), "implicit_deny", OPERATORS),
    "DateLessThan compares ISO 8601 dates": (policy(allow(**when("DateLessThan", "aws:CurrentTime", "2030-01-01T00:00:00Z"))), role_session(**{"aws:CurrentTime": "2026-11-30T12:00:00Z"}), "allow", OPERATORS),
    "DateGreaterThan compares epoch seconds with ISO dates": (policy(allow(**when("DateGreaterThan", "aws:CurrentTime", "1893456000"))), role_session(**{"aws:CurrentTime": "2026-11-30T12:00:00Z"}), "implicit_deny", OPERATORS),
    "IpAddress matches a CIDR range": (policy(allow(**when("IpAddress", "aws:SourceIp", "203.0.113.0/24"))), role_session(**{"aws:SourceIp": "203.0.113.7"}), "allow", OPERATORS),
    "NotIpAddress on an address outside the range is true": (policy(ENABLE_IAM, deny(**when("NotIpAddress", "aws:SourceIp", "203.0.113.0/24"))), role_session(**{"aws:SourceIp": "198.51.100.1"}), "deny", OPERATORS),
    "NotIpAddress on a missing key is true": (policy(ENABLE_IAM, deny(**when("NotIpAddress", "aws:SourceIp", "203.0.113.0/24"))), role_session(), "deny", OPERATORS),
    # -- multivalued keys
    "ForAnyValue:StringLike on the account's OU path": (
        policy(allow(**when("ForAnyValue:StringLike", "aws:PrincipalOrgPaths", f"{ORG_ID}/r-ab12/ou-ab12-11111111/*"))), role_session(), "allow", GLOBAL_KEYS),
    "ForAnyValue:StringLike on another OU path": (
        policy(allow(**when("ForAnyValue:StringLike", "aws:PrincipalOrgPaths", f"{ORG_ID}/r-ab12/ou-ab12-22222222/*"))), role_session(), "implicit_deny", GLOBAL_KEYS),
    "ForAnyValue on a missing key is false": (policy(allow(**when("ForAnyValue:StringLike", "aws:PrincipalOrgPaths", "*"))), anonymous(), "implicit_deny", MULTIVALUED),
    "ForAllValues on a missing key is true": (
        policy(allow(**when("ForAllValues:StringEquals", "kms:GrantOperations", ["Decrypt", "Encrypt"]))), role_session(action="kms:CreateGrant"), "allow", MULTIVALUED),
    "ForAllValues holds when every request value is listed": (
        policy(allow(**when("ForAllValues:StringEquals", "kms:GrantOperations", ["Decrypt", "Encrypt"]))),
        role_session(action="kms:CreateGrant", **{"kms:GrantOperations": ["Decrypt"]}), "allow", MULTIVALUED),
    "ForAllValues fails when one request value is not listed": (
        policy(allow(**when("ForAllValues:StringEquals", "kms:GrantOperations", ["Decrypt", "Encrypt"]))),
        role_session(action="kms:CreateGrant", **{"kms:GrantOperations": ["Decrypt", "RetireGrant"]}), "implicit_deny", MULTIVALUED),
    "ForAnyValue:StringNotEquals holds when one request value is not listed": (
        policy(ENABLE_IAM, deny(**when("ForAnyValue:StringNotEquals", "kms:GrantOperations", ["Decrypt", "Encrypt"]))),
        role_session(action="kms:CreateGrant", **{"kms:GrantOperations": ["Decrypt", "RetireGrant"]}), "deny", MULTIVALUED),
    # -- organization and account guards
    "aws:PrincipalOrgID admits another account of the organization": (
        policy(allow(**when("StringEquals", "aws:PrincipalOrgID", ORG_ID))), role_session(OTHER_ACCOUNT), "allow", GLOBAL_KEYS),
    "aws:PrincipalOrgID does not admit an anonymous caller": (policy(allow(**when("StringEquals", "aws:PrincipalOrgID", ORG_ID))), anonymous(), "implicit_deny", GLOBAL_KEYS),
    "kms:ViaService admits a call through that service": (
        policy(allow(**when("StringEquals", "kms:ViaService", "ec2.us-east-1.amazonaws.com"))),
        role_session(**{"kms:ViaService": "ec2.us-east-1.amazonaws.com"}), "allow", KMS_CONDITIONS),
    "kms:ViaService does not admit a direct call": (policy(allow(**when("StringEquals", "kms:ViaService", "ec2.us-east-1.amazonaws.com"))), role_session(), "implicit_deny", KMS_CONDITIONS),
    # -- policy variables
    "a policy variable resolves from the request": (
        policy(ENABLE_IAM, deny(**when("StringNotEquals", "aws:PrincipalAccount", "${aws:ResourceAccount}"))), role_session(), "allow", VARIABLES),
    "a policy variable: another account is denied": (
        policy(ENABLE_IAM | {"Principal": "*"}, deny(**when("StringNotEquals", "aws:PrincipalAccount", "${aws:ResourceAccount}"))), role_session(OTHER_ACCOUNT), "deny", VARIABLES),
    "a policy variable in an ARN condition": (
        policy(allow(**when("ArnLike", "aws:PrincipalArn", "arn:aws:iam::${aws:PrincipalAccount}:role/*"))), role_session(), "allow", VARIABLES),
    "a policy variable's default stands in for a missing key": (
        policy(allow(**when("StringEquals", "kms:CallerAccount", "${aws:SourceAccount, '" + ACCOUNT + "'}"))), role_session(), "allow", VARIABLES),
    "a statement whose variable cannot be resolved does not apply": (
        policy(ENABLE_IAM, deny(**when("StringNotEquals", "kms:CallerAccount", "${aws:SourceAccount}"))), role_session(), "allow", VARIABLES),
    "a policy variable in Resource": (policy(allow() | {"Resource": "arn:aws:kms:*:${aws:PrincipalAccount}:key/*"}), role_session(), "allow", VARIABLES),
    "${*} is a literal asterisk": (policy(allow(**when("StringLike", "aws:PrincipalTag/team", "web${*}"))), role_session(**{"aws:PrincipalTag/team": "web-a"}), "implicit_deny", VARIABLES),
    "without Version 2012-10-17 ${...} is literal text": (
        policy(allow(**when("StringEquals", "aws:PrincipalAccount", "${aws:ResourceAccount}")), version="2008-10-17"), role_session(), "implicit_deny", VARIABLES),
}


@pytest.mark.parametrize("name", list(CASES))
def test_decides_as_the_aws_documentation_says(name):
    document, request, expected, page = CASES[name]
    assert page.startswith("https://docs.aws.amazon.com/")
    assert decide(document, request) == expected, f"{name} ({page})"
    assert decide(json.dumps(document), request) == expected  # JSON text and parsed JSON alike


def test_the_table_covers_every_decision_and_operator_family():
    assert {expected for _, _, expected, _ in CASES.values()} == {"allow", "deny", "implicit_deny"}
    operators = {op.split(":")[-1].lower() for document, *_ in CASES.values()
                 for statement in document["Statement"] if isinstance(document["Statement"], list)
                 for op in statement.get("Condition", {})}
    for family in ("stringequals", "stringnotequals", "stringequalsignorecase", "stringlike", "stringnotlike", "arnlike", "arnequals",
                   "arnnotlike", "null", "bool", "numericlessthan", "datelessthan", "ipaddress", "notipaddress",
                   "stringnotequalsifexists", "stringequalsifexists", "boolifexists"):
        assert family in operators, family


@pytest.mark.parametrize("document, problem", [
    ("{not json", "not valid JSON"),
    ({"Version": "2012-10-17"}, "Statement"),
    (policy({"Effect": "allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}), "Effect"),
    (policy({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "NotAction": "kms:Decrypt", "Resource": "*"}), "both Action and NotAction"),
    (policy({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}), "neither Principal nor NotPrincipal"),
    (policy({"Effect": "Allow", "Principal": "someone", "Action": "kms:*", "Resource": "*"}), "Principal"),
    (policy({"Effect": "Allow", "Principal": {"Robot": "x"}, "Action": "kms:*", "Resource": "*"}), "unknown principal type"),
    (policy(allow(**when("StringEqualz", "aws:PrincipalAccount", ACCOUNT))), "unknown condition operator"),
    (policy(allow(**when("NullIfExists", "aws:PrincipalAccount", "true"))), "Null takes neither"),
    (policy(allow(**when("ForSomeValues:StringEquals", "aws:PrincipalAccount", ACCOUNT))), "unknown qualifier"),
    (policy(allow(**when("StringEquals", "aws:PrincipalAccount", {"nested": 1}))), "must be a value"),
])
def test_a_document_aws_would_not_accept_is_named(document, problem):
    """IAM rejects these documents (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html)."""
    with pytest.raises(PolicyDocumentError) as caught:
        decide(document, role_session())
    assert problem in str(caught.value)


def test_hostile_wildcard_patterns_are_matched_in_bounded_steps():
    # A backtracking matcher takes exponential time on these; the two-pointer one takes at most
    # len(pattern) * len(text) steps, so the test completes (no timing assertion needed).
    hostile = "kms:" + "*" * 40 + "x"
    action = "kms:" + "a" * 200
    assert glob_match(_wildcard_tokens(hostile), action) is False
    assert decide(policy(allow(hostile)), role_session(action=action)) == "implicit_deny"
    long_pattern = "*a" * 300 + "b"
    assert decide(policy(allow(**when("StringLike", "aws:PrincipalTag/team", long_pattern))),
                  role_session(**{"aws:PrincipalTag/team": "a" * 2000})) == "implicit_deny"
    assert glob_match(_wildcard_tokens("*a*b*c"), "xxaxxbxxc") and not glob_match(_wildcard_tokens("*a*b*c"), "xxaxxcxxb")
    assert glob_match(_wildcard_tokens(""), "") and not glob_match(_wildcard_tokens(""), "x")


def test_the_simulator_package_never_imports_the_checks():
    """The simulator judges the checks: it must not share their code (and the host never imports its plugins)."""
    package = Path(__file__).resolve().parents[2] / "scanner" / "simulator"
    offenders = []
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            offenders += [f"{source.name}: {name}" for name in names if name == "checks" or name.startswith("checks.")]
    assert offenders == []


def test_the_finer_principal_types_of_the_shared_table_are_read_alike():
    """``root``, ``role-session`` (role ``arn`` plus ``session_arn``) and ``user`` are AWS principals (Principal element page)."""
    session = {"type": "role-session", "account": ACCOUNT, "arn": ROLE, "session_arn": SESSION}
    root = {"type": "root", "account": ACCOUNT, "arn": ROOT}
    user = {"type": "user", "account": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/bob"}
    only_root = policy(ENABLE_IAM, {"Effect": "Deny", "NotPrincipal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"})
    for principal, expected in ((session, "deny"), (root, "allow"), (user, "deny")):
        assert decide(only_root, {"principal": principal, "action": "kms:Decrypt", "resource": KEY, "context": {}}) == expected, principal
    by_session = policy(allow(principal={"AWS": SESSION}))
    assert decide(by_session, {"principal": session, "action": "kms:Decrypt", "resource": KEY, "context": {}}) == "allow"
    # A request for no resource in particular: Resource does not narrow it (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
    assert decide(policy(allow() | {"Resource": KEY}), {"principal": session, "action": "kms:ListAliases", "resource": None, "context": {}}) == "allow"


def test_an_account_id_of_non_ascii_digits_names_no_account():
    """An account id is 12 ASCII digits (https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-identifiers.html).

    Python's ``\\d`` also takes Arabic-Indic digits: such a ``Principal`` must not cover a caller as an account would.
    """
    arabic_indic = "\u0661" * 12
    caller = {"type": "role-session", "account": arabic_indic, "arn": f"arn:aws:iam::{arabic_indic}:role/x"}
    request = {"principal": caller, "action": "kms:Decrypt", "resource": KEY, "context": {}}
    for value in (arabic_indic, f"arn:aws:iam::{arabic_indic}:root"):
        assert decide(policy(allow(principal={"AWS": value})), request) == "implicit_deny", value
        assert decide(policy(allow(principal={"AWS": ACCOUNT}), {"Effect": "Deny", "NotPrincipal": {"AWS": value}, "Action": "kms:*", "Resource": "*"}),
                      role_session()) == "deny", value
    assert decide(policy(allow(principal={"AWS": ACCOUNT})), role_session()) == "allow"


def test_statements_report_the_keys_they_read():
    statements = parse(policy(deny(Condition={"StringNotEquals": {"AWS:SourceVpce": "vpce-1"}, "BoolIfExists": {"aws:ViaAWSService": "false"}})))
    assert statements[0].condition_keys == {"aws:sourcevpce", "aws:viaawsservice"}


# -- the simulator enforces key-policy Denies on direct calls with this evaluator ---------------------

MEMBER, MANAGEMENT = "222222222222", "111111111111"
MEMBER_ROOT = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{MEMBER}:root"}, "Action": "kms:*", "Resource": "*"}
MEMBER_ROLE = f"arn:aws:iam::{MEMBER}:role/OrganizationAccountAccessRole"

# name: (a Deny statement in the key policy, whether the scanner's DescribeKey as the member role is denied, page)
ENFORCED_DENIES = {
    "NotPrincipal naming only the account root": (
        {"Effect": "Deny", "NotPrincipal": {"AWS": f"arn:aws:iam::{MEMBER}:root"}, "Action": "kms:*", "Resource": "*"}, True, NOT_PRINCIPAL),
    "NotPrincipal naming the account and the scanner's role": (
        {"Effect": "Deny", "NotPrincipal": {"AWS": [f"arn:aws:iam::{MEMBER}:root", MEMBER_ROLE]}, "Action": "kms:*", "Resource": "*"}, False, NOT_PRINCIPAL),
    "deny unless from the VPC endpoint (a direct call has none)": (
        deny(**when("StringNotEquals", "aws:SourceVpce", "vpce-1a2b3c4d")), True, OPERATORS),
    "deny unless through a VPC endpoint or an AWS service, IfExists form": (
        deny(Condition={"StringNotEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}, "BoolIfExists": {"aws:ViaAWSService": "false"}}), True, GLOBAL_KEYS),
    "deny plain HTTP (KMS is HTTPS only)": (deny(**when("Bool", "aws:SecureTransport", "false")), False, OPERATORS),
    "deny outside the organization": (deny(**when("StringNotEquals", "aws:PrincipalOrgID", "o-exampleorg01")), False, GLOBAL_KEYS),
    "deny another organization's members": (deny(**when("StringNotEquals", "aws:PrincipalOrgID", "o-otherorg99")), True, GLOBAL_KEYS),
    "deny callers in the account's OU": (deny(**when("ForAnyValue:StringLike", "aws:PrincipalOrgPaths", "o-exampleorg01/*")), True, GLOBAL_KEYS),
    "deny principals of other accounts (policy variable)": (deny(**when("StringNotEquals", "aws:PrincipalAccount", "${aws:ResourceAccount}")), False, VARIABLES),
    "deny the member role by ARN": (deny(**when("ArnLike", "aws:PrincipalArn", f"arn:aws:iam::{MEMBER}:role/Organization*")), True, OPERATORS),
    "deny through another service": (deny(**when("StringEquals", "kms:ViaService", "s3.us-east-1.amazonaws.com")), False, KMS_CONDITIONS),
    # A key the simulator cannot tell (the caller's IP): the Deny may apply, so it blocks, as moto blocks every Deny.
    "deny outside an address range the simulator cannot tell": (deny(**when("NotIpAddress", "aws:SourceIp", "203.0.113.0/24")), True, OPERATORS),
    # ... unless another condition of the same Deny is certainly false for a direct call.
    "an untold key next to a condition a direct call cannot meet": (
        deny(Condition={"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}, "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}), False, OPERATORS),
}


def test_the_simulator_enforces_key_policy_denies_with_its_own_evaluator(make_org):
    keys = [{"id": f"2a2a2a2a-2222-4222-8222-{index:012d}", "policy": policy(MEMBER_ROOT, statement)}
            for index, (statement, _, _) in enumerate(ENFORCED_DENIES.values())]
    sim = make_org({"organization": {"id": "o-exampleorg01", "management_account": MANAGEMENT, "regions": ["us-east-1"], "units": ["Workloads/Prod"]},
                    "accounts": [{"id": MANAGEMENT, "name": "m", "email": "m@example.com", "default_vpc": False},
                                 {"id": MEMBER, "name": "a", "email": "a@example.com", "ou": "Workloads/Prod", "default_vpc": False, "kms_keys": keys}]})
    kms = sim.client("kms", "us-east-1", account_id=MEMBER)
    outcomes = {}
    for name, key in zip(ENFORCED_DENIES, keys):
        try:
            kms.describe_key(KeyId=key["id"])
            outcomes[name] = False
        except botocore.exceptions.ClientError as error:
            assert error.response["Error"]["Code"] == "AccessDeniedException"
            assert f"assumed-role/OrganizationAccountAccessRole/" in error.response["Error"]["Message"]
            outcomes[name] = True
    assert outcomes == {name: denied for name, (_, denied, _) in ENFORCED_DENIES.items()}


# -- the shared table: the simulator's evaluator and orgscan's checks are judged on the same documented cases ---

SHARED_TABLE = Path(__file__).resolve().parents[1] / "checks" / "policy_cases.py"
SHARED_DECISIONS = {"Allow": "allow", "ExplicitDeny": "deny", "ImplicitDeny": "implicit_deny"}


def _shared_cases() -> list:
    """The cases of ``tests/checks/policy_cases.py``, loaded by path (``tests/`` is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("shared_policy_cases", SHARED_TABLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # a missing table fails collection here: the cross-check is never skipped
    return list(module.CASES)


SHARED_CASES = _shared_cases()
#: The principal types the table uses (its docstring) that ``decide`` reads; anything else it would take for anonymous.
SHARED_PRINCIPAL_TYPES = {"root", "role-session", "user", "service", "anonymous"}


def test_the_shared_table_is_read_as_its_fields_say():
    # An empty table would turn the cross-check below into zero tests; an unknown principal type,
    # a missing field or another decision name would make decide answer a different question.
    assert len(SHARED_CASES) >= 100
    for case in SHARED_CASES:
        assert case["expected"] in SHARED_DECISIONS, case["id"]
        assert case["doc"].startswith("https://docs.aws.amazon.com/"), case["id"]
        request = case["request"]
        assert set(request) == {"principal", "action", "resource", "context"}, case["id"]
        principal = request["principal"]
        assert principal["type"] in SHARED_PRINCIPAL_TYPES, case["id"]
        if principal["type"] == "service":
            assert principal.get("service"), case["id"]  # decide reads the service name from "service"
        elif principal["type"] != "anonymous":
            assert principal.get("account") and principal.get("arn"), case["id"]


@pytest.mark.parametrize("case", SHARED_CASES, ids=[case["id"] for case in SHARED_CASES])
def test_the_simulator_decides_the_shared_table_as_aws_documents(case):
    # tests/checks/test_policy_cases.py runs checks/policy.py over the same cases: the two independent
    # evaluators agree exactly when both agree with the documentation.
    assert decide(case["policy"], case["request"]) == SHARED_DECISIONS[case["expected"]], f"{case['pattern']} ({case['doc']})"
