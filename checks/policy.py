"""A small evaluator for resource policies: KMS key policies and VPC endpoint policies.

It answers the questions orgscan's checks ask, exactly and nothing more:

* :func:`parse_policy` normalises a policy document (JSON text or parsed) into
  :class:`Policy`: every ``Principal``/``Action``/``Resource``/``Condition`` that
  AWS accepts as a string or a list becomes a tuple; a document AWS would not
  accept raises :class:`PolicyError` naming the statement and the element.
* :func:`evaluate` decides one concrete request (action, principal, request
  context) the way IAM does for a resource policy on its own: an explicit Deny
  wins over any Allow, no Allow means an implicit deny. Conditions are
  three-valued: a context key the caller does not know makes the answer
  ``None`` ("cannot tell") instead of a guess.
* :func:`caller_limiting_conditions` and :func:`public_allow_statements` say
  whether an Allow open to every principal is narrowed by a condition on who
  the caller is (account, organization, ARN, source VPC...).

Matching follows IAM: actions and condition keys are case-insensitive; action
patterns take ``*`` and ``?``; condition values are compared per operator
(``StringEquals`` case-sensitive, ``StringEqualsIgnoreCase`` not, ``*Like`` with
wildcards, ``Arn*`` per ARN component, ``Bool``, ``Null``, ``Numeric*``).
"""
from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

__all__ = [
    "PolicyError",
    "Condition",
    "Statement",
    "Policy",
    "Principal",
    "Request",
    "Decision",
    "Verdict",
    "parse_policy",
    "action_matches",
    "evaluate",
    "explicit_denies",
    "opens_to_everyone",
    "statement_allows_action",
    "evaluate_conditions",
    "caller_limiting_conditions",
    "public_allow_statements",
    "account_of_principal",
    "CALLER_LIMITING_KEYS",
    "KMS_ALWAYS_PRESENT_KEYS",
]


class PolicyError(ValueError):
    """The document is not a policy AWS would accept; the message names where."""


# --------------------------------------------------------------------------
# normalised model
# --------------------------------------------------------------------------

_STRING_OPERATORS = {
    "stringequals",
    "stringnotequals",
    "stringequalsignorecase",
    "stringnotequalsignorecase",
    "stringlike",
    "stringnotlike",
}
_ARN_OPERATORS = {"arnequals", "arnlike", "arnnotequals", "arnnotlike"}
_NUMERIC_OPERATORS = {
    "numericequals",
    "numericnotequals",
    "numericlessthan",
    "numericlessthanequals",
    "numericgreaterthan",
    "numericgreaterthanequals",
}
_DATE_OPERATORS = {
    "dateequals",
    "datenotequals",
    "datelessthan",
    "datelessthanequals",
    "dategreaterthan",
    "dategreaterthanequals",
}
_OTHER_OPERATORS = {"bool", "binaryequals", "ipaddress", "notipaddress", "null"}
KNOWN_OPERATORS = frozenset(_STRING_OPERATORS | _ARN_OPERATORS | _NUMERIC_OPERATORS | _DATE_OPERATORS | _OTHER_OPERATORS)
_NEGATED_OPERATORS = frozenset(
    {"stringnotequals", "stringnotequalsignorecase", "stringnotlike", "arnnotequals", "arnnotlike", "numericnotequals", "datenotequals", "notipaddress"}
)
#: Operators that compare for equality with no wildcard: what "conditioned on X = Y" means.
EXACT_MATCH_OPERATORS = frozenset({"stringequals", "stringequalsignorecase", "arnequals"})

#: Condition keys that say who the caller is (or where the call comes from). An
#: Allow open to every principal that carries one of these with fixed values is
#: not public. ``kms:ViaService`` is not among them: any principal anywhere can
#: call through the named service.
CALLER_LIMITING_KEYS = frozenset(
    {
        "kms:calleraccount",
        "aws:principalaccount",
        "aws:principalorgid",
        "aws:principalarn",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourcevpce",
        "aws:sourcevpc",
    }
)

#: Keys every authenticated KMS request carries: ``...IfExists`` on them tests like the plain operator.
#: (aws:PrincipalOrgID is absent for principals outside any organization, aws:Source* for direct calls.)
KMS_ALWAYS_PRESENT_KEYS = frozenset({"kms:calleraccount", "aws:principalaccount", "aws:principalarn"})

