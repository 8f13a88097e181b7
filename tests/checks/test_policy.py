"""The policy evaluator: parsing, matching, AWS's rules per operator, properties (hypothesis) and hostile input."""
from __future__ import annotations

import json
import re

import pytest
from hypothesis import assume, given, settings, strategies as st

from checks.devopsguru.devopsguru_cmk_policy_grants_service import judge, service_access
from checks.devopsguru.devopsguru_endpoint_policy_restricted import endpoint_public_accesses, is_default_full_access
from checks.kms.kms_key_policy_admin_restricted import admin_accesses
from checks.kms.kms_key_policy_no_public_access import kms_outside_requests, public_accesses
from checks.policy import (
    CALLER_LIMITING_KEYS,
    LIMITS,
    Caller,
    CallerKind,
    PolicyError,
    Request,
    Verdict,
    account_of_principal,
    action_matches,
    evaluate,
    evaluate_condition,
    explicit_denies,
    glob_match,
    glob_steps,
    parse_policy,
)
from checks.request_kinds import KMS_ACTIONS, allowed_accesses, outside_callers
from scanner.model import Status

ACCOUNT = "111122223333"
OTHER = "444455556666"
REGION = "us-east-1"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
DOC_OPERATORS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html"


def policy_of(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


ROOT_STATEMENT = {
    "Sid": "Enable IAM User Permissions",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}

#: The statement of AWS's DevOps Guru data-protection guidance.
DEVOPS_GURU_GUIDANCE = {
    "Sid": "AllowDevOpsGuru",
    "Effect": "Allow",
    "Principal": {"AWS": "*"},
    "Action": ["kms:CreateGrant", "kms:DescribeKey"],
    "Resource": "*",
    "Condition": {"StringEquals": {"kms:ViaService": f"devops-guru.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}},
}


def _public(document) -> bool:
    return bool(public_accesses(parse_policy(document), KEY_ARN, ACCOUNT, "aws"))


def _grants_status(document, strict=False):
    return judge(service_access(parse_policy(document), ACCOUNT, REGION, "aws", KEY_ARN), ACCOUNT, REGION, strict)[0]


# --------------------------------------------------------------------------
# DevOps Guru's request: what AWS allows, and what the guidance's strict reading asks
# --------------------------------------------------------------------------


def _guidance_with(condition):
    return policy_of(dict(DEVOPS_GURU_GUIDANCE, Condition=condition))


VIA = f"devops-guru.{REGION}.amazonaws.com"


@pytest.mark.parametrize(
    "condition,allowed",
    [
        # kms:ViaService is present in DevOps Guru's request: IfExists tests it like StringEquals.
        ({"StringEqualsIfExists": {"kms:ViaService": VIA}, "StringEquals": {"kms:CallerAccount": ACCOUNT}}, True),
        ({"StringNotEquals": {"kms:ViaService": VIA}, "StringEquals": {"kms:CallerAccount": ACCOUNT}}, False),
        ({"StringLike": {"kms:ViaService": "devops-guru.*.amazonaws.com"}, "StringEquals": {"kms:CallerAccount": ACCOUNT}}, True),
        ({"StringEquals": {"kms:ViaService": "devops-guru.eu-west-1.amazonaws.com", "kms:CallerAccount": ACCOUNT}}, False),
        ({"StringEquals": {"kms:ViaService": VIA, "kms:CallerAccount": OTHER}}, False),
        ({"StringEquals": {"kms:ViaService": VIA}}, True),
        ({"StringEquals": {"kms:CallerAccount": ACCOUNT}}, True),
        ({"ForAnyValue:StringEquals": {"kms:ViaService": VIA}, "StringEquals": {"kms:CallerAccount": ACCOUNT}}, True),
        ({"StringEquals": {"kms:ViaService": VIA, "kms:CallerAccount": ACCOUNT}, "StringNotEqualsIgnoreCase": {"kms:ViaService": VIA.upper()}}, False),
    ],
    ids=["ifexists", "negated", "wildcard", "wrong-region", "wrong-account", "no-calleraccount", "no-viaservice", "set-operator", "contradiction"],
)
def test_devops_guru_request_against_guidance_variants(condition, allowed):
    # Follows DOC_OPERATORS: each operator decides DevOps Guru's concrete request. The strict reading
    # (require_explicit_statement) accepts only the guidance's exact-match statement.
    assert _grants_status(_guidance_with(condition)) is (Status.PASS if allowed else Status.FAIL)
    assert _grants_status(_guidance_with(condition), strict=True) is Status.FAIL


def test_guidance_variants_that_the_strict_reading_accepts():
    ignore_case = {"StringEqualsIgnoreCase": {"KMS:VIASERVICE": f"DevOps-Guru.{REGION}.amazonaws.com"}, "StringEquals": {"kms:calleraccount": [OTHER, ACCOUNT]}}
    assert _grants_status(_guidance_with(ignore_case), strict=True) is Status.PASS
    split = policy_of(
        dict(DEVOPS_GURU_GUIDANCE, Action="kms:CreateGrant", Sid="Grant"),
        dict(DEVOPS_GURU_GUIDANCE, Action="KMS:describe*", Sid="Describe", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}),
    )
    assert _grants_status(split, strict=True) is Status.PASS
    with_grant_condition = _guidance_with(
        {"StringEquals": {"kms:ViaService": VIA, "kms:CallerAccount": ACCOUNT}, "Bool": {"kms:GrantIsForAWSResource": True}}
    )
    # kms:GrantIsForAWSResource exists only in grant requests: the shared statement no longer allows DescribeKey.
    accesses = {a.action: a.allowed for a in service_access(parse_policy(with_grant_condition), ACCOUNT, REGION, "aws", KEY_ARN)}
    assert accesses == {"kms:CreateGrant": True, "kms:DescribeKey": False}


def test_delegation_to_iam_passes_with_the_evidence_that_iam_must_allow_it():
    status, message = judge(service_access(parse_policy(policy_of(ROOT_STATEMENT)), ACCOUNT, REGION, "aws", KEY_ARN), ACCOUNT, REGION, False)
    assert status is Status.PASS
    assert "delegates to IAM (Sid 'Enable IAM User Permissions')" in message and "IAM policy of the principal" in message
    strict_status, strict_message = judge(service_access(parse_policy(policy_of(ROOT_STATEMENT)), ACCOUNT, REGION, "aws", KEY_ARN), ACCOUNT, REGION, True)
    assert strict_status is Status.FAIL and "require_explicit_statement" in strict_message


def test_allow_to_one_named_role_depends_on_who_configures_devops_guru():
    named = policy_of(dict(ROOT_STATEMENT, Sid="OnlyOps", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/Ops"}))
    status, message = judge(service_access(parse_policy(named), ACCOUNT, REGION, "aws", KEY_ARN), ACCOUNT, REGION, False)
    assert status is Status.FAIL and "allowed only to some principals of the account (Sid 'OnlyOps')" in message


def test_deny_on_the_principal_name_is_reported_as_possible_not_certain():
    document = policy_of(
        DEVOPS_GURU_GUIDANCE,
        {"Sid": "OnlyAdmins", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/Admin*"}}},
    )
    accesses = service_access(parse_policy(document), ACCOUNT, REGION, "aws", KEY_ARN)
    assert all(a.allowed and not a.denied_by and [s.sid for s in a.maybe_denied_by] == ["OnlyAdmins"] for a in accesses)
    assert _grants_status(document) is Status.PASS


# --------------------------------------------------------------------------
# evaluation semantics
# --------------------------------------------------------------------------


def test_deny_before_allow_and_implicit_deny():
    document = parse_policy(policy_of(ROOT_STATEMENT, {"Effect": "Deny", "Principal": "*", "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}))
    role = Caller(CallerKind.ROLE_SESSION, account=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:role/Anyone")
    other_root = Caller(CallerKind.ROOT, account=OTHER, arn=f"arn:aws:iam::{OTHER}:root")
    assert evaluate(document, Request("kms:Decrypt", caller=role, resource=KEY_ARN)).verdict is Verdict.ALLOWED
    assert evaluate(document, Request("kms:ScheduleKeyDeletion", caller=role, resource=KEY_ARN)).verdict is Verdict.EXPLICIT_DENY
    assert evaluate(document, Request("kms:Decrypt", caller=other_root, resource=KEY_ARN)).verdict is Verdict.IMPLICIT_DENY


def test_unknown_condition_key_gives_unknown_verdict():
    public_decrypt = {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
    document = parse_policy(policy_of(dict(public_decrypt, Condition={"StringEquals": {"aws:PrincipalTag/team": "a"}})))
    caller = Caller(CallerKind.ROLE_SESSION, account=OTHER, arn=f"arn:aws:iam::{OTHER}:role/x")
    assert evaluate(document, Request("kms:Decrypt", caller=caller, unknown_keys={"aws:PrincipalTag/team"})).verdict is Verdict.UNKNOWN
    # Absent (the default for a concrete request): StringEquals on a missing key is false.
    assert evaluate(document, Request("kms:Decrypt", caller=caller)).verdict is Verdict.IMPLICIT_DENY


@pytest.mark.parametrize(
    "operator,policy_values,context,expected",
    [
        ("StringEquals", ["abc"], {"k": "abc"}, True),
        ("StringEquals", ["abc"], {"k": "ABC"}, False),
        ("StringEqualsIgnoreCase", ["abc"], {"k": "ABC"}, True),
        ("StringLike", ["a*c"], {"k": "abbbc"}, True),
        ("StringLike", ["a?c"], {"k": "abbc"}, False),
        ("StringNotEquals", ["abc"], {"k": "abd"}, True),
        ("StringNotEquals", ["abc"], {}, True),  # missing key: negated operators match
        ("StringEquals", ["abc"], {}, False),
        ("StringEqualsIfExists", ["abc"], {}, True),
        ("ForAllValues:StringEquals", ["a", "b"], {}, True),
        ("ForAnyValue:StringEquals", ["a", "b"], {}, False),
        ("ForAllValues:StringEquals", ["a", "b"], {"k": ["a", "b"]}, True),
        ("ForAllValues:StringEquals", ["a", "b"], {"k": ["a", "c"]}, False),
        ("ForAnyValue:StringEquals", ["a", "b"], {"k": ["c", "b"]}, True),
        ("ForAnyValue:StringNotEquals", ["a"], {"k": ["a", "b"]}, True),
        ("ForAllValues:StringNotEquals", ["a"], {"k": ["a", "b"]}, False),
        ("Bool", ["true"], {"k": True}, True),
        ("Bool", [False], {"k": "false"}, True),
        ("Bool", ["true"], {}, False),
        ("Null", ["true"], {}, True),
        ("Null", ["false"], {}, False),
        ("Null", ["false"], {"k": "x"}, True),
        ("NumericLessThan", ["10"], {"k": 3}, True),
        ("NumericLessThan", ["10"], {"k": "x"}, False),
        ("NumericNotEquals", ["10"], {}, True),
        ("DateGreaterThan", ["2020-01-01T00:00:00Z"], {"k": "2026-01-01T00:00:00Z"}, True),
        ("DateNotEquals", ["2020-01-01T00:00:00Z"], {}, True),
        ("ArnLike", ["arn:aws:iam::*:role/a*"], {"k": "arn:aws:iam::111122223333:role/admin"}, True),
        ("ArnLike", ["arn:aws:iam::*:role/a"], {"k": "arn:aws:iam::111122223333:user/role/a"}, False),
        ("ArnNotEquals", ["arn:aws:iam::111122223333:role/a"], {"k": "arn:aws:iam::111122223333:role/b"}, True),
        ("IpAddress", ["10.0.0.0/8"], {"k": "10.1.1.1"}, True),
        ("IpAddress", ["10.0.0.0/8"], {"k": "192.0.2.1"}, False),
        ("NotIpAddress", ["10.0.0.0/8"], {}, True),
        ("IpAddress", ["2001:db8::/32"], {"k": "2001:db8::1"}, True),
        ("BinaryEquals", ["QmluYXJ5"], {"k": "QmluYXJ5"}, True),
        ("StringEquals", ["${aws:username}"], {"k": "bob"}, None),  # a variable naming a key the request does not know
        ("StringEquals", ["${aws:username}"], {"k": "bob", "aws:username": "bob"}, True),
        ("StringEquals", ["${aws:username, 'guest'}"], {"k": "guest"}, None),
        ("StringLike", ["a${?}"], {"k": "a?"}, True),
        ("StringLike", ["a${?}"], {"k": "ab"}, False),
        ("StringEquals", ["${$}x"], {"k": "$x"}, True),
    ],
)
def test_condition_operators(operator, policy_values, context, expected):
    # Each row follows the IAM condition-operator reference (DOC_OPERATORS) and its missing-key rules.
    statement = parse_policy(policy_of({"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": {operator: {"K": policy_values}}})).statements[0]
    # "k" is absent unless the row gives it; aws:username, which the variable rows name, is unknown unless given.
    caller = Caller(CallerKind.ROLE_SESSION, account=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:role/Anyone")
    request = Request("kms:Decrypt", caller=caller, context=context, unknown_keys={"aws:username"})
    assert evaluate_condition(statement.conditions[0], request) is expected


def test_policy_variable_default_when_the_key_is_absent():
    statement = parse_policy(policy_of({"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": {"StringEquals": {"k": "${aws:username, 'guest'}"}}})).statements[0]
    caller = Caller(CallerKind.ANONYMOUS)
    assert evaluate_condition(statement.conditions[0], Request("x:y", caller=caller, context={"k": "guest"})) is True
    assert evaluate_condition(statement.conditions[0], Request("x:y", caller=caller, context={"k": "bob"})) is False


def test_action_wildcards_are_case_insensitive():
    assert action_matches("kms:Create*", "kms:CreateGrant")
    assert action_matches("KMS:creategrant", "kms:CreateGrant")
    assert action_matches("kms:?escribeKey", "kms:DescribeKey")
    assert action_matches("*", "kms:DescribeKey")
    assert not action_matches("kms:Create*", "kms:DescribeKey")
    assert not action_matches("kms:CreateGrant", "kms:CreateGrants")
    statement = parse_policy(policy_of({"Effect": "Allow", "Principal": "*", "NotAction": "kms:Decrypt"})).statements[0]
    from checks.policy import statement_allows_action

    assert statement_allows_action(statement, "kms:PutKeyPolicy")
    assert not statement_allows_action(statement, "KMS:DECRYPT")


def test_explicit_denies_splits_certain_from_possible():
    document = parse_policy(
        policy_of(
            {"Sid": "A", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt"},
            {"Sid": "B", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Condition": {"StringEquals": {"aws:PrincipalTag/x": "y"}}},
            {"Sid": "C", "Effect": "Deny", "Principal": "*", "Action": "kms:Encrypt"},
        )
    )
    root = Caller(CallerKind.ROOT, account=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:root")
    request = Request("kms:Decrypt", caller=root, resource=KEY_ARN, unknown_keys={"aws:PrincipalTag/x"})
    certain, possible = explicit_denies(document, request)
    assert [s.sid for s in certain] == ["A"] and [s.sid for s in possible] == ["B"]


def test_an_account_id_of_non_ascii_digits_is_not_taken_as_an_account():
    # An account id is 12 ASCII digits (https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-identifiers.html);
    # Python's \\d also takes Arabic-Indic and other digits, and $ a trailing newline.
    arabic_indic = "\u0661\u0661\u0661\u0661\u0662\u0662\u0662\u0662\u0663\u0663\u0663\u0663"  # 111122223333 in Arabic-Indic digits
    for value in (arabic_indic, f"arn:aws:iam::{arabic_indic}:root", f"arn:aws:sts::{arabic_indic}:assumed-role/R/s", "\uff11" * 12, f"{OTHER}\n"):
        assert account_of_principal(value) is None, value
    assert account_of_principal(OTHER) == OTHER and account_of_principal(f"arn:aws:iam::{OTHER}:root") == OTHER
    named = parse_policy(policy_of(ROOT_STATEMENT, {"Sid": "Odd", "Effect": "Allow", "Principal": {"AWS": [arabic_indic, f"arn:aws:iam::{arabic_indic}:root"]},
                                                     "Action": "kms:*", "Resource": "*"}))
    # No caller is built for it as "an account the policy names" ...
    assert all(c.caller.account is None or c.caller.account.isascii() for c in outside_callers(named, ACCOUNT, "aws", None))
    # ... and a principal of that "account" is not let in by it.
    odd = Caller(CallerKind.ROLE_SESSION, account=arabic_indic, arn=f"arn:aws:iam::{arabic_indic}:role/x")
    assert evaluate(named, Request("kms:Decrypt", caller=odd, resource=KEY_ARN)).verdict is Verdict.IMPLICIT_DENY


def test_an_account_the_policy_names_is_never_taken_for_an_unrelated_one():
    from checks.request_kinds import STRANGER_ACCOUNT

    named = policy_of({"Sid": "Partner", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
                       "Condition": {"StringEquals": {"aws:PrincipalAccount": STRANGER_ACCOUNT}}})
    assert not _public(named)
    assert _public(policy_of({"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}))


def test_deny_unless_in_my_organization_leaves_devops_guru_when_the_organization_is_known():
    guard = {"Sid": "OnlyMyOrg", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}
    policy = parse_policy(policy_of(DEVOPS_GURU_GUIDANCE, guard))
    known = service_access(policy, ACCOUNT, REGION, "aws", KEY_ARN, "o-a1b2c3d4e5")
    assert all(a.allowed and not a.maybe_denied_by for a in known)
    unknown = service_access(policy, ACCOUNT, REGION, "aws", KEY_ARN)
    assert all(a.allowed and [s.sid for s in a.maybe_denied_by] == ["OnlyMyOrg"] for a in unknown)


def test_endpoint_default_full_access_is_recognised():
    default = policy_of({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"})
    assert is_default_full_access(parse_policy(default))
    kms_limited = policy_of({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}}})
    assert not is_default_full_access(parse_policy(kms_limited))
    # kms:CallerAccount is never in a DevOps Guru request: the condition is false, nobody is let in.
    assert not endpoint_public_accesses(parse_policy(kms_limited), "vpce-1", "vpc-1", ACCOUNT, REGION, "aws")


# --------------------------------------------------------------------------
# hostile input: wildcard storms, size limits, redaction (issue 15, findings 1, 3 and 5)
# --------------------------------------------------------------------------


def test_wildcard_storm_matches_in_bounded_steps():
    pattern = "kms:" + "*" * 40 + "!"
    text = "kms:" + "a" * 200
    matched, steps = glob_steps(pattern, text, ignore_case=True)
    assert not matched
    assert steps <= (len(pattern) + 1) * (len(text) + 1)
    # Runs of '*' collapse: the storm costs what one '*' costs.
    assert steps == glob_steps("kms:*!", text, ignore_case=True)[1]
    # Alternating stars cannot blow up either: at most pattern x text steps.
    alternating = "*a" * 30 + "b"
    matched, steps = glob_steps(alternating, "a" * 300)
    assert not matched and steps <= (len(alternating) + 1) * 301


def test_wildcard_storm_in_a_key_policy_is_judged():
    storm = "kms:" + "*" * 40 + "!"
    document = policy_of(
        ROOT_STATEMENT,
        {"Sid": "Storm", "Effect": "Allow", "Principal": "*", "Action": [storm] * 50, "Resource": "*", "Condition": {"StringLike": {"aws:PrincipalArn": [storm] * 50}}},
    )
    policy = parse_policy(document)
    assert not public_accesses(policy, KEY_ARN, ACCOUNT, "aws")
    assert not admin_accesses(policy, KEY_ARN, ACCOUNT, "aws")
    assert glob_match("a*b*c", "aXXbYYc") and not glob_match("a*b*c", "aXXbYY")


@pytest.mark.parametrize(
    "text,message",
    [
        ('{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"NumericLessThan": {"k": ' + "9" * 4301 + "}}}]}", "number too long"),
        ("[" * 100_001 + "]" * 100_001, "policy has"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        (json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "x"}] * (LIMITS.statements + 1)}), "statements, more than"),
        (json.dumps({"Statement": {"Effect": "Allow", "Principal": "*", "Action": ["x"] * (LIMITS.values_per_element + 1)}}), "values, more than"),
        (json.dumps({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "x" * (LIMITS.string_length + 1)}}), "characters, more than"),
        ("{\"Statement\": " + "{\"a\": " * 40 + "1" + "}" * 40 + "}", "nests more than"),
    ],
    ids=["huge-integer", "too-long", "deep-nesting", "too-many-statements", "too-many-values", "long-string", "nested-objects"],
)
def test_hostile_documents_raise_policy_error_only(text, message):
    with pytest.raises(PolicyError) as raised:
        parse_policy(text)
    assert message in str(raised.value)


GITHUB_TOKEN = "ghp_" + "x7Kq2ZpL9mN4vB8cR1tY6wE3uI0oA5sD" + "fG2h"


def test_sensitive_values_from_a_policy_are_masked_in_labels_evidence_and_errors():
    document = policy_of(
        ROOT_STATEMENT,
        {
            "Sid": f"token={GITHUB_TOKEN}",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/owner": ["jane.doe@example.com", "password=Tr0ub4dor&3xyz"]}},
        },
    )
    policy = parse_policy(document)
    statement = policy.statements[1]
    shown = json.dumps([statement.label, statement.evidence()])
    for secret in (GITHUB_TOKEN, "jane.doe@example.com", "Tr0ub4dor&3xyz"):
        assert secret not in shown
    broken = {"Statement": [{"Sid": f"token={GITHUB_TOKEN}", "Effect": "Maybe", "Principal": "*", "Action": "x"}]}
    with pytest.raises(PolicyError) as raised:
        parse_policy(broken)
    assert GITHUB_TOKEN not in str(raised.value) and "statement #0" in str(raised.value)


# --------------------------------------------------------------------------
# property-based: AWS's evaluation logic
# --------------------------------------------------------------------------

_ALL_OPERATORS = [
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike",
    "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
    "NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan", "Bool", "BinaryEquals", "IpAddress", "NotIpAddress",
]
_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike", "NumericNotEquals", "DateNotEquals", "NotIpAddress"}
_values = st.lists(st.text(alphabet="abc019*?:/.-", min_size=1, max_size=12), min_size=1, max_size=3)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_ALL_OPERATORS), st.sampled_from(["", "IfExists"]), st.sampled_from(["", "ForAnyValue:", "ForAllValues:"]), _values)
def test_operators_on_an_absent_key_behave_as_documented(operator, if_exists, qualifier, values):
    # DOC_OPERATORS: ...IfExists is true when the key is absent; a negated operator is true on a missing key;
    # ForAllValues is true and ForAnyValue false on a missing key; any other operator is false.
    written = f"{qualifier}{operator}{if_exists}"
    statement = parse_policy(policy_of({"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": {written: {"aws:SourceVpce": values}}})).statements[0]
    request = Request("kms:Decrypt", caller=Caller(CallerKind.ANONYMOUS), context={})
    outcome = evaluate_condition(statement.conditions[0], request)
    if if_exists or qualifier == "ForAllValues:":
        assert outcome is True
    elif qualifier == "ForAnyValue:":
        assert outcome is False
    else:
        assert outcome is (operator in _NEGATED)


@settings(max_examples=100, deadline=None)
@given(st.booleans())
def test_null_on_an_absent_key(expect_absent):
    statement = parse_policy(policy_of({"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": {"Null": {"aws:SourceVpce": str(expect_absent).lower()}}})).statements[0]
    assert evaluate_condition(statement.conditions[0], Request("kms:Decrypt", caller=Caller(CallerKind.ANONYMOUS), context={})) is expect_absent


_accounts = st.sampled_from([ACCOUNT, OTHER, "777788889999"])
_principals = st.one_of(
    st.just("*"),
    st.builds(lambda a: {"AWS": f"arn:aws:iam::{a}:root"}, _accounts),
    st.builds(lambda a: {"AWS": a}, _accounts),
    st.builds(lambda a, r: {"AWS": f"arn:aws:iam::{a}:role/{r}"}, _accounts, st.sampled_from(["App", "Ops"])),
    st.just({"Service": "cloudtrail.amazonaws.com"}),
)
_condition_keys = st.sampled_from(
    ["aws:PrincipalAccount", "kms:CallerAccount", "aws:PrincipalOrgID", "aws:SourceVpce", "aws:SourceIp", "kms:ViaService", "aws:ViaAWSService", "aws:PrincipalArn", "kms:GrantIsForAWSResource"]
)
_condition_values = st.sampled_from([ACCOUNT, OTHER, "o-a1b2c3d4e5", "vpce-1", "203.0.113.0/24", f"devops-guru.{REGION}.amazonaws.com", "true", "false", "*", f"arn:aws:iam::{ACCOUNT}:role/*"])
_conditions = st.dictionaries(
    st.sampled_from(["StringEquals", "StringNotEquals", "StringLike", "StringEqualsIfExists", "StringNotEqualsIfExists", "ArnLike", "Bool", "BoolIfExists", "IpAddress", "NotIpAddress", "Null", "ForAnyValue:StringLike"]),
    st.dictionaries(_condition_keys, st.lists(_condition_values, min_size=1, max_size=2), min_size=1, max_size=2),
    max_size=2,
)
_actions_drawn = st.sampled_from(["kms:*", "*", "kms:Decrypt", "kms:Create*", "kms:PutKeyPolicy", "kms:CreateGrant", "kms:DescribeKey", "kms:ScheduleKeyDeletion"])


def _statement(effect):
    return st.builds(
        lambda principal, actions, condition, not_principal: {
            "Effect": effect,
            ("NotPrincipal" if not_principal and effect == "Deny" and principal != "*" else "Principal"): principal,
            "Action": actions,
            "Resource": "*",
            **({"Condition": condition} if condition else {}),
        },
        _principals,
        st.lists(_actions_drawn, min_size=1, max_size=3),
        _conditions,
        st.booleans(),
    )


_policies = st.lists(st.one_of(_statement("Allow"), _statement("Deny")), min_size=1, max_size=5)
_callers = st.sampled_from(
    [
        Caller(CallerKind.ROLE_SESSION, account=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:role/App", session_arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/App/s", org_id="o-a1b2c3d4e5"),
        Caller(CallerKind.ROOT, account=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:root"),
        Caller(CallerKind.ROLE_SESSION, account=OTHER, arn=f"arn:aws:iam::{OTHER}:role/Ops"),
        Caller(CallerKind.ANONYMOUS),
        Caller(CallerKind.SERVICE, service="cloudtrail.amazonaws.com"),
    ]
)
_contexts = st.dictionaries(_condition_keys, _condition_values, max_size=4)


@settings(max_examples=200, deadline=None)
@given(_policies, _statement("Deny"), _callers, st.sampled_from(KMS_ACTIONS), _contexts)
def test_adding_a_deny_never_turns_a_denied_request_into_an_allowed_one(statements, deny, caller, action, context):
    # Reference: IAM policy evaluation logic -- an explicit Deny overrides any Allow.
    request = Request(action, caller=caller, resource=KEY_ARN, context=context)
    before = evaluate(parse_policy(policy_of(*statements)), request).verdict
    after = evaluate(parse_policy(policy_of(*statements, deny)), request).verdict
    if before is not Verdict.ALLOWED:
        assert after is not Verdict.ALLOWED
    if after is Verdict.ALLOWED:
        assert before is Verdict.ALLOWED


_LIMITING = [
    ("StringEquals", "aws:PrincipalOrgID", "o-a1b2c3d4e5"),
    ("StringEquals", "aws:PrincipalAccount", ACCOUNT),
    ("StringEquals", "kms:CallerAccount", ACCOUNT),
    ("ArnLike", "aws:PrincipalArn", f"arn:aws:iam::{ACCOUNT}:role/*"),
    ("StringEquals", "aws:SourceAccount", ACCOUNT),
    ("ArnEquals", "aws:SourceArn", f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main"),
    ("StringEquals", "aws:SourceVpce", "vpce-1a2b3c4d"),
    ("StringEquals", "aws:SourceVpc", "vpc-1a2b3c4d"),
    ("ForAnyValue:StringLike", "aws:PrincipalOrgPaths", "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"),
    ("StringEquals", "aws:SourceOrgID", "o-a1b2c3d4e5"),
]


@settings(max_examples=120, deadline=None)
@given(_policies, st.data())
def test_adding_a_caller_limiting_condition_never_makes_a_policy_more_public(statements, data):
    # Reference: the caller-limiting global condition keys (reference_policies_condition-keys.html): a
    # condition on them can only narrow who an Allow lets in.
    allows = [i for i, s in enumerate(statements) if s["Effect"] == "Allow"]
    assume(allows)
    index = data.draw(st.sampled_from(allows))
    operator, key, value = data.draw(st.sampled_from(_LIMITING))
    narrowed = json.loads(json.dumps(statements))
    narrowed[index].setdefault("Condition", {}).setdefault(operator, {})[key] = value
    before, after = parse_policy(policy_of(*statements)), parse_policy(policy_of(*narrowed))
    # The same callers are asked of both (the narrowed policy may name more of them).
    callers = [c for c in outside_callers(after, ACCOUNT, "aws", None) if c.public]
    requests = kms_outside_requests(KEY_ARN)
    # (Which way a caller gets in -- directly or through a service -- may change; whether it gets in may not grow.)
    opened_after = {(a.who.description, a.action) for a in allowed_accesses(after, callers, KMS_ACTIONS, requests)}
    opened_before = {(a.who.description, a.action) for a in allowed_accesses(before, callers, KMS_ACTIONS, requests)}
    assert opened_after <= opened_before


# --------------------------------------------------------------------------
# malformed documents: one clear error naming the place
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document,message",
    [
        ("{not json", "policy is not JSON at line 1"),
        ("[]", "policy must be a JSON object"),
        ({"Version": "2012-10-17"}, "policy has no Statement"),
        ({"Statement": "x"}, "Statement must be an object or a list"),
        ({"Statement": [1]}, "statement #0 must be an object"),
        ({"Statement": {"Effect": "allow", "Principal": "*", "Action": "*"}}, "statement #0: Effect must be"),
        ({"Statement": {"Sid": "S", "Effect": "Allow", "Principal": ["*"], "Action": "*"}}, "statement #0 (Sid 'S'): Principal must be"),
        ({"Statement": {"Effect": "Allow", "Principal": "arn:aws:iam::1:root", "Action": "*"}}, "Principal as a string must be"),
        ({"Statement": {"Effect": "Allow", "Principal": {"Robot": "x"}, "Action": "*"}}, "unknown principal type"),
        ({"Statement": {"Effect": "Allow", "Principal": {"AWS": [1]}, "Action": "*"}}, "Principal.AWS must hold strings"),
        ({"Statement": {"Effect": "Allow", "Principal": "*", "Action": 5}}, "Action must be a string or a list"),
        ({"Statement": {"Effect": "Allow", "Principal": "*"}}, "has neither Action nor NotAction"),
        ({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "NotAction": "x"}}, "has both Action and NotAction"),
        ({"Statement": {"Effect": "Allow", "Action": "*"}}, "has neither Principal nor NotPrincipal"),
        ({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": "x"}}, "Condition must be an object"),
        ({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": {"StringEquals": "x"}}}, "must map keys to values"),
        ({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": {"StringSortOf": {"a": "b"}}}}, "unknown condition operator"),
        ({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": {"Sometimes:StringEquals": {"a": "b"}}}}, "unknown condition set operator"),
        ({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": {"StringEquals": {"a": {"b": 1}}}}}, "a value must be a string"),
        ({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": {"StringEquals": {"a": []}}}}, "empty list of values"),
    ],
)
def test_malformed_policies_raise_policy_error(document, message):
    with pytest.raises(PolicyError, match=None) as raised:
        parse_policy(document)
    assert message in str(raised.value)


# --------------------------------------------------------------------------
# property-based: normalisation
# --------------------------------------------------------------------------

_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*?:/-", min_size=1, max_size=20)
_actions = st.builds(lambda a, b: f"{a}:{b}", st.sampled_from(["kms", "KMS", "devops-guru", "s3"]), _names)
_condition_keys = st.sampled_from(sorted(CALLER_LIMITING_KEYS) + ["kms:ViaService", "aws:SecureTransport", "kms:GrantIsForAWSResource"])
_operators = st.sampled_from(
    ["StringEquals", "StringNotEquals", "StringLike", "StringEqualsIfExists", "ArnLike", "Bool", "ForAnyValue:StringEquals", "ForAllValues:StringLike", "Null"]
)
_scalars = st.one_of(_names, st.booleans(), st.integers(min_value=0, max_value=10**12))


def _one_or_many(strategy):
    """A value AWS accepts either alone or as a list: both forms, drawn with their canonical list."""
    return st.lists(strategy, min_size=1, max_size=4).flatmap(
        lambda values: st.sampled_from([values, values[0]] if len(values) == 1 else [values])
    )


_statements = st.fixed_dictionaries(
    {
        "Effect": st.sampled_from(["Allow", "Deny"]),
        "Principal": st.one_of(st.just("*"), st.fixed_dictionaries({"AWS": _one_or_many(st.sampled_from(["*", ACCOUNT, f"arn:aws:iam::{OTHER}:root"]))}), st.fixed_dictionaries({"Service": _one_or_many(st.sampled_from(["devops-guru.amazonaws.com", "cloudtrail.amazonaws.com"]))})),
        "Action": _one_or_many(_actions),
        "Resource": _one_or_many(st.just("*")),
    },
    optional={"Sid": _names, "Condition": st.dictionaries(_operators, st.dictionaries(_condition_keys, _one_or_many(_scalars), min_size=1, max_size=3), min_size=1, max_size=3)},
)
_documents = st.builds(lambda statements: {"Version": "2012-10-17", "Statement": statements}, st.lists(_statements, min_size=1, max_size=5))


def _listify(document):
    """The same policy with every string-or-list element written as a list."""
    out = {"Version": document["Version"], "Statement": []}
    for statement in document["Statement"]:
        s = dict(statement)
        for name in ("Action", "Resource"):
            if isinstance(s[name], str):
                s[name] = [s[name]]
        if isinstance(s["Principal"], dict):
            s["Principal"] = {k: v if isinstance(v, list) else [v] for k, v in s["Principal"].items()}
        if "Condition" in s:
            s["Condition"] = {op: {k: v if isinstance(v, list) else [v] for k, v in tests.items()} for op, tests in s["Condition"].items()}
        out["Statement"].append(s)
    return out


@settings(max_examples=150, deadline=None)
@given(_documents)
def test_string_and_list_forms_normalise_identically(document):
    assert parse_policy(document) == parse_policy(_listify(document))
    assert parse_policy(json.dumps(document)) == parse_policy(document)


@settings(max_examples=150, deadline=None)
@given(_documents)
def test_single_statement_object_equals_one_element_list(document):
    first = document["Statement"][0]
    assert parse_policy({"Statement": first}).statements == parse_policy({"Statement": [first]}).statements


@settings(max_examples=150, deadline=None)
@given(_documents, st.data())
def test_keys_and_actions_are_case_insensitive(document, data):
    swapped = json.loads(json.dumps(document))
    for statement in swapped["Statement"]:
        actions = statement["Action"]
        statement["Action"] = [a.swapcase() for a in actions] if isinstance(actions, list) else actions.swapcase()
        if "Condition" in statement:
            statement["Condition"] = {op: {k.upper(): v for k, v in tests.items()} for op, tests in statement["Condition"].items()}
    original, changed = parse_policy(document), parse_policy(swapped)
    action = data.draw(_actions)
    from checks.policy import statement_allows_action

    for a, b in zip(original.statements, changed.statements):
        assert statement_allows_action(a, action) == statement_allows_action(b, action)
        assert [c.key for c in a.conditions] == [c.key for c in b.conditions]
    assert _public(document) == _public(swapped)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(["Statement", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "Condition", "Sid", "AWS", "Service", "StringEquals", "kms:CallerAccount", "x"]), children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_arbitrary_json_parses_or_raises_policy_error(document):
    try:
        policy = parse_policy(document)
    except PolicyError as error:
        assert str(error) and "\n" not in str(error)
        return
    # Whatever parses can be judged by every check's question without raising.
    public_accesses(policy, KEY_ARN, ACCOUNT, "aws")
    admin_accesses(policy, KEY_ARN, ACCOUNT, "aws")
    service_access(policy, ACCOUNT, REGION, "aws", KEY_ARN)
    endpoint_public_accesses(policy, "vpce-1", "vpc-1", ACCOUNT, REGION, "aws")


@settings(max_examples=200, deadline=None)
@given(_documents)
def test_judging_generated_policies_never_raises(document):
    policy = parse_policy(document)
    public_accesses(policy, KEY_ARN, ACCOUNT, "aws")
    admin_accesses(policy, KEY_ARN, ACCOUNT, "aws")
    service_access(policy, ACCOUNT, REGION, "aws", KEY_ARN)
    other_root = Caller(CallerKind.ROOT, account=OTHER, arn=f"arn:aws:iam::{OTHER}:root")
    for unknown in (frozenset(), _keys_named_by(policy)):  # every key absent; every key the policy names unknown
        for resource in (KEY_ARN, None):
            evaluate(policy, Request("kms:Decrypt", caller=other_root, resource=resource, unknown_keys=unknown))


def _keys_named_by(policy):
    """Every condition key the policy tests and every key a policy variable in it names (lower case)."""
    keys = set()
    for statement in policy.statements:
        texts = list(statement.resources or ()) + list(statement.not_resources or ())
        for condition in statement.conditions:
            keys.add(condition.key)
            texts.extend(condition.values)
        for text in texts:
            keys.update(name.split(",")[0].strip().lower() for name in re.findall(r"\$\{([^}]*)\}", text))
    return frozenset(keys)


def test_a_policy_naming_too_many_principals_is_an_error_not_a_partial_answer():
    from checks.request_kinds import MAX_NAMED_PRINCIPALS

    principals = [f"arn:aws:iam::{100000000000 + i:012d}:root" for i in range(MAX_NAMED_PRINCIPALS + 1)]
    half = len(principals) // 2
    policy = parse_policy(policy_of(
        ROOT_STATEMENT,
        {"Sid": "Many", "Effect": "Allow", "Principal": {"AWS": principals[:half]}, "Action": "kms:PutKeyPolicy", "Resource": "*"},
        {"Sid": "More", "Effect": "Allow", "Principal": {"AWS": principals[half:]}, "Action": "kms:PutKeyPolicy", "Resource": "*"},
    ))
    with pytest.raises(PolicyError, match="too many to judge"):
        admin_accesses(policy, KEY_ARN, ACCOUNT, "aws")
