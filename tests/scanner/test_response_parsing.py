"""Bad input never crashes a scan: malformed AWS responses give ERROR results with a message (property-based).

Two layers are driven with hypothesis:

* the policy evaluator (``checks.policy``) with policy documents of every odd
  shape (not JSON, ``Principal``/``Action``/``Condition`` as strings, lists,
  numbers, nulls, nested objects): it either parses or raises ``PolicyError``
  with a message, and what parses can be judged without an exception;
* every built-in check, run by the real ``TargetRunner`` over real botocore
  clients whose answers are generated from the botocore service model: members
  missing (every output member is optional to the SDK), unknown enum values,
  empty or odd strings, and policy documents like the above. The transport is
  replaced by botocore's own ``before-call`` hook, so parsing, pagination,
  the cache, the declared-action guard and the runner are all real.
"""
from __future__ import annotations

import functools
import json
import threading
from datetime import datetime, timezone
from typing import Any

import botocore.awsrequest
import botocore.session
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.kms.kms_key_policy_no_public_access import public_accesses
from checks.policy import (
    Caller,
    CallerKind,
    PolicyError,
    Request,
    Verdict,
    evaluate,
    parse_policy,
)
from scanner.aws import ActionNames, TargetCache
from scanner.iam_reference import SERVICE_PREFIXES
from scanner.model import GLOBAL_REGION, Scope
from scanner.plugins import build_plugin_manager, collect_checks
from scanner.config import ScanSettings
from scanner.error_results import MAX_MESSAGE
from scanner.plan import PlannedAccount, ScanPlan, Target
from scanner.runner import build_target_runner

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
STATUSES = {"PASS", "FAIL", "ERROR", "NOT_APPLICABLE"}

# -- policy documents of every shape ------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, width=16), st.text(max_size=12))
principals_text = st.sampled_from(["*", "arn:aws:iam::123456789012:root", "123456789012", "arn:aws:iam::999999999999:role/x", "", "devops-guru.amazonaws.com"])
actions_text = st.sampled_from(["kms:*", "*", "kms:Decrypt", "kms:CreateGrant", "kms:Put*", "s3:GetObject", "", "KMS:describekey"])
condition_keys = st.sampled_from(["kms:CallerAccount", "aws:PrincipalOrgID", "kms:ViaService", "aws:SourceVpce", "aws:PrincipalArn", "Foo:Bar", ""])
operators = st.sampled_from(
    ["StringEquals", "StringLike", "ArnLike", "StringEqualsIfExists", "ForAnyValue:StringEquals", "ForAllValues:StringLike",
     "Null", "Bool", "NumericLessThan", "DateGreaterThan", "IpAddress", "StringNotEquals", "NoSuchOperator", ""]
)


def string_or_list(values: st.SearchStrategy) -> st.SearchStrategy:
    """What AWS accepts (a string or a list of strings) and what it does not (numbers, nulls, objects, nested lists)."""
    return st.one_of(values, st.lists(values, max_size=3), scalars, st.lists(scalars, max_size=2), st.dictionaries(st.text(max_size=4), scalars, max_size=2))


principal_values = st.one_of(
    principals_text,
    st.dictionaries(st.sampled_from(["AWS", "Service", "Federated", "CanonicalUser", "Bogus"]), string_or_list(principals_text), max_size=2),
    scalars,
    st.lists(principals_text, max_size=2),
)
condition_blocks = st.one_of(
    st.dictionaries(operators, st.one_of(st.dictionaries(condition_keys, string_or_list(st.text(max_size=20)), max_size=2), scalars), max_size=2),
    scalars,
    st.lists(scalars, max_size=2),
)


@st.composite
def statements(draw: Any) -> Any:
    statement: dict[str, Any] = {}
    for name, values in (
        ("Sid", st.one_of(st.text(max_size=8), scalars)),
        ("Effect", st.one_of(st.sampled_from(["Allow", "Deny", "allow", ""]), scalars)),
        (draw(st.sampled_from(["Principal", "NotPrincipal"])), principal_values),
        (draw(st.sampled_from(["Action", "NotAction"])), string_or_list(actions_text)),
        (draw(st.sampled_from(["Resource", "NotResource"])), string_or_list(st.sampled_from(["*", "arn:aws:kms:*", ""]))),
        ("Condition", condition_blocks),
    ):
        if draw(st.integers(0, 9)) < 8:  # most statements have most elements
            statement[name] = draw(values)
    if draw(st.booleans()):
        statement["Unexpected"] = draw(scalars)
    return statement