_ACCOUNT_ID = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class Condition:
    """One ``operator: {key: values}`` test. ``operator`` is as written; the rest is normalised."""

    operator: str
    key: str  # lower case: condition keys are case-insensitive
    values: tuple[str, ...]
    base_operator: str  # lower case, without IfExists and without a set qualifier
    if_exists: bool = False
    set_qualifier: str | None = None  # "forallvalues" | "foranyvalue" | None

    @property
    def negated(self) -> bool:
        return self.base_operator in _NEGATED_OPERATORS

    @property
    def exact_match(self) -> bool:
        """A plain equality test: no IfExists, no negation, no set qualifier, no wildcard operator."""
        return self.base_operator in EXACT_MATCH_OPERATORS and not self.if_exists and self.set_qualifier is None

    def to_dict(self) -> dict[str, Any]:
        return {"operator": self.operator, "key": self.key, "values": list(self.values)}


@dataclass(frozen=True)
class Principal:
    """``Principal`` or ``NotPrincipal``: ``everyone`` for ``"*"``, else values per type (AWS, Service, Federated, CanonicalUser)."""

    everyone: bool = False
    by_type: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def values(self, principal_type: str) -> tuple[str, ...]:
        return self.by_type.get(principal_type, ())

    @property
    def has_wildcard(self) -> bool:
        """``"*"`` or an ``AWS`` value with a wildcard: any principal of any account."""
        return self.everyone or any("*" in value for value in self.values("AWS"))

    def to_json(self) -> Any:
        if self.everyone:
            return "*"
        return {kind: list(values) for kind, values in self.by_type.items()}


@dataclass(frozen=True)
class Statement:
    """One normalised statement; exactly one of each ``X``/``NotX`` pair is set."""

    index: int
    sid: str | None
    effect: str  # "Allow" | "Deny"
    principal: Principal | None
    not_principal: Principal | None
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    conditions: tuple[Condition, ...]

    @property
    def label(self) -> str:
        """How a finding names the statement: its Sid, else its position."""
        return f"Sid {self.sid!r}" if self.sid else f"statement #{self.index}"

    @property
    def is_allow(self) -> bool:
        return self.effect == "Allow"

    def evidence(self) -> dict[str, Any]:
        """The statement as evidence: where it is and what it says, normalised."""
        data: dict[str, Any] = {"index": self.index, "effect": self.effect}
        if self.sid:
            data["sid"] = self.sid
        if self.principal is not None:
            data["principal"] = self.principal.to_json()
        if self.not_principal is not None:
            data["not_principal"] = self.not_principal.to_json()
        if self.actions is not None:
            data["action"] = list(self.actions)
        if self.not_actions is not None:
            data["not_action"] = list(self.not_actions)
        if self.conditions:
            data["condition"] = [c.to_dict() for c in self.conditions]
        return data


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]
    version: str | None = None

    @property
    def allows(self) -> tuple[Statement, ...]:
        return tuple(s for s in self.statements if s.is_allow)

    @property
    def denies(self) -> tuple[Statement, ...]:
        return tuple(s for s in self.statements if not s.is_allow)


# --------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------


def parse_policy(document: str | bytes | Mapping[str, Any]) -> Policy:
    """The normalised policy; raises :class:`PolicyError` for anything AWS would reject."""
    if isinstance(document, (bytes, bytearray)):
        try:
            document = document.decode("utf-8")
        except UnicodeDecodeError as error:
            raise PolicyError(f"policy is not UTF-8 text ({error.reason} at byte {error.start})") from None
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except (json.JSONDecodeError, RecursionError) as error:
            where = f" at line {error.lineno} column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
            raise PolicyError(f"policy is not JSON{where}") from None
    if not isinstance(document, Mapping):
        raise PolicyError(f"policy must be a JSON object, got {_type_name(document)}")
    version = document.get("Version")
    if version is not None and not isinstance(version, str):
        raise PolicyError(f"policy Version must be a string, got {_type_name(version)}")
    if "Statement" not in document:
        raise PolicyError("policy has no Statement")
    raw_statements = document["Statement"]
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        raise PolicyError(f"policy Statement must be an object or a list, got {_type_name(raw_statements)}")
    return Policy(tuple(_parse_statement(i, raw) for i, raw in enumerate(raw_statements)), version)


