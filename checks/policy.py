"""An evaluator for resource policies (KMS key policies, VPC endpoint policies): would AWS allow this request?

* :func:`parse_policy` normalises a policy document (JSON text or parsed) into
  :class:`Policy`: every ``Principal``/``Action``/``Resource``/``Condition`` that
  AWS accepts as a string or a list becomes a tuple. Anything that cannot be
  judged (not JSON, wrong types, a 5,000-digit number, deep nesting, more
  statements or values than :data:`LIMITS` allow) raises :class:`PolicyError`
  naming the statement and the element, so a caller reports ERROR for that one
  resource and judges the others.
* :func:`evaluate` decides one concrete :class:`Request` -- a :class:`Caller`
  (type, ARN, account, organization and OU paths), an action, a resource ARN and
  the request context (which condition keys are present, with which values) --
  the way IAM's policy evaluation logic does for a resource policy on its own:
  an explicit Deny wins, then an Allow, else the request is implicitly denied.
  ``Principal``/``NotPrincipal``, ``Action``/``NotAction``,
  ``Resource``/``NotResource``, every condition operator with AWS's rules for a
  missing key, ``ForAnyValue``/``ForAllValues``, ``...IfExists``, ``Null`` and
  policy variables (``${aws:PrincipalAccount}``, ``${*}``...) are honoured.

A condition key absent from the request context is *absent*, as AWS treats it.
Two other states exist for keys a check cannot pin down:

* ``unknown_keys``: the check genuinely does not know the value (the role that
  configured DevOps Guru, say). Conditions on them make the answer
  ``UNKNOWN`` instead of a guess.
* ``caller_chosen_keys``: the caller picks the value (source IP, TLS, user
  agent, tags on its own principal, the service it calls through). An Allow's
  condition on such a key is taken as met, a Deny's as not met: the question
  becomes "can this caller arrange to be let in?", which is what "is this key
  public?" means.

Wildcards (``*``, ``?``) are matched by an iterative matcher without
backtracking regular expressions: runs of ``*`` collapse, and the work for one
match is bounded by ``len(pattern) * len(text)`` steps (issue 15, finding 1).

Every free-form string taken from a policy that reaches a message or evidence
(Sids, condition values, principals that are not ARNs) goes through
:func:`checks.sensitive_data.detector.redact_identifier` (issue 15, finding 5).

AWS documentation this follows:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html.
"""
from __future__ import annotations

import base64
import binascii
import datetime as _dt
import enum
import ipaddress
import json
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Iterable, Mapping, Sequence

from checks.sensitive_data.detector import redact_identifier

__all__ = [
    "PolicyError",
    "Condition",
    "Statement",
    "Policy",
    "Principal",
    "Caller",
    "Request",
    "Decision",
    "Verdict",
    "LIMITS",
    "parse_policy",
    "action_matches",
    "glob_match",
    "evaluate",
    "explicit_denies",
    "statement_allows_action",
    "statement_applies",
    "principal_covers",
    "evaluate_conditions",
    "evaluate_condition",
    "account_of_principal",
    "shown",
    "CALLER_LIMITING_KEYS",
]


class PolicyError(ValueError):
    """The document is not a policy that can be judged; the message names where (free-form text redacted)."""


@dataclass(frozen=True)
class Limits:
    """How much of one policy is judged at most: a hostile policy must not freeze the scan.

    A KMS key policy is at most 32 KB and an endpoint policy 20 KB, so real
    policies stay far below these numbers.
    """

    statements: int = 500
    values_per_element: int = 1000
    string_length: int = 4096
    document_characters: int = 200_000
    nesting_depth: int = 32


LIMITS = Limits()


def shown(value: Any, limit: int = 60) -> str:
    """A free-form value from a policy as it may appear in a message: quoted, shortened, sensitive data masked."""
    return redact_identifier(repr(value)[:limit]) or ""


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
#: Operators that AWS documents as true when the key is missing from the request context.
_NEGATED_OPERATORS = frozenset(
    {"stringnotequals", "stringnotequalsignorecase", "stringnotlike", "arnnotequals", "arnnotlike", "numericnotequals", "datenotequals", "notipaddress"}
)
_POSITIVE_OF = {
    "stringnotequals": "stringequals",
    "stringnotequalsignorecase": "stringequalsignorecase",
    "stringnotlike": "stringlike",
    "arnnotequals": "arnequals",
    "arnnotlike": "arnlike",
    "numericnotequals": "numericequals",
    "datenotequals": "dateequals",
    "notipaddress": "ipaddress",
}
#: Operators that compare for equality with no wildcard: what "conditioned on X = Y" means.
EXACT_MATCH_OPERATORS = frozenset({"stringequals", "stringequalsignorecase", "arnequals"})