policy_objects = st.fixed_dictionaries(
    {},
    optional={
        "Version": st.one_of(st.just("2012-10-17"), scalars),
        "Id": scalars,
        "Statement": st.one_of(statements(), st.lists(statements(), max_size=3), scalars),
    },
)
policy_documents = st.one_of(
    policy_objects.map(json.dumps),
    policy_objects,
    st.text(max_size=40),  # not JSON at all
    st.sampled_from(["", "{", "null", "[]", "\"policy\"", "{\"Statement\": [{}]}", "{'Statement': []}", "[" * 2000 + "]" * 2000]),
    st.binary(max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(document=policy_documents)
def test_policy_evaluator_parses_or_says_why(document):
    try:
        policy = parse_policy(document)
    except PolicyError as error:
        message = str(error)
        assert message and "\n" not in message and len(message) < 300
        return
    # What parses can always be judged.
    public_accesses(policy, "arn:aws:kms:us-east-1:123456789012:key/k", "123456789012", "aws")
    stranger = Caller(CallerKind.ROOT, account="999999999999", arn="arn:aws:iam::999999999999:root")
    # Every other key the policy tests is unknown, as nothing about this caller is known beyond its account.
    unknown = {condition.key for statement in policy.statements for condition in statement.conditions}
    for action in ("kms:Decrypt", "kms:PutKeyPolicy"):
        for resource in ("arn:aws:kms:us-east-1:123456789012:key/k", None):
            request = Request(action, caller=stranger, resource=resource, context={"kms:CallerAccount": "999999999999"}, unknown_keys=unknown)
            decision = evaluate(policy, request)
            # One of AWS's three answers, or UNKNOWN when it hangs on a key nothing is known about.
            assert isinstance(decision.verdict, Verdict)
            if decision.verdict is Verdict.ALLOWED:
                # An Allow for an unrelated account's root needs a statement that admits it.
                assert any(statement.effect == "Allow" for statement in policy.statements)
    for statement in policy.statements:
        json.dumps(statement.evidence())


# -- responses generated from the botocore service model ------------------------------------------------

# The built-in checks' actions are named like their operations; only the tagging API's prefix differs.
_SERVICE_BY_PREFIX = {prefix: service for service, prefix in SERVICE_PREFIXES.items()}
_PAGE_TOKENS = {}
_POLICY_MEMBERS = ("Policy", "PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument")


def _service_for_action(action: str) -> tuple[str, str]:
    prefix, operation = action.split(":", 1)
    return _SERVICE_BY_PREFIX.get(prefix, prefix), operation


def _strategy(shape: Any, name: str = "", depth: int = 0) -> st.SearchStrategy:
    """A strategy for AWS answers of ``shape``: members may be missing, enums may hold values AWS has not invented yet."""
    kind = shape.type_name
    if kind == "structure":
        if depth > 4:
            return st.just({})
        members = {member: _strategy(member_shape, member, depth + 1) for member, member_shape in shape.members.items()}
        return st.fixed_dictionaries({}, optional=members)
    if kind == "list":
        return st.lists(_strategy(shape.member, name, depth + 1), max_size=2 if depth < 4 else 0)
    if kind == "map":
        return st.dictionaries(_strategy(shape.key, "", depth + 1), _strategy(shape.value, "", depth + 1), max_size=2 if depth < 4 else 0)
    if kind == "string":
        if name in _POLICY_MEMBERS:
            return st.one_of(policy_objects.map(json.dumps), st.text(max_size=20))
        if shape.enum:
            return st.one_of(st.sampled_from(list(shape.enum)), st.sampled_from(["", "SOMETHING_NEW", "unknown"]))
        return st.one_of(st.sampled_from(["", "x", "arn:aws:kms:us-east-1:123456789012:key/1234", "123456789012", "*"]), st.text(max_size=16))
    if kind in ("integer", "long"):
        return st.integers(-1, 10**9)
    if kind in ("float", "double"):
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc))
    if kind == "blob":
        return st.binary(max_size=8)
    return st.none()


#: Next-page tokens of operations that botocore does not paginate (the check pages them itself).
_UNMODELLED_PAGE_TOKENS = ("NextToken", "nextToken", "NextMarker", "Marker", "PaginationToken", "NextPageToken")


def _without_page_tokens(service: str, operation: str, response: dict) -> dict:
    """One page only: every call answers with the same generated response, so a "next token" would be asked for forever."""
    model = _PAGE_TOKENS.get(service) or _PAGE_TOKENS.setdefault(service, botocore.session.get_session().get_paginator_model(service))
    tokens = list(_UNMODELLED_PAGE_TOKENS)
    try:
        config = model.get_paginator(operation)
    except ValueError:
        config = {}
    if config:
        tokens += config["output_token"] if isinstance(config["output_token"], list) else [config["output_token"]]
        if config.get("more_results"):
            response[config["more_results"]] = False
    for token in tokens:
        response.pop(token.split(".")[0], None)
    return response