def _parse_statement(index: int, raw: Any) -> Statement:
    where = f"statement #{index}"
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where} must be an object, got {_type_name(raw)}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise PolicyError(f"{where}: Sid must be a string, got {_type_name(sid)}")
    if sid:
        where = f"statement #{index} (Sid {sid!r})"
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}: Effect must be \"Allow\" or \"Deny\", got {effect!r:.60}")
    principal = _pair(raw, "Principal", "NotPrincipal", where, required=True, parse=_parse_principal)
    actions = _pair(raw, "Action", "NotAction", where, required=True, parse=_string_list)
    resources = _pair(raw, "Resource", "NotResource", where, required=False, parse=_string_list)
    conditions = _parse_conditions(raw.get("Condition"), where) if "Condition" in raw else ()
    return Statement(
        index=index,
        sid=sid or None,
        effect=effect,
        principal=principal[0],
        not_principal=principal[1],
        actions=actions[0],
        not_actions=actions[1],
        resources=resources[0],
        not_resources=resources[1],
        conditions=conditions,
    )


def _pair(raw: Mapping[str, Any], name: str, not_name: str, where: str, *, required: bool, parse) -> tuple[Any, Any]:
    has, has_not = name in raw, not_name in raw
    if has and has_not:
        raise PolicyError(f"{where}: has both {name} and {not_name}")
    if not has and not has_not:
        if required:
            raise PolicyError(f"{where}: has neither {name} nor {not_name}")
        return None, None
    if has:
        return parse(raw[name], f"{where}: {name}"), None
    return None, parse(raw[not_name], f"{where}: {not_name}")


