"""The policy evaluator: normalisation (property-based), matching, and a table of real-world policies."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from checks.policy import (
    CALLER_LIMITING_KEYS,
    KMS_ALWAYS_PRESENT_KEYS,
    PolicyError,
    Request,
    Verdict,
    action_matches,
    caller_limiting_conditions,
    evaluate,
    evaluate_condition,
    explicit_denies,
    parse_policy,
    public_allow_statements,
)
from checks.devopsguru.devopsguru_cmk_policy_grants_service import service_access
from checks.devopsguru.devopsguru_endpoint_policy_restricted import ENDPOINT_CALLER_KEYS, is_default_full_access
from checks.kms.kms_key_policy_admin_restricted import admin_grants_outside_account

ACCOUNT = "111122223333"
OTHER = "444455556666"
REGION = "us-east-1"


def policy_of(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


# --------------------------------------------------------------------------
# real-world policies
# --------------------------------------------------------------------------

ROOT_STATEMENT = {
    "Sid": "Enable IAM User Permissions",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}

#: The key policy AWS gives a key created in the console with administrators, users and another account.
AWS_CONSOLE_DEFAULT = policy_of(
    ROOT_STATEMENT,
    {
        "Sid": "Allow access for Key Administrators",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"},
        "Action": [
            "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
            "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
            "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
        ],
        "Resource": "*",
    },
    {
        "Sid": "Allow use of the key",
        "Effect": "Allow",
        "Principal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:role/App", f"arn:aws:iam::{OTHER}:root"]},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        "Resource": "*",
    },
    {
        "Sid": "Allow attachment of persistent resources",
        "Effect": "Allow",
        "Principal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:role/App", f"arn:aws:iam::{OTHER}:root"]},
        "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
        "Resource": "*",
        "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
    },
)

#: The statement of AWS's DevOps Guru data-protection guidance.
DEVOPS_GURU_GUIDANCE = {
    "Sid": "AllowDevOpsGuru",
    "Effect": "Allow",
    "Principal": {"AWS": "*"},
    "Action": ["kms:CreateGrant", "kms:DescribeKey"],
    "Resource": "*",
    "Condition": {"StringEquals": {"kms:ViaService": f"devops-guru.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}},
}

PUBLIC_DECRYPT = {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}

CLOUDTRAIL_SERVICE = {
    "Sid": "Allow CloudTrail to encrypt logs",
    "Effect": "Allow",
    "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": "kms:GenerateDataKey*",
    "Resource": "*",
    "Condition": {
        "StringEquals": {"aws:SourceArn": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main"},
        "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"},
    },
}


def _public_labels(document, keys=CALLER_LIMITING_KEYS, always_present=KMS_ALWAYS_PRESENT_KEYS):
    return [s.label for s in public_allow_statements(parse_policy(document), keys, always_present)]


def _admin(document):
    return sorted({(g.statement.label, g.action) for g in admin_grants_outside_account(parse_policy(document), ACCOUNT)})


def _grants(document, account=ACCOUNT, region=REGION):
    return {a.action: (bool(a.granting), bool(a.denied_by)) for a in service_access(parse_policy(document), account, region)}


GRANTED = {"kms:CreateGrant": (True, False), "kms:DescribeKey": (True, False)}
NOT_GRANTED = {"kms:CreateGrant": (False, False), "kms:DescribeKey": (False, False)}

# (name, policy, public statements, admin grants outside the account, DevOps Guru access)
REAL_WORLD = [
    ("default key policy (account root)", policy_of(ROOT_STATEMENT), [], [], NOT_GRANTED),
    ("console default with another account as user", AWS_CONSOLE_DEFAULT, [], [], NOT_GRANTED),
    ("DevOps Guru guidance", policy_of(ROOT_STATEMENT, DEVOPS_GURU_GUIDANCE), [], [], GRANTED),
    ("public decrypt", policy_of(ROOT_STATEMENT, PUBLIC_DECRYPT), ["Sid 'Everyone'"], [], NOT_GRANTED),
    (
        "public kms:* with ViaService only",
        policy_of(
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["*"]},
                "Action": "kms:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
            }
        ),
        ["statement #0"],
        sorted(
            ("statement #0", a)
            for a in __import__("checks.kms.kms_key_policy_admin_restricted", fromlist=["ADMIN_ACTIONS"]).ADMIN_ACTIONS
        ),
        NOT_GRANTED,
    ),
    (
        "cross-account administrator",
        policy_of(
            ROOT_STATEMENT,
            {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:role/Ops"}, "Action": ["kms:PutKeyPolicy", "kms:Decrypt"], "Resource": "*"},
        ),
        [],
        [("Sid 'Partner'", "kms:PutKeyPolicy")],
        NOT_GRANTED,
    ),
    ("CloudTrail service principal", policy_of(ROOT_STATEMENT, CLOUDTRAIL_SERVICE), [], [], NOT_GRANTED),
    (
        "service principal may schedule deletion",
        policy_of({"Sid": "Svc", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}),
        [],
        [("Sid 'Svc'", "kms:ScheduleKeyDeletion")],
        NOT_GRANTED,
    ),
    (
        "organization-wide use",
        policy_of(
            {
                "Sid": "Org",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["kms:Decrypt", "kms:CreateGrant"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
            }
        ),
        [],
        [],
        NOT_GRANTED,
    ),
    (
        "public kms:* closed by a deny-unless-my-account guard",
        policy_of(
            {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"},
            {
                "Sid": "Guard",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "kms:*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT}},
            },
        ),
        [],
        [],
        NOT_GRANTED,
    ),
    (
        "unconditioned CreateGrant to another account",
        policy_of({"Sid": "Grants", "Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "kms:CreateGrant", "Resource": "*"}),
        [],
        [("Sid 'Grants'", "kms:CreateGrant")],
        NOT_GRANTED,
    ),
    (
        "NotPrincipal allow",
        policy_of({"Sid": "NP", "Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:DisableKey", "Resource": "*"}),
        ["Sid 'NP'"],
        [("Sid 'NP'", "kms:DisableKey")],
        NOT_GRANTED,
    ),
    (
        "guidance statement blocked by an explicit deny",
        policy_of(
            ROOT_STATEMENT,
            DEVOPS_GURU_GUIDANCE,
            {"Sid": "NoGrants", "Effect": "Deny", "Principal": "*", "Action": "kms:CreateGrant", "Resource": "*"},
        ),
        [],
        [],
        {"kms:CreateGrant": (True, True), "kms:DescribeKey": (True, False)},
    ),
]


@pytest.mark.parametrize("name,document,public,admin,devops_guru", REAL_WORLD, ids=[r[0] for r in REAL_WORLD])
def test_real_world_policies(name, document, public, admin, devops_guru):
    assert _public_labels(document) == public
    assert _admin(document) == admin
    assert _grants(document) == devops_guru


# --------------------------------------------------------------------------
# DevOps Guru statement: exact-match operators only, right region and account
# --------------------------------------------------------------------------


def _guidance_with(condition):
    statement = dict(DEVOPS_GURU_GUIDANCE, Condition=condition)
    return policy_of(statement)


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEqualsIfExists": {"kms:ViaService": f"devops-guru.{REGION}.amazonaws.com"}, "StringEquals": {"kms:CallerAccount": ACCOUNT}},
        {"StringNotEquals": {"kms:ViaService": f"devops-guru.{REGION}.amazonaws.com"}, "StringEquals": {"kms:CallerAccount": ACCOUNT}},
        {"StringLike": {"kms:ViaService": "devops-guru.*.amazonaws.com"}, "StringEquals": {"kms:CallerAccount": ACCOUNT}},
        {"StringEquals": {"kms:ViaService": "devops-guru.eu-west-1.amazonaws.com", "kms:CallerAccount": ACCOUNT}},
        {"StringEquals": {"kms:ViaService": f"devops-guru.{REGION}.amazonaws.com", "kms:CallerAccount": OTHER}},
        {"StringEquals": {"kms:ViaService": f"devops-guru.{REGION}.amazonaws.com"}},
        {"StringEquals": {"kms:CallerAccount": ACCOUNT}},
        {"ForAnyValue:StringEquals": {"kms:ViaService": f"devops-guru.{REGION}.amazonaws.com"}, "StringEquals": {"kms:CallerAccount": ACCOUNT}},
        {
            "StringEquals": {"kms:ViaService": f"devops-guru.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT},
            "StringNotEqualsIgnoreCase": {"kms:ViaService": f"DEVOPS-GURU.{REGION}.AMAZONAWS.COM"},
        },
    ],
    ids=["ifexists", "negated", "wildcard", "wrong-region", "wrong-account", "no-calleraccount", "no-viaservice", "set-operator", "contradiction"],
)
def test_devops_guru_statement_that_does_not_count(condition):
    assert _grants(_guidance_with(condition)) == NOT_GRANTED


def test_devops_guru_statement_variants_that_count():
    ignore_case = {"StringEqualsIgnoreCase": {"KMS:VIASERVICE": f"DevOps-Guru.{REGION}.amazonaws.com"}, "StringEquals": {"kms:calleraccount": [OTHER, ACCOUNT]}}
    assert _grants(_guidance_with(ignore_case)) == GRANTED
    split = policy_of(
        dict(DEVOPS_GURU_GUIDANCE, Action="kms:CreateGrant", Sid="Grant"),
        dict(DEVOPS_GURU_GUIDANCE, Action="KMS:describe*", Sid="Describe", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}),
    )
    assert _grants(split) == GRANTED
    with_grant_condition = _guidance_with(
        {
            "StringEquals": {"kms:ViaService": f"devops-guru.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT},
            "Bool": {"kms:GrantIsForAWSResource": True},
        }
    )
    # kms:GrantIsForAWSResource exists only in grant requests: the shared statement no longer allows DescribeKey.
    assert _grants(with_grant_condition) == {"kms:CreateGrant": (True, False), "kms:DescribeKey": (False, False)}


def test_devops_guru_other_region_or_account_is_not_granted():
    document = policy_of(DEVOPS_GURU_GUIDANCE)
    assert _grants(document, region="eu-west-1") == NOT_GRANTED
    assert _grants(document, account=OTHER) == NOT_GRANTED


def test_deny_with_unknown_condition_is_reported_as_possible_not_certain():
    document = policy_of(
        DEVOPS_GURU_GUIDANCE,
        {"Sid": "Net", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
    )
    accesses = service_access(parse_policy(document), ACCOUNT, REGION)
    assert all(a.granting and not a.denied_by and [s.sid for s in a.maybe_denied_by] == ["Net"] for a in accesses)


def test_deny_outside_the_caller_account_does_not_block_devops_guru():
    document = policy_of(
        DEVOPS_GURU_GUIDANCE,
        {"Sid": "Outsiders", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"StringNotEquals": {"kms:CallerAccount": ACCOUNT}}},
    )
    assert _grants(document) == GRANTED


# --------------------------------------------------------------------------
# public statements
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "condition,public",
    [
        ({"StringEquals": {"kms:CallerAccount": ACCOUNT}}, False),
        ({"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}, False),
        ({"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/*"}}, False),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin"}}, True),
        ({"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}, False),
        ({"StringEquals": {"aws:SourceVpc": "vpc-1a2b3c4d"}}, False),
        ({"StringEquals": {"aws:SourceAccount": ACCOUNT}}, False),
        ({"ArnEquals": {"aws:SourceArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:topic"}}, False),
        ({"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}, True),
        ({"StringEqualsIfExists": {"kms:CallerAccount": ACCOUNT}}, False),  # every KMS request carries it
        ({"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-abc"}}, True),  # absent outside organizations
        ({"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}}, True),  # absent on direct calls
        ({"StringNotEquals": {"kms:CallerAccount": OTHER}}, True),
        ({"StringLike": {"kms:CallerAccount": "*"}}, True),
        ({"StringEquals": {"aws:PrincipalAccount": "${aws:ResourceAccount}"}}, True),
        ({"StringEquals": {"aws:PrincipalAccount": [ACCOUNT, "*"]}}, False),  # '*' is literal under StringEquals
        ({"StringLike": {"aws:PrincipalAccount": [ACCOUNT, "*"]}}, True),
        ({"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-abc"}}, True),
        ({"Bool": {"aws:SecureTransport": "true"}}, True),
    ],
)
def test_public_statement_limited_only_by_caller_conditions(condition, public):
    document = policy_of({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*", "Condition": condition})
    assert bool(_public_labels(document)) is public


def test_string_equals_wildcard_is_a_literal_character():
    # Under StringEquals '*' matches only the character '*': no account has that id, so nobody is let in.
    document = policy_of({"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalAccount": "*"}}})
    assert _public_labels(document) == []
    like = policy_of({"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringLike": {"aws:PrincipalAccount": "*"}}})
    assert _public_labels(like) == ["statement #0"]


def test_endpoint_policies():
    default = policy_of({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"})
    assert is_default_full_access(parse_policy(default))
    kms_limited = policy_of({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}}})
    assert not is_default_full_access(parse_policy(kms_limited))
    assert _public_labels(kms_limited, ENDPOINT_CALLER_KEYS, ()) == ["statement #0"]
    if_exists = policy_of({"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": {"StringEqualsIfExists": {"aws:PrincipalAccount": ACCOUNT}}})
    # Through an endpoint a request may be anonymous: IfExists lets it in.
    assert _public_labels(if_exists, ENDPOINT_CALLER_KEYS, ()) == ["statement #0"]
    org = policy_of({"Effect": "Allow", "Principal": "*", "Action": "devops-guru:*", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}})
    assert _public_labels(org, ENDPOINT_CALLER_KEYS, ()) == []
    named = policy_of({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/App"}, "Action": "*", "Resource": "*"})
    assert _public_labels(named, ENDPOINT_CALLER_KEYS, ()) == []


# --------------------------------------------------------------------------
# evaluation semantics
# --------------------------------------------------------------------------


def test_deny_before_allow_and_implicit_deny():
    document = parse_policy(policy_of(ROOT_STATEMENT, {"Effect": "Deny", "Principal": "*", "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}))
    root = f"arn:aws:iam::{ACCOUNT}:role/Anyone"
    assert evaluate(document, Request("kms:Decrypt", principal_arn=root)).verdict is Verdict.ALLOWED
    assert evaluate(document, Request("kms:ScheduleKeyDeletion", principal_arn=root)).verdict is Verdict.EXPLICIT_DENY
    assert evaluate(document, Request("kms:Decrypt", principal_arn=f"arn:aws:iam::{OTHER}:root")).verdict is Verdict.IMPLICIT_DENY


def test_unknown_condition_key_gives_unknown_verdict():
    document = parse_policy(policy_of(dict(PUBLIC_DECRYPT, Condition={"StringEquals": {"aws:PrincipalTag/team": "a"}})))
    assert evaluate(document, Request("kms:Decrypt", principal_arn=f"arn:aws:iam::{OTHER}:root")).verdict is Verdict.UNKNOWN


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
        ("Bool", ["true"], {"k": True}, True),
        ("Bool", [False], {"k": "false"}, True),
        ("Null", ["true"], {}, True),
        ("Null", ["false"], {}, False),
        ("Null", ["false"], {"k": "x"}, True),
        ("NumericLessThan", ["10"], {"k": 3}, True),
        ("NumericLessThan", ["10"], {"k": "x"}, False),
        ("ArnLike", ["arn:aws:iam::*:role/a*"], {"k": "arn:aws:iam::111122223333:role/admin"}, True),
        ("ArnLike", ["arn:aws:iam::*:role/a"], {"k": "arn:aws:iam::111122223333:user/role/a"}, False),
        ("ArnNotEquals", ["arn:aws:iam::111122223333:role/a"], {"k": "arn:aws:iam::111122223333:role/b"}, True),
        ("IpAddress", ["10.0.0.0/8"], {"k": "10.1.1.1"}, None),
        ("StringEquals", ["${aws:username}"], {"k": "bob"}, None),
    ],
)
def test_condition_operators(operator, policy_values, context, expected):
    statement = parse_policy(policy_of({"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": {operator: {"K": policy_values}}})).statements[0]
    request = Request("kms:Decrypt", context=context, absent_keys=frozenset({"k"}))
    assert evaluate_condition(statement.conditions[0], request) is expected


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
    certain, possible = explicit_denies(document, Request("kms:Decrypt", principal_arn=f"arn:aws:iam::{ACCOUNT}:root"))
    assert [s.sid for s in certain] == ["A"] and [s.sid for s in possible] == ["B"]


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
    assert _public_labels(document) == _public_labels(swapped)


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
    public_allow_statements(policy)
    admin_grants_outside_account(policy, ACCOUNT)
    service_access(policy, ACCOUNT, REGION)
    for statement in policy.statements:
        caller_limiting_conditions(statement)


@settings(max_examples=200, deadline=None)
@given(_documents)
def test_judging_generated_policies_never_raises(document):
    policy = parse_policy(document)
    public_allow_statements(policy)
    admin_grants_outside_account(policy, ACCOUNT)
    service_access(policy, ACCOUNT, REGION)
    evaluate(policy, Request("kms:Decrypt", principal_arn=f"arn:aws:iam::{OTHER}:root"))