class ScriptedAccount:
    """Stands in for AccountSessions: real botocore clients whose transport answers with the scripted responses."""

    default_region = REGION

    def __init__(self) -> None:
        self._session = botocore.session.get_session()
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.responses: dict[tuple[str, str], dict] = {}

    def _answer(self, model: Any, **_: Any) -> tuple[Any, dict]:
        service = model.service_model.service_name
        parsed = self.responses.get((service, model.name), {})
        http = botocore.awsrequest.AWSResponse(f"https://{service}.example.invalid/", 200, {}, None)
        return http, dict(parsed)

    def client(self, service: str, region: str) -> Any:
        with self._lock:
            client = self._clients.get((service, region))
            if client is None:
                client = self._session.create_client(
                    service, region_name=region, endpoint_url="http://127.0.0.1:9",
                    aws_access_key_id="testing", aws_secret_access_key="testing", aws_session_token="testing",
                )
                client.meta.events.register("before-call", self._answer)
                self._clients[(service, region)] = client
            return client

    def target_cache(self, account_id: str) -> TargetCache:
        return TargetCache(self.client, lambda service: None, ActionNames(self._session))

    def environment(self, account_id: str) -> dict[str, str]:
        return {}


def _builtin_checks() -> dict[str, Any]:
    checks = collect_checks(build_plugin_manager(disabled=["prowler"]), {})
    return {check_id: check for check_id, check in checks.items() if check.metadata.iam_actions}


BUILTIN_CHECKS = _builtin_checks()
SCRIPTED = ScriptedAccount()


@st.composite
def responses_for(draw: Any, check: Any) -> dict[tuple[str, str], dict]:
    scripted = {}
    for action in check.metadata.iam_actions:
        service, operation = _service_for_action(action)
        scripted[(service, operation)] = _without_page_tokens(service, operation, draw(_response_strategy(service, operation)))
    return scripted


@functools.lru_cache(maxsize=None)
def _response_strategy(service: str, operation: str) -> st.SearchStrategy:
    model = botocore.session.get_session().get_service_model(service).operation_model(operation)
    return _strategy(model.output_shape) if model.output_shape is not None else st.just({})


def _run(check: Any, scope_region: str) -> list[dict]:
    """The check's result records for one target, from the runner the scan itself builds."""
    settings = ScanSettings(check_timeout=10)
    plan = ScanPlan(
        scan_id="0" * 32, started_at="2026-11-30T00:00:00Z", mode="account", organization_id=None, management_account_id=None,
        caller_account_id=ACCOUNT_ID, partition="aws", regions=(REGION,), checks=(check.id,),
        accounts=(PlannedAccount(ACCOUNT_ID, "scripted", regions=(REGION,)),), role=settings.role, default_region=REGION,
    )
    runner = build_target_runner(SCRIPTED, {check.id: check}, plan, settings)
    try:
        return runner.run(Target(ACCOUNT_ID, scope_region), [check.id])
    finally:
        runner.close()


@pytest.mark.parametrize("check_id", sorted(BUILTIN_CHECKS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_malformed_responses_give_results_never_a_crash(check_id, data):
    check = BUILTIN_CHECKS[check_id]
    SCRIPTED.responses = data.draw(responses_for(check), label="responses")
    region = GLOBAL_REGION if check.metadata.scope is Scope.ACCOUNT else REGION

    records = _run(check, region)

    assert records, "every planned check must end with at least one result"
    for record in records:
        assert record["status"] in STATUSES
        assert record["account_id"] == ACCOUNT_ID
        assert record["target_region"] == region
        json.dumps(record)  # the record can be written to the document
        if record["status"] == "ERROR":
            message = record["message"]
            assert message.strip() and len(message) <= MAX_MESSAGE
            assert "Traceback" not in message
            assert "timed out" not in message, "a malformed response made the check hang"


# -- key policies that are not JSON reach the checks as ERROR for that key ---------------------------------


@pytest.mark.parametrize("policy_text", ["not json at all", "{\"Statement\": \"*\"}", "{\"Statement\": [{\"Effect\": \"Allow\", \"Principal\": 7, \"Action\": \"kms:*\"}]}"])
@pytest.mark.parametrize("check_id", sorted(c for c, check in BUILTIN_CHECKS.items() if "kms:GetKeyPolicy" in check.metadata.iam_actions and c.startswith("kms_")))
def test_an_unreadable_key_policy_is_an_error_for_that_key(check_id, policy_text):
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/11111111-2222-4333-8444-555555555555"
    key_id = key_arn.rsplit("/", 1)[1]
    SCRIPTED.responses = {
        ("kms", "ListKeys"): {"Keys": [{"KeyId": key_id, "KeyArn": key_arn}]},
        ("kms", "ListAliases"): {"Aliases": []},
        ("kms", "DescribeKey"): {"KeyMetadata": {"KeyId": key_id, "Arn": key_arn, "AWSAccountId": ACCOUNT_ID, "KeyManager": "CUSTOMER",
                                                 "KeyState": "Enabled", "Enabled": True, "KeyUsage": "ENCRYPT_DECRYPT",
                                                 "KeySpec": "SYMMETRIC_DEFAULT", "Origin": "AWS_KMS"}},
        ("kms", "GetKeyPolicy"): {"Policy": policy_text, "PolicyName": "default"},
    }

    records = _run(BUILTIN_CHECKS[check_id], REGION)

    (record,) = records
    assert record["status"] == "ERROR"
    assert record["resource_id"] == key_arn, "the ERROR must be about that key, not the whole target"
    assert "policy" in record["message"].lower()