def _string_list(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        if not value:
            raise PolicyError(f"{where} is an empty list")
        for item in value:
            if not isinstance(item, str):
                raise PolicyError(f"{where} must hold strings, found {_type_name(item)}")
        return tuple(value)
    raise PolicyError(f"{where} must be a string or a list of strings, got {_type_name(value)}")


_PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")


def _parse_principal(value: Any, where: str) -> Principal:
    if value == "*":
        return Principal(everyone=True)
    if isinstance(value, str):
        raise PolicyError(f"{where} as a string must be \"*\", got {value!r:.60}")
    if not isinstance(value, Mapping):
        raise PolicyError(f"{where} must be \"*\" or an object, got {_type_name(value)}")
    if not value:
        raise PolicyError(f"{where} is an empty object")
    by_type: dict[str, tuple[str, ...]] = {}
    for kind, values in value.items():
        if kind not in _PRINCIPAL_TYPES:
            raise PolicyError(f"{where}: unknown principal type {kind!r:.40} (expected one of {', '.join(_PRINCIPAL_TYPES)})")
        by_type[kind] = _string_list(values, f"{where}.{kind}")
    return Principal(everyone=False, by_type=by_type)


def _parse_conditions(value: Any, where: str) -> tuple[Condition, ...]:
    if not isinstance(value, Mapping):
        raise PolicyError(f"{where}: Condition must be an object, got {_type_name(value)}")
    conditions: list[Condition] = []
    for operator, tests in value.items():
        if not isinstance(operator, str):
            raise PolicyError(f"{where}: Condition operator must be a string")
        base, if_exists, qualifier = _split_operator(operator, where)
        if not isinstance(tests, Mapping):
            raise PolicyError(f"{where}: Condition {operator} must map keys to values, got {_type_name(tests)}")
        for key, values in tests.items():
            conditions.append(
                Condition(
                    operator=operator,
                    key=str(key).lower(),
                    values=_condition_values(values, f"{where}: Condition {operator} {key}"),
                    base_operator=base,
                    if_exists=if_exists,
                    set_qualifier=qualifier,
                )
            )
    return tuple(conditions)


def _split_operator(operator: str, where: str) -> tuple[str, bool, str | None]:
    name = operator
    qualifier = None
    if ":" in name:
        prefix, _, name = name.partition(":")
        qualifier = prefix.lower()
        if qualifier not in ("forallvalues", "foranyvalue"):
            raise PolicyError(f"{where}: unknown condition set operator {prefix!r:.40} in {operator!r:.60}")
    lowered = name.lower()
    if_exists = lowered.endswith("ifexists") and lowered != "null"
    base = lowered[: -len("ifexists")] if if_exists else lowered
    if base not in KNOWN_OPERATORS:
        raise PolicyError(f"{where}: unknown condition operator {operator!r:.60}")
    if base == "null" and (if_exists or qualifier):
        raise PolicyError(f"{where}: condition operator {operator!r:.60} is not valid")
    return base, if_exists, qualifier


def _condition_values(value: Any, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise PolicyError(f"{where} has an empty list of values")
    normalised = []
    for item in items:
        if isinstance(item, bool):  # before int: bool is an int in Python
            normalised.append("true" if item else "false")
        elif isinstance(item, (str, int, float)):
            normalised.append(str(item))
        else:
            raise PolicyError(f"{where}: a value must be a string, number or boolean, got {_type_name(item)}")
    return tuple(normalised)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


# --------------------------------------------------------------------------
# matching
# --------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    """Whether an ``Action`` pattern (``kms:Create*``, ``*``) covers ``action``; case-insensitive."""
    return bool(_glob(pattern, True).match(action))


def statement_allows_action(statement: Statement, action: str) -> bool:
    """Whether the statement's ``Action``/``NotAction`` covers ``action`` (ignoring principal and conditions)."""
    if statement.actions is not None:
        return any(action_matches(p, action) for p in statement.actions)
    return not any(action_matches(p, action) for p in statement.not_actions or ())


def account_of_principal(value: str) -> str | None:
    """The account of an ``AWS`` principal value: ``123456789012``, ``arn:...:iam::123456789012:...``; else ``None``."""
    if _ACCOUNT_ID.match(value):
        return value
    parts = value.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[2] in ("iam", "sts") and _ACCOUNT_ID.match(parts[4]):
        return parts[4]
    return None


@dataclass(frozen=True)
class Request:
    """One request to judge: who asks for what, and the request context keys known about it.

    ``principal_arn`` is the caller's ARN (a role, a user, an account root) or,
    for a service principal, ``principal_service`` names it. ``context`` maps
    condition keys (any case) to a value or a list of values; a key that is
    absent from ``context`` and not in ``absent_keys`` is *unknown*.
    """

    action: str
    principal_arn: str | None = None
    principal_service: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    absent_keys: frozenset[str] = frozenset()

    @property
    def principal_account(self) -> str | None:
        return account_of_principal(self.principal_arn) if self.principal_arn else None


def _principal_covers(principal: Principal, request: Request) -> bool | None:
    if principal.everyone:
        return True
    if request.principal_service is not None:
        return request.principal_service.lower() in (v.lower() for v in principal.values("Service"))
    if request.principal_arn is None:
        return None
    account = request.principal_account
    for value in principal.values("AWS"):
        if value == "*":
            return True
        if "*" in value:
            return None  # AWS rejects these; do not guess
        if account_of_principal(value) == account and (_ACCOUNT_ID.match(value) or value.endswith(":root")):
            return True
        if value == request.principal_arn:
            return True
    return False


def _statement_applies(statement: Statement, request: Request) -> bool | None:
    if not statement_allows_action(statement, request.action):
        return False
    if statement.principal is not None:
        covered = _principal_covers(statement.principal, request)
    else:
        excluded = _principal_covers(statement.not_principal, request)  # type: ignore[arg-type]
        covered = None if excluded is None else not excluded
    if covered is False:
        return False
    conditions = evaluate_conditions(statement.conditions, request)
    if conditions is False:
        return False
    if covered is None or conditions is None:
        return None
    return True


class Verdict(str, enum.Enum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit_deny"
    IMPLICIT_DENY = "implicit_deny"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Decision:
    """The verdict and the statements that decided it (or might have, when UNKNOWN)."""

    verdict: Verdict
    statements: tuple[Statement, ...] = ()


def evaluate(policy: Policy, request: Request) -> Decision:
    """How this policy alone decides the request: Deny before Allow; ``UNKNOWN`` when a condition cannot be told."""
    denies = [(s, _statement_applies(s, request)) for s in policy.denies]
    definite_denies = tuple(s for s, applies in denies if applies is True)
    if definite_denies:
        return Decision(Verdict.EXPLICIT_DENY, definite_denies)
    maybe_denies = tuple(s for s, applies in denies if applies is None)
    allows = [(s, _statement_applies(s, request)) for s in policy.allows]
    definite_allows = tuple(s for s, applies in allows if applies is True)
    maybe_allows = tuple(s for s, applies in allows if applies is None)
    if maybe_denies and (definite_allows or maybe_allows):
        return Decision(Verdict.UNKNOWN, maybe_denies)
    if definite_allows:
        return Decision(Verdict.ALLOWED, definite_allows)
    if maybe_allows:
        return Decision(Verdict.UNKNOWN, maybe_allows)
    return Decision(Verdict.IMPLICIT_DENY)


def explicit_denies(policy: Policy, request: Request) -> tuple[tuple[Statement, ...], tuple[Statement, ...]]:
    """Deny statements that certainly apply to the request, and those that might (a condition cannot be told)."""
    certain, possible = [], []
    for statement in policy.denies:
        applies = _statement_applies(statement, request)
        if applies is True:
            certain.append(statement)
        elif applies is None:
            possible.append(statement)
    return tuple(certain), tuple(possible)


# --------------------------------------------------------------------------
# conditions
# --------------------------------------------------------------------------

_UNKNOWN = object()


def _context_value(request: Request, key: str) -> Any:
    for name, value in request.context.items():
        if name.lower() == key:
            return value
    if key in {k.lower() for k in request.absent_keys}:
        return None
    return _UNKNOWN


def evaluate_conditions(conditions: Iterable[Condition], request: Request) -> bool | None:
    """All conditions together (AND): ``True``, ``False``, or ``None`` when a needed key is unknown."""
    result: bool | None = True
    for condition in conditions:
        outcome = evaluate_condition(condition, request)
        if outcome is False:
            return False
        if outcome is None:
            result = None
    return result


def evaluate_condition(condition: Condition, request: Request) -> bool | None:
    """One condition under IAM's rules for missing keys, IfExists, negation and set qualifiers."""
    value = _context_value(request, condition.key)
    if value is _UNKNOWN:
        return None
    if condition.base_operator == "null":
        expected_absent = condition.values[0].lower() == "true"
        return (value is None) == expected_absent
    if value is None:
        # A missing key: IfExists and ForAllValues are vacuously true, negated operators match.
        if condition.if_exists or condition.set_qualifier == "forallvalues":
            return True
        return condition.negated and condition.set_qualifier is None
    request_values = [_as_text(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    if any(v is None for v in request_values):
        return None
    positive = _positive_operator(condition.base_operator)
    if any("${" in v for v in condition.values):
        return None  # policy variables: not resolved here

    def matches(request_value: str) -> bool | None:
        outcomes = [_compare(positive, policy_value, request_value) for policy_value in condition.values]
        if True in outcomes:
            return True
        return None if None in outcomes else False

    def apply_negation(outcome: bool | None) -> bool | None:
        if outcome is None or not condition.negated:
            return outcome
        return not outcome

    per_value = [apply_negation(matches(v)) for v in request_values]
    if condition.set_qualifier == "forallvalues":
        return _all3(per_value)
    if condition.set_qualifier == "foranyvalue":
        return _any3(per_value)
    if len(request_values) != 1:
        return None  # a single-valued operator on a multivalued key: AWS's answer depends on the key
    return per_value[0]


def _positive_operator(base: str) -> str:
    return {
        "stringnotequals": "stringequals",
        "stringnotequalsignorecase": "stringequalsignorecase",
        "stringnotlike": "stringlike",
        "arnnotequals": "arnequals",
        "arnnotlike": "arnlike",
        "numericnotequals": "numericequals",
        "datenotequals": "dateequals",
        "notipaddress": "ipaddress",
    }.get(base, base)


def _compare(operator: str, policy_value: str, request_value: str) -> bool | None:
    if operator == "stringequals":
        return policy_value == request_value
    if operator == "stringequalsignorecase":
        return policy_value.lower() == request_value.lower()
    if operator == "stringlike":
        return bool(_glob(policy_value, False).match(request_value))
    if operator in ("arnequals", "arnlike"):
        return _arn_like(policy_value, request_value)
    if operator == "bool":
        return policy_value.lower() == request_value.lower()
    if operator.startswith("numeric"):
        try:
            left, right = float(request_value), float(policy_value)
        except ValueError:
            return False
        return {
            "numericequals": left == right,
            "numericlessthan": left < right,
            "numericlessthanequals": left <= right,
            "numericgreaterthan": left > right,
            "numericgreaterthanequals": left >= right,
        }[operator]
    return None  # dates, IP ranges, binary: not needed by orgscan's checks; never guessed


def _arn_like(pattern: str, arn: str) -> bool:
    pattern_parts = pattern.split(":", 5)
    arn_parts = arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return bool(_glob(pattern, False).match(arn))
    return all(_glob(p, False).match(a) for p, a in zip(pattern_parts, arn_parts))


def _as_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _all3(values: Sequence[bool | None]) -> bool | None:
    if False in values:
        return False
    return None if None in values else True


def _any3(values: Sequence[bool | None]) -> bool | None:
    if True in values:
        return True
    return None if None in values else False


# --------------------------------------------------------------------------
# "who can call": public statements
# --------------------------------------------------------------------------


def _fixed_value(value: str) -> bool:
    return bool(value) and "*" not in value and "?" not in value and "${" not in value


def _limits_caller(condition: Condition, always_present: frozenset[str] = frozenset()) -> bool:
    """A positive test with only fixed values (ARN values with a fixed account): it names who may call.

    ``IfExists`` lets a request without the key through, so it limits nothing,
    unless the key is in ``always_present`` (every request carries it).
    """
    if condition.negated or condition.set_qualifier == "forallvalues":
        return False
    if condition.if_exists and condition.key not in always_present:
        return False
    if condition.base_operator not in _STRING_OPERATORS | _ARN_OPERATORS:
        return False
    if condition.key in ("aws:principalarn", "aws:sourcearn"):
        return all(_fixed_arn(condition.key, value) for value in condition.values)
    if condition.base_operator in ("stringequals", "stringequalsignorecase"):
        # No wildcards under StringEquals: '*' is a literal character, so only a variable is open-ended.
        return all(v and "${" not in v for v in condition.values)
    return all(_fixed_value(v) for v in condition.values)


def _fixed_arn(key: str, value: str) -> bool:
    # arn:aws:iam::111122223333:role/* names one account; arn:aws:iam::*:role/x names none.
    parts = value.split(":", 5)
    if "${" in value or len(parts) != 6 or parts[0] != "arn":
        return False
    if _ACCOUNT_ID.match(parts[4]):
        return True
    # Source ARNs of some resources (S3 buckets) carry no account: a fixed resource name still limits.
    return key == "aws:sourcearn" and parts[4] == "" and bool(parts[5]) and not parts[5].startswith(("*", "?"))


def caller_limiting_conditions(
    statement: Statement, keys: Iterable[str] = CALLER_LIMITING_KEYS, always_present: Iterable[str] = ()
) -> tuple[Condition, ...]:
    """The statement's conditions that restrict who the caller is to fixed accounts, organizations, ARNs or networks."""
    wanted = {k.lower() for k in keys}
    present = frozenset(k.lower() for k in always_present)
    return tuple(c for c in statement.conditions if c.key in wanted and _limits_caller(c, present))


def opens_to_everyone(statement: Statement) -> bool:
    """``Principal "*"``, ``{"AWS": "*"}`` (or a wildcard AWS value) or any ``NotPrincipal``."""
    if statement.not_principal is not None:
        return True
    return statement.principal is not None and statement.principal.has_wildcard


def _deny_guards(deny: Statement, allow: Statement, keys: frozenset[str]) -> bool:
    """A Deny for every principal and every action of ``allow``, conditioned only on "the caller is not one of these fixed ones"."""
    if deny.principal is None or not deny.principal.has_wildcard or deny.actions is None:
        return False
    if allow.actions is None:  # NotAction: only a Deny of everything covers it
        if "*" not in deny.actions:
            return False
    elif not all(any(action_matches(d, a) for d in deny.actions) for a in allow.actions):
        return False
    return all(
        c.key in keys and c.negated and c.set_qualifier is None and all(_fixed_value(v) for v in c.values)
        for c in deny.conditions
    )


def public_allow_statements(
    policy: Policy, keys: Iterable[str] = CALLER_LIMITING_KEYS, always_present: Iterable[str] = ()
) -> tuple[Statement, ...]:
    """Allow statements open to every principal with no condition on who the caller is (``keys``).

    A Deny for every principal covering the statement's actions, conditioned
    only on the caller *not* being a fixed account/organization/ARN (the "deny
    unless in my organization" guard) or not conditioned at all, closes it.
    """
    key_set = frozenset(k.lower() for k in keys)
    return tuple(
        s
        for s in policy.allows
        if opens_to_everyone(s)
        and not caller_limiting_conditions(s, key_set, always_present)
        and not any(_deny_guards(d, s, key_set) for d in policy.denies)
    )