#: Condition keys that say who the caller is or where the call comes from: an Allow open to
#: every principal is limited only by conditions on these (issue 13). ``kms:ViaService`` is not
#: among them: any principal anywhere can call through the named service.
CALLER_LIMITING_KEYS = frozenset(
    {
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalaccount",
        "kms:calleraccount",
        "aws:principalarn",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:sourcevpce",
        "aws:sourcevpc",
    }
)

#: Twelve ASCII digits, nothing else: ``\d`` would take other scripts' digits (Arabic-Indic...) and
#: ``$`` a trailing newline, and AWS accepts neither in an account id.
_ACCOUNT_ID = re.compile(r"[0-9]{12}", re.ASCII)


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
        """The condition as evidence; its values are free-form text, so they are redacted."""
        return {"operator": self.operator, "key": self.key, "values": [redact_identifier(v) for v in self.values]}


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
        """The principal as evidence: ARNs and account ids as written, anything else redacted."""
        if self.everyone:
            return "*"
        return {kind: [_principal_shown(v) for v in values] for kind, values in self.by_type.items()}


def _principal_shown(value: str) -> str:
    if value == "*" or _ACCOUNT_ID.fullmatch(value) or (value.startswith("arn:") and len(value.split(":")) >= 6):
        return redact_identifier(value) or ""
    return redact_identifier(value[: LIMITS.string_length]) or ""


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

    @cached_property
    def label(self) -> str:
        """How a finding names the statement: its Sid (sensitive data masked), else its position."""
        return f"Sid {shown(self.sid, 120)}" if self.sid else f"statement #{self.index}"

    @property
    def is_allow(self) -> bool:
        return self.effect == "Allow"

    @cached_property
    def _covered_actions(self) -> dict[str, bool]:
        """Memo of :func:`statement_allows_action` answers (a statement is asked about the same actions often)."""
        return {}

    def evidence(self) -> dict[str, Any]:
        """The statement as evidence: where it is and what it says, normalised, free-form text redacted."""
        data: dict[str, Any] = {"index": self.index, "effect": self.effect}
        if self.sid:
            data["sid"] = redact_identifier(self.sid[: LIMITS.string_length])
        if self.principal is not None:
            data["principal"] = self.principal.to_json()
        if self.not_principal is not None:
            data["not_principal"] = self.not_principal.to_json()
        if self.actions is not None:
            data["action"] = [redact_identifier(a) for a in self.actions]
        if self.not_actions is not None:
            data["not_action"] = [redact_identifier(a) for a in self.not_actions]
        if self.resources is not None:
            data["resource"] = [redact_identifier(r) for r in self.resources]
        if self.not_resources is not None:
            data["not_resource"] = [redact_identifier(r) for r in self.not_resources]
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

    def exact_actions(self) -> tuple[str, ...]:
        """Every action the policy names without a wildcard (so a check can ask about it too)."""
        names = []
        for statement in self.statements:
            for action in (statement.actions or ()) + (statement.not_actions or ()):
                if "*" not in action and "?" not in action and action not in names:
                    names.append(action)
        return tuple(names)


# --------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------


def parse_policy(document: str | bytes | Mapping[str, Any]) -> Policy:
    """The normalised policy; raises :class:`PolicyError` for anything that cannot be judged, never another error.

    Text is parsed once per process and kept (the same key policy is judged by
    three checks); a :class:`Policy` is immutable, so sharing it is safe.
    """
    if isinstance(document, str) and len(document) <= LIMITS.document_characters:
        return _parse_text(document)
    return _parse_any(document)


@lru_cache(maxsize=1024)
def _parse_text(document: str) -> Policy:
    return _parse_any(document)


def _parse_any(document: Any) -> Policy:
    try:
        return _parse_policy(document)
    except PolicyError:
        raise
    except RecursionError:
        raise PolicyError("policy is nested too deeply to judge") from None
    except MemoryError:
        raise PolicyError("policy is too large to judge") from None
    except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as error:
        # json's int-conversion limit (4,300 digits) raises ValueError; anything else unexpected in a
        # hostile document ends here too: one resource's ERROR, never the account's.
        raise PolicyError(f"policy cannot be read ({type(error).__name__})") from None


def _parse_policy(document: Any) -> Policy:
    if isinstance(document, (bytes, bytearray)):
        try:
            document = document.decode("utf-8")
        except UnicodeDecodeError as error:
            raise PolicyError(f"policy is not UTF-8 text ({error.reason} at byte {error.start})") from None
    if isinstance(document, str):
        if len(document) > LIMITS.document_characters:
            raise PolicyError(f"policy has {len(document)} characters, more than the {LIMITS.document_characters} judged")
        try:
            document = json.loads(document)
        except json.JSONDecodeError as error:
            raise PolicyError(f"policy is not JSON at line {error.lineno} column {error.colno}") from None
        except ValueError:
            raise PolicyError("policy holds a number too long to read (more than 4,300 digits)") from None
    _check_depth(document, 0)
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
    if len(raw_statements) > LIMITS.statements:
        raise PolicyError(f"policy has {len(raw_statements)} statements, more than the {LIMITS.statements} judged")
    return Policy(tuple(_parse_statement(i, raw) for i, raw in enumerate(raw_statements)), version)


def _check_depth(value: Any, depth: int) -> None:
    """Raises :class:`PolicyError` when the document nests deeper than any policy AWS accepts."""
    if depth > LIMITS.nesting_depth:
        raise PolicyError(f"policy nests more than {LIMITS.nesting_depth} levels deep")
    if isinstance(value, Mapping):
        for item in value.values():
            _check_depth(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_depth(item, depth + 1)


def _parse_statement(index: int, raw: Any) -> Statement:
    where = f"statement #{index}"
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where} must be an object, got {_type_name(raw)}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise PolicyError(f"{where}: Sid must be a string, got {_type_name(sid)}")
    if sid:
        where = f"statement #{index} (Sid {shown(sid)})"
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}: Effect must be \"Allow\" or \"Deny\", got {shown(effect)}")
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
        _check_string(value, where)
        return (value,)
    if isinstance(value, list):
        if not value:
            raise PolicyError(f"{where} is an empty list")
        if len(value) > LIMITS.values_per_element:
            raise PolicyError(f"{where} has {len(value)} values, more than the {LIMITS.values_per_element} judged")
        for item in value:
            if not isinstance(item, str):
                raise PolicyError(f"{where} must hold strings, found {_type_name(item)}")
            _check_string(item, where)
        return tuple(value)
    raise PolicyError(f"{where} must be a string or a list of strings, got {_type_name(value)}")


def _check_string(value: str, where: str) -> None:
    if len(value) > LIMITS.string_length:
        raise PolicyError(f"{where} has a value of {len(value)} characters, more than the {LIMITS.string_length} judged")


_PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")


def _parse_principal(value: Any, where: str) -> Principal:
    if value == "*":
        return Principal(everyone=True)
    if isinstance(value, str):
        raise PolicyError(f"{where} as a string must be \"*\", got {shown(value)}")
    if not isinstance(value, Mapping):
        raise PolicyError(f"{where} must be \"*\" or an object, got {_type_name(value)}")
    if not value:
        raise PolicyError(f"{where} is an empty object")
    by_type: dict[str, tuple[str, ...]] = {}
    for kind, values in value.items():
        if kind not in _PRINCIPAL_TYPES:
            raise PolicyError(f"{where}: unknown principal type {shown(kind, 40)} (expected one of {', '.join(_PRINCIPAL_TYPES)})")
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
            raise PolicyError(f"{where}: Condition {shown(operator)} must map keys to values, got {_type_name(tests)}")
        for key, values in tests.items():
            conditions.append(
                Condition(
                    operator=operator,
                    key=str(key).lower(),
                    values=_condition_values(values, f"{where}: Condition {shown(operator)} {shown(key)}"),
                    base_operator=base,
                    if_exists=if_exists,
                    set_qualifier=qualifier,
                )
            )
            if len(conditions) > LIMITS.values_per_element:
                raise PolicyError(f"{where}: more than {LIMITS.values_per_element} condition tests")
    return tuple(conditions)


def _split_operator(operator: str, where: str) -> tuple[str, bool, str | None]:
    name = operator
    qualifier = None
    if ":" in name:
        prefix, _, name = name.partition(":")
        qualifier = prefix.lower()
        if qualifier not in ("forallvalues", "foranyvalue"):
            raise PolicyError(f"{where}: unknown condition set operator {shown(prefix, 40)} in {shown(operator)}")
    lowered = name.lower()
    if_exists = lowered.endswith("ifexists") and lowered != "null"
    base = lowered[: -len("ifexists")] if if_exists else lowered
    if base not in KNOWN_OPERATORS:
        raise PolicyError(f"{where}: unknown condition operator {shown(operator)}")
    if base == "null" and (if_exists or qualifier):
        raise PolicyError(f"{where}: condition operator {shown(operator)} is not valid")
    return base, if_exists, qualifier


def _condition_values(value: Any, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise PolicyError(f"{where} has an empty list of values")
    if len(items) > LIMITS.values_per_element:
        raise PolicyError(f"{where} has {len(items)} values, more than the {LIMITS.values_per_element} judged")
    normalised = []
    for item in items:
        if isinstance(item, bool):  # before int: bool is an int in Python
            normalised.append("true" if item else "false")
        elif isinstance(item, int):
            text = str(item)
            _check_string(text, where)
            normalised.append(text)
        elif isinstance(item, float):
            normalised.append(repr(item))
        elif isinstance(item, str):
            _check_string(item, where)
            normalised.append(item)
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
# wildcard matching: linear in the pattern, no backtracking regex
# --------------------------------------------------------------------------


def _collapse_stars(pattern: str) -> str:
    return re.sub(r"\*+", "*", pattern) if "**" in pattern else pattern


def glob_steps(pattern: str, text: str, ignore_case: bool = False) -> tuple[bool, int]:
    """Whether ``pattern`` (``*`` any run, ``?`` one character) matches all of ``text``, and the steps taken.

    The classic iterative matcher: on a mismatch it resumes right after the last
    ``*`` with one more character consumed by it, so it never revisits earlier
    stars. With runs of ``*`` collapsed, the steps are at most
    ``(len(pattern) + 1) * (len(text) + 1)``, whatever the input.
    """
    if ignore_case:
        pattern, text = pattern.lower(), text.lower()
    pattern = _collapse_stars(pattern)
    p = t = steps = 0
    star = -1
    star_text = 0
    while t < len(text):
        steps += 1
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star, star_text = p, t
            p += 1
        elif star >= 0:
            star_text += 1
            p, t = star + 1, star_text
        else:
            return False, steps
    while p < len(pattern) and pattern[p] == "*":
        p += 1
        steps += 1
    return p == len(pattern), steps


def glob_match(pattern: str, text: str, ignore_case: bool = False) -> bool:
    """Whether an IAM wildcard pattern matches the whole text (see :func:`glob_steps`)."""
    if "?" not in pattern:
        star = pattern.find("*")
        if star < 0:
            return pattern.lower() == text.lower() if ignore_case else pattern == text
        if star == len(pattern) - 1:  # "prefix*", the common case: no matcher needed
            prefix = pattern[:-1]
            return text.lower().startswith(prefix.lower()) if ignore_case else text.startswith(prefix)
    return glob_steps(pattern, text, ignore_case)[0]


@lru_cache(maxsize=65536)
def action_matches(pattern: str, action: str) -> bool:
    """Whether an ``Action`` pattern (``kms:Create*``, ``*``) covers ``action``; case-insensitive."""
    return glob_match(pattern, action, ignore_case=True)


def statement_allows_action(statement: Statement, action: str) -> bool:
    """Whether the statement's ``Action``/``NotAction`` covers ``action`` (ignoring principal and conditions)."""
    memo = statement._covered_actions
    answer = memo.get(action)
    if answer is None:
        if statement.actions is not None:
            answer = any(action_matches(p, action) for p in statement.actions)
        else:
            answer = not any(action_matches(p, action) for p in statement.not_actions or ())
        memo[action] = answer
    return answer


def account_of_principal(value: str) -> str | None:
    """The account of an ``AWS`` principal value: ``123456789012``, ``arn:...:iam::123456789012:...``; else ``None``."""
    if _ACCOUNT_ID.fullmatch(value):
        return value
    parts = value.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[2] in ("iam", "sts") and _ACCOUNT_ID.fullmatch(parts[4]):
        return parts[4]
    return None


# --------------------------------------------------------------------------
# requests
# --------------------------------------------------------------------------


class CallerKind(str, enum.Enum):
    ROOT = "root"  # the account's root user
    ROLE_SESSION = "role-session"  # an assumed-role session (arn: the role, session_arn: the session)
    USER = "user"  # an IAM user
    SERVICE = "service"  # an AWS service principal
    ANONYMOUS = "anonymous"  # an unauthenticated caller


@dataclass(frozen=True)
class Caller:
    """Who makes a request. ``arn`` is what ``aws:PrincipalArn`` holds (for a role session: the role's ARN).

    ``arn=None`` with a kind that has one means "some principal of this kind in
    ``account`` whose name the check does not know": a ``Principal`` naming one
    role or user then gives UNKNOWN, one naming the account gives a match.
    """

    kind: CallerKind
    account: str | None = None
    arn: str | None = None
    session_arn: str | None = None
    service: str | None = None
    org_id: str | None = None
    org_paths: tuple[str, ...] = ()

    @property
    def partition(self) -> str:
        for arn in (self.arn, self.session_arn):
            if arn and arn.startswith("arn:"):
                return arn.split(":")[1]
        return "aws"

    def root_arn(self) -> str | None:
        return f"arn:{self.partition}:iam::{self.account}:root" if self.account else None


@dataclass(frozen=True, init=False)
class Request:
    """One request to judge: a caller, an action, a resource and the request context.

    ``context`` maps condition keys (any case) to a value or a list of values;
    a key not in it is absent, unless listed in ``unknown_keys`` (the check does
    not know it) or matched by a pattern in ``caller_chosen_keys`` (the caller
    picks it). ``resource=None`` means "a resource of the caller's choosing".
    """

    action: str
    caller: Caller
    resource: str | None
    context: Mapping[str, Any]
    unknown_keys: frozenset[str]
    caller_chosen_keys: tuple[str, ...]

    def __init__(
        self,
        action: str,
        *,
        caller: Caller,
        resource: str | None = None,
        context: Mapping[str, Any] | None = None,
        unknown_keys: Iterable[str] = frozenset(),
        caller_chosen_keys: Iterable[str] = (),
    ) -> None:
        lowered = {str(k).lower(): v for k, v in (context or {}).items()}
        object.__setattr__(self, "action", action)
        object.__setattr__(self, "caller", caller)
        object.__setattr__(self, "resource", resource)
        object.__setattr__(self, "context", lowered)
        object.__setattr__(self, "unknown_keys", frozenset(k.lower() for k in unknown_keys))
        chosen, exact, patterns = _split_chosen(tuple(caller_chosen_keys))
        object.__setattr__(self, "caller_chosen_keys", chosen)
        object.__setattr__(self, "_chosen_exact", exact)
        object.__setattr__(self, "_chosen_patterns", patterns)

    def key_state(self, key: str) -> Any:
        """The value of a (lower-case) key, or :data:`ABSENT`, :data:`UNKNOWN` or :data:`CHOSEN`."""
        if key in self.context:
            return self.context[key]
        if key in self.unknown_keys:
            return UNKNOWN
        if key in self._chosen_exact or (self._chosen_patterns and _matches_any_pattern(key, self._chosen_patterns)):
            return CHOSEN
        return ABSENT


@lru_cache(maxsize=256)
def _split_chosen(keys: tuple[str, ...]) -> tuple[tuple[str, ...], frozenset[str], tuple[str, ...]]:
    """Caller-chosen key patterns, lower case: all, the exact names, the wildcard patterns (built once per set)."""
    chosen = tuple(k.lower() for k in keys)
    return chosen, frozenset(k for k in chosen if "*" not in k and "?" not in k), tuple(k for k in chosen if "*" in k or "?" in k)


@lru_cache(maxsize=4096)
def _matches_any_pattern(key: str, patterns: tuple[str, ...]) -> bool:
    return any(glob_match(pattern, key) for pattern in patterns)


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ABSENT = _Marker("ABSENT")
UNKNOWN = _Marker("UNKNOWN")
CHOSEN = _Marker("CHOSEN")


# --------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------


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
    possible_denies: tuple[Statement, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOWED


def evaluate(policy: Policy, request: Request) -> Decision:
    """How this policy alone decides the request: Deny before Allow, else implicit deny; UNKNOWN only on unknown keys."""
    certain, possible = explicit_denies(policy, request)
    if certain:
        return Decision(Verdict.EXPLICIT_DENY, certain)
    allows = [(s, statement_applies(s, request)) for s in policy.allows]
    definite_allows = tuple(s for s, applies in allows if applies is True)
    maybe_allows = tuple(s for s, applies in allows if applies is None)
    if possible and (definite_allows or maybe_allows):
        return Decision(Verdict.UNKNOWN, possible, possible)
    if definite_allows:
        return Decision(Verdict.ALLOWED, definite_allows)
    if maybe_allows:
        return Decision(Verdict.UNKNOWN, maybe_allows)
    return Decision(Verdict.IMPLICIT_DENY)


def explicit_denies(policy: Policy, request: Request) -> tuple[tuple[Statement, ...], tuple[Statement, ...]]:
    """Deny statements that certainly apply to the request, and those that might (a key the check does not know)."""
    certain, possible = [], []
    for statement in policy.denies:
        applies = statement_applies(statement, request)
        if applies is True:
            certain.append(statement)
        elif applies is None:
            possible.append(statement)
    return tuple(certain), tuple(possible)


def statement_applies(statement: Statement, request: Request) -> bool | None:
    """Whether the statement covers the request (principal, action, resource, conditions); ``None``: cannot tell."""
    if not statement_allows_action(statement, request.action):
        return False
    if not _resource_covered(statement, request):
        return False
    covered = principal_covers(statement, request.caller)
    if covered is False:
        return False
    conditions = evaluate_conditions(statement.conditions, request, deny=not statement.is_allow)
    if conditions is False:
        return False
    if covered is None or conditions is None:
        return None
    return True


def principal_covers(statement: Statement, caller: Caller) -> bool | None:
    """Whether the statement's ``Principal`` (or ``NotPrincipal``) takes in the caller; ``None``: cannot tell."""
    if statement.principal is not None:
        return _principal_matches(statement.principal, caller)
    excepted = _not_principal_excepts(statement.not_principal, caller)  # type: ignore[arg-type]
    return None if excepted is None else not excepted


def _resource_covered(statement: Statement, request: Request) -> bool:
    if statement.resources is None and statement.not_resources is None:
        return True  # endpoint policies may leave Resource out: every resource
    if request.resource is None:
        # The caller picks the resource: an Allow names some resource it can pick; a Deny binds only
        # when it covers every resource (Resource "*") -- a NotResource Deny can be stepped around.
        if statement.is_allow:
            return statement.resources is not None or not any(r == "*" for r in statement.not_resources or ())
        return statement.resources is not None and any(_collapse_stars(r) == "*" for r in statement.resources)
    patterns = statement.resources if statement.resources is not None else statement.not_resources or ()
    matched = any(_resource_matches(_substitute(p, request), request.resource) for p in patterns)
    return matched if statement.resources is not None else not matched


def _resource_matches(pattern: Any, arn: str) -> bool:
    if not isinstance(pattern, str):
        return False  # a variable naming an absent or unknown key: AWS matches nothing with it
    if pattern == "*":
        return True
    return _arn_like(pattern, arn)


# -- principals ------------------------------------------------------------------------------


def _principal_matches(principal: Principal, caller: Caller) -> bool | None:
    """Whether ``Principal`` covers the caller: ``*`` everyone (anonymous too), an account all its principals."""
    if principal.everyone:
        return True
    if caller.kind is CallerKind.SERVICE:
        return any(glob_match(v, caller.service or "", ignore_case=True) for v in principal.values("Service"))
    if caller.kind is CallerKind.ANONYMOUS:
        return any(v == "*" for v in principal.values("AWS"))
    if caller.account is None:
        return True if "*" in principal.values("AWS") else (None if principal.values("AWS") else False)
    outcome: bool | None = False
    for value in principal.values("AWS"):
        if value == "*":
            return True
        if (_ACCOUNT_ID.fullmatch(value) or value.endswith(":root")) and "*" not in value:
            if account_of_principal(value) == caller.account:
                return True
            continue
        matched = _identity_matches(value, caller)
        if matched is True:
            return True
        if matched is None:
            outcome = None
    return outcome


def _identity_matches(value: str, caller: Caller) -> bool | None:
    """A role, user or session ARN value against the caller (a role ARN covers the role's sessions)."""
    if caller.kind is CallerKind.ROOT:
        return glob_match(value, caller.root_arn() or "") if "*" in value else False
    if caller.arn is None:
        # Some principal of the account whose name is not known: a value of that account might be it.
        account = account_of_principal(value)
        if account is not None and account != caller.account:
            return False
        return None
    candidates = [a for a in (caller.arn, caller.session_arn) if a]
    return any(glob_match(value, a) for a in candidates)


def _not_principal_excepts(principal: Principal, caller: Caller) -> bool | None:
    """Whether ``NotPrincipal`` lists the caller, so a Deny with it does not apply.

    AWS checks the account, then the role, then the session: every level of the
    caller must be listed. Naming only the account root excepts only the root
    user; a role's sessions need the role's (or session's) ARN *and* the account.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
    """
    if principal.everyone:
        return True
    if caller.kind is CallerKind.SERVICE:
        return any(glob_match(v, caller.service or "", ignore_case=True) for v in principal.values("Service"))
    values = principal.values("AWS")
    if caller.kind is CallerKind.ANONYMOUS:
        return "*" in values
    if "*" in values:
        return True
    if caller.account is None:
        return None if values else False
    root = caller.root_arn()
    account_listed = any(v == caller.account or (v == root) for v in values)
    if caller.kind is CallerKind.ROOT:
        return account_listed
    if not account_listed:
        return False
    if caller.arn is None:
        own = [v for v in values if account_of_principal(v) == caller.account and not (v == caller.account or v == root)]
        return None if own else False
    return any(v in (caller.arn, caller.session_arn) for v in values)


# -- conditions -------------------------------------------------------------------------------


def evaluate_conditions(conditions: Iterable[Condition], request: Request, deny: bool = False) -> bool | None:
    """All conditions together (AND): ``True``, ``False``, or ``None`` when a needed key is unknown."""
    result: bool | None = True
    for condition in conditions:
        outcome = evaluate_condition(condition, request, deny=deny)
        if outcome is False:
            return False
        if outcome is None:
            result = None
    return result


def evaluate_condition(condition: Condition, request: Request, deny: bool = False) -> bool | None:
    """One condition under AWS's rules for missing keys, IfExists, negation, set operators and policy variables.

    A key the caller chooses is taken as met in an Allow and not met in a Deny
    (``deny``): the caller picks the value that lets it in.
    """
    value = request.key_state(condition.key)
    if value is UNKNOWN:
        return None
    if value is CHOSEN:
        return not deny
    if condition.base_operator == "null":
        # Null: "true" means the key must be absent, "false" present (an empty list counts as absent).
        absent = value is ABSENT or (isinstance(value, (list, tuple)) and not value)
        wanted_absent = condition.values[0].lower() == "true"
        return absent == wanted_absent
    if value is ABSENT:
        if condition.if_exists:
            return True
        if condition.set_qualifier == "forallvalues":
            return True
        if condition.set_qualifier == "foranyvalue":
            return False
        return condition.negated
    request_values = [_as_text(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    if any(v is None for v in request_values):
        return None
    policy_values: list[str | None] = []
    for raw in condition.values:
        substituted = _substitute(raw, request)
        if substituted is UNKNOWN_VALUE:
            return None
        policy_values.append(substituted)  # None: a variable whose key is absent matches nothing
    positive = _POSITIVE_OF.get(condition.base_operator, condition.base_operator)

    def matches(request_value: str) -> bool | None:
        outcomes = [_compare(positive, p, request_value) if p is not None else False for p in policy_values]
        if True in outcomes:
            return True
        return None if None in outcomes else False

    per_value = [matches(v) for v in request_values]
    if condition.negated:
        per_value = [None if m is None else not m for m in per_value]
    if condition.set_qualifier == "forallvalues":
        return _all3(per_value)
    if condition.set_qualifier == "foranyvalue":
        return _any3(per_value)
    if not request_values:
        return condition.negated
    # A single-valued operator on a multivalued key: true when any value matches (a negated one: none does).
    return _all3(per_value) if condition.negated else _any3(per_value)


class _UnknownValue:
    pass


UNKNOWN_VALUE = _UnknownValue()
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_SPECIAL_VARIABLES = {"*": "*", "?": "?", "$": "$"}


def _substitute(raw: str, request: Request) -> Any:
    """``raw`` with policy variables replaced from the request; ``None`` when one names an absent key.

    ``${*}``, ``${?}`` and ``${$}`` stand for the literal characters; ``${key, 'default'}``
    takes the default when the key is absent. A key the check does not know (or the caller
    chooses) gives :data:`UNKNOWN_VALUE` -- except that the caller's choice in a Resource is
    never needed, as resources are matched against a concrete ARN.
    """
    if "${" not in raw:
        return raw
    parts: list[str] = []
    position = 0
    for match in _VARIABLE.finditer(raw):
        parts.append(raw[position : match.start()])
        position = match.end()
        body = match.group(1).strip()
        if body in _SPECIAL_VARIABLES:
            # The literal character: keep it out of wildcard matching by escaping it as itself.
            parts.append(_LITERAL_PREFIX + body)
            continue
        key, _, default = body.partition(",")
        key = key.strip().lower()
        default = default.strip()
        if default.startswith("'") and default.endswith("'") and len(default) >= 2:
            default_value: str | None = default[1:-1]
        else:
            default_value = None
        state = request.key_state(key)
        if state is ABSENT:
            if default_value is None:
                return None
            parts.append(default_value)
        elif state is UNKNOWN or state is CHOSEN:
            return UNKNOWN_VALUE
        elif isinstance(state, (list, tuple)):
            if len(state) != 1:
                return UNKNOWN_VALUE  # a multivalued key has no single value to put in its place
            parts.append(str(_as_text(state[0])))
        else:
            parts.append(str(_as_text(state)))
    parts.append(raw[position:])
    return "".join(parts)


# ``${*}`` in a policy means the character ``*`` itself. The matcher sees this private-use
# character pair instead and compares it literally (see _literalise).
_LITERAL_PREFIX = "\ue000"


def _wildcard(pattern: str, text: str, ignore_case: bool = False) -> bool:
    if _LITERAL_PREFIX not in pattern:
        return glob_match(pattern, text, ignore_case)
    # Replace each literal with a placeholder that matches only the same placeholder in the text.
    placeholders = {"*": "\ue001", "?": "\ue002", "$": "$"}
    converted = re.sub(_LITERAL_PREFIX + r"(.)", lambda m: placeholders[m.group(1)], pattern)
    translated_text = text.replace("*", "\ue001").replace("?", "\ue002")
    return glob_match(converted, translated_text, ignore_case)


def _plain(value: str) -> str:
    """A substituted value with its literal markers dropped (for equality operators)."""
    return value.replace(_LITERAL_PREFIX, "")


def _compare(operator: str, policy_value: str, request_value: str) -> bool | None:
    if operator == "stringequals":
        return _plain(policy_value) == request_value
    if operator == "stringequalsignorecase":
        return _plain(policy_value).lower() == request_value.lower()
    if operator == "stringlike":
        return _wildcard(policy_value, request_value)
    if operator == "arnequals" or operator == "arnlike":
        return _arn_like(policy_value, request_value)
    if operator == "bool":
        return _plain(policy_value).lower() == request_value.lower()
    if operator.startswith("numeric"):
        return _numeric(operator, policy_value, request_value)
    if operator.startswith("date"):
        return _date(operator, policy_value, request_value)
    if operator == "ipaddress":
        return _ip_in(policy_value, request_value)
    if operator == "binaryequals":
        try:
            return base64.b64decode(_plain(policy_value), validate=True) == base64.b64decode(request_value, validate=True)
        except (binascii.Error, ValueError):
            return False
    return False


def _numeric(operator: str, policy_value: str, request_value: str) -> bool:
    try:
        left, right = float(request_value), float(_plain(policy_value))
    except (ValueError, OverflowError):
        return False
    return {
        "numericequals": left == right,
        "numericlessthan": left < right,
        "numericlessthanequals": left <= right,
        "numericgreaterthan": left > right,
        "numericgreaterthanequals": left >= right,
    }[operator]


def _as_instant(text: str) -> float | None:
    try:
        return float(text)  # epoch seconds
    except ValueError:
        pass
    try:
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.timestamp()


def _date(operator: str, policy_value: str, request_value: str) -> bool:
    left, right = _as_instant(request_value), _as_instant(_plain(policy_value))
    if left is None or right is None:
        return False
    return {
        "dateequals": left == right,
        "datelessthan": left < right,
        "datelessthanequals": left <= right,
        "dategreaterthan": left > right,
        "dategreaterthanequals": left >= right,
    }[operator]


def _ip_in(policy_value: str, request_value: str) -> bool:
    try:
        network = ipaddress.ip_network(_plain(policy_value), strict=False)
        address = ipaddress.ip_address(request_value)
    except ValueError:
        return False
    return address.version == network.version and address in network


def _arn_like(pattern: str, arn: str) -> bool:
    """ArnLike/ArnEquals: the six colon-separated components matched one by one, wildcards within each."""
    pattern_parts = pattern.split(":", 5)
    arn_parts = arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return _wildcard(pattern, arn)
    return all(_wildcard(p, a) for p, a in zip(pattern_parts, arn_parts))


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
