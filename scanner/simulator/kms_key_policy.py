"""The simulator's own key-policy evaluator: does a KMS key policy allow or deny one concrete request?

The simulator enforces a key policy's explicit Deny on direct KMS calls. It must not judge
with ``checks/policy.py``, the evaluator orgscan's checks use: a bug there would then hide
itself (the simulator would agree with the checks it is supposed to test), and the host
package ``scanner`` must not import its plugins. So this is a second, independent and
deliberately plain implementation of AWS's documented evaluation logic for a resource
policy read on its own:

* Evaluation: an explicit Deny wins, then an Allow, else an implicit deny
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
* ``Principal``/``NotPrincipal``, ``Action``/``NotAction``, ``Resource``/``NotResource``
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html).
* Every condition operator, with AWS's rules for a key missing from the request
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
  a positive operator is false, a negated one (``StringNotEquals``, ``ArnNotLike``,
  ``NotIpAddress``...) is true, ``...IfExists`` is true, ``Null`` tests presence;
  ``ForAnyValue``/``ForAllValues`` on multivalued keys
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).
* Policy variables ``${key}`` and ``${key, 'default'}`` in ``Resource`` and in string and
  ARN condition values, resolved from the request context; ``${*}``, ``${?}``, ``${$}`` are
  the literal characters. A variable that cannot be resolved makes its statement not apply
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html:
  "If AWS cannot resolve a variable this might cause the entire statement to be invalid").

moto's own evaluator (``moto.iam.access_control.IAMPolicyStatement``) does not fit: it knows
``StringEquals`` only, matches a ``Principal`` only when it is ``*`` or an exact string,
turns a false condition of an Allow into a Deny, and matches wildcards with a regular
expression built from the pattern. The wildcard matcher here is the classic two-pointer
glob, at most (pattern length x text length) steps, so a hostile pattern such as ``kms:``
followed by forty ``*`` and an ``x`` cannot make it backtrack exponentially.

A request is plain data::

    {"principal": {"type": "AWS" | "anonymous" | "Service", "arn": ..., "account": ...,
                   "org_id": ..., "org_paths": [...], "is_root": bool},
     "action": "kms:CreateGrant",
     "resource": "arn:aws:kms:...",
     "context": {"aws:SourceVpce": "vpce-...", ...}}   # keys absent here are absent

The principal fields decide ``Principal``/``NotPrincipal`` only; conditions read the
``context`` alone (``aws:PrincipalOrgID`` is matched only if the context carries it).
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence, Union

__all__ = ["PolicyDocumentError", "Statement", "parse", "evaluate", "decide", "glob_match"]

ALLOW, DENY, IMPLICIT_DENY = "allow", "deny", "implicit_deny"


class PolicyDocumentError(ValueError):
    """The document is not a policy AWS would accept; the message names the statement and element."""


# -- wildcard matching ---------------------------------------------------------------------------


class _Wildcard:
    """A ``*`` or ``?`` of a pattern (a literal ``*`` from ``${*}`` or a variable's value is a plain str)."""

    def __init__(self, symbol: str):
        self.symbol = symbol

    def __repr__(self) -> str:
        return self.symbol


ANY_RUN, ANY_ONE = _Wildcard("*"), _Wildcard("?")
Token = Union[str, _Wildcard]


def glob_match(pattern: Sequence[Token], text: str, ignore_case: bool = False) -> bool:
    """Whether ``text`` matches ``pattern`` (literal characters, :data:`ANY_RUN` for ``*``, :data:`ANY_ONE` for ``?``).

    Two pointers; on a mismatch, resume after the last ``*`` one character further on.
    At most ``len(pattern) * len(text)`` steps whatever the pattern.
    """
    if ignore_case:
        text = text.lower()
        pattern = [token.lower() if isinstance(token, str) else token for token in pattern]
    p = t = 0
    last_star, resume_at = -1, 0
    while t < len(text):
        if p < len(pattern) and (pattern[p] is ANY_ONE or pattern[p] == text[t]):
            p, t = p + 1, t + 1
        elif p < len(pattern) and pattern[p] is ANY_RUN:
            last_star, resume_at = p, t
            p += 1
        elif last_star >= 0:
            resume_at += 1
            p, t = last_star + 1, resume_at
        else:
            return False
    while p < len(pattern) and pattern[p] is ANY_RUN:
        p += 1
    return p == len(pattern)


def _wildcard_tokens(text: str) -> list[Token]:
    """``text`` as a pattern: ``*`` and ``?`` are wildcards, every other character is itself."""
    return [ANY_RUN if c == "*" else ANY_ONE if c == "?" else c for c in text]


class _Unresolved(Exception):
    """A policy variable whose key the request does not carry, and that has no default."""


_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,\s]+)\s*,\s*'(.*)'\s*$", re.DOTALL)
_LITERALS = {"*": "*", "?": "?", "$": "$"}


def _pattern_tokens(text: str, context: "_Context | None") -> list[Token]:
    """``text`` as a pattern with its policy variables replaced (``context`` None: no variables, as in Version 2008-10-17)."""
    if context is None:
        return _wildcard_tokens(text)
    tokens: list[Token] = []
    position = 0
    for variable in _VARIABLE.finditer(text):
        tokens.extend(_wildcard_tokens(text[position:variable.start()]))
        tokens.extend(_variable_value(variable.group(1), context))  # literal characters, never wildcards
        position = variable.end()
    tokens.extend(_wildcard_tokens(text[position:]))
    return tokens


def _variable_value(inside: str, context: "_Context") -> str:
    """The text a policy variable ``${inside}`` stands for; raises :class:`_Unresolved`."""
    if inside in _LITERALS:
        return _LITERALS[inside]
    with_default = _DEFAULT.match(inside)
    key, default = (with_default.group(1), with_default.group(2).replace("''", "'")) if with_default else (inside.strip(), None)
    values = context.values(key)
    if values is not None and len(values) == 1:  # a multivalued key cannot be a variable
        return values[0]
    if default is not None:
        return default
    raise _Unresolved(key)


def _plain_text(text: str, context: "_Context | None") -> str:
    """``text`` with its policy variables replaced, for operators without wildcards."""
    return "".join(token if isinstance(token, str) else token.symbol for token in _pattern_tokens(text, context))


# -- the request context ---------------------------------------------------------------------------


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Context:
    """The request's condition keys, looked up without regard to case (AWS: key names are not case-sensitive)."""

    def __init__(self, context: Mapping[str, Any] | None):
        self._values: dict[str, list[str]] = {}
        for key, value in (context or {}).items():
            if value is None:
                continue
            values = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
            self._values[str(key).lower()] = [_as_text(item) for item in values]

    def values(self, key: str) -> list[str] | None:
        """The key's values (a list, possibly empty), or None when the request does not carry the key."""
        return self._values.get(key.lower())


# -- condition operators ---------------------------------------------------------------------------


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> datetime | None:
    """An ISO 8601 date-time or epoch seconds, in UTC."""
    number = _number(text)
    if number is not None:
        try:
            return datetime.fromtimestamp(number, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _compare(values: tuple[float | datetime | None, float | datetime | None], test: str) -> bool:
    policy_value, request_value = values
    if policy_value is None or request_value is None:
        return False
    try:
        return {
            "equals": request_value == policy_value,
            "lessthan": request_value < policy_value,  # type: ignore[operator]
            "lessthanequals": request_value <= policy_value,  # type: ignore[operator]
            "greaterthan": request_value > policy_value,  # type: ignore[operator]
            "greaterthanequals": request_value >= policy_value,  # type: ignore[operator]
        }[test]
    except TypeError:
        return False


def _split_arn(tokens: Sequence[Token]) -> list[list[Token]]:
    """An ARN pattern's six colon-separated parts (the last keeps its colons)."""
    parts: list[list[Token]] = [[]]
    for token in tokens:
        if token == ":" and len(parts) < 6:
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


def _arn_like(pattern: Sequence[Token], arn: str) -> bool:
    """ARN matching: each of the six parts separately, each with ``*`` and ``?`` (case-sensitive)."""
    pattern_parts, arn_parts = _split_arn(pattern), arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return False
    return all(glob_match(p, a) for p, a in zip(pattern_parts, arn_parts))


def _ip_in(policy_value: str, request_value: str) -> bool:
    try:
        return ipaddress.ip_address(request_value.strip()) in ipaddress.ip_network(policy_value.strip(), strict=False)
    except ValueError:
        return False


def _binary_equal(policy_value: str, request_value: str) -> bool:
    try:
        return base64.b64decode(policy_value, validate=True) == base64.b64decode(request_value, validate=True)
    except (binascii.Error, ValueError):
        return policy_value == request_value


# The positive operator each negated one is the negation of.
NEGATED = {
    "stringnotequals": "stringequals",
    "stringnotequalsignorecase": "stringequalsignorecase",
    "stringnotlike": "stringlike",
    "numericnotequals": "numericequals",
    "datenotequals": "dateequals",
    "notipaddress": "ipaddress",
    "arnnotequals": "arnequals",
    "arnnotlike": "arnlike",
}
POSITIVE = {
    "stringequals", "stringequalsignorecase", "stringlike",
    "numericequals", "numericlessthan", "numericlessthanequals", "numericgreaterthan", "numericgreaterthanequals",
    "dateequals", "datelessthan", "datelessthanequals", "dategreaterthan", "dategreaterthanequals",
    "bool", "binaryequals", "ipaddress", "arnequals", "arnlike",
}
# Operators whose policy values may hold policy variables (AWS: string and ARN operators).
TAKES_VARIABLES = {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"}


def _value_matches(base: str, policy_value: str, request_value: str, context: _Context | None) -> bool:
    """Whether one request value matches one policy value under the positive operator ``base``."""
    variables = context if base in TAKES_VARIABLES else None
    if base == "stringequals":
        return _plain_text(policy_value, variables) == request_value
    if base == "stringequalsignorecase":
        return _plain_text(policy_value, variables).lower() == request_value.lower()
    if base == "stringlike":
        return glob_match(_pattern_tokens(policy_value, variables), request_value)
    if base in ("arnequals", "arnlike"):  # AWS documents ArnEquals and ArnLike alike: per part, with wildcards
        return _arn_like(_pattern_tokens(policy_value, variables), request_value)
    if base.startswith("numeric"):
        return _compare((_number(policy_value), _number(request_value)), base[len("numeric"):])
    if base.startswith("date"):
        return _compare((_date(policy_value), _date(request_value)), base[len("date"):])
    if base == "bool":
        return policy_value.lower() == request_value.lower()
    if base == "binaryequals":
        return _binary_equal(policy_value, request_value)
    if base == "ipaddress":
        return _ip_in(policy_value, request_value)
    raise AssertionError(base)  # parse() admits no other operator


@dataclass(frozen=True)
class ConditionEntry:
    """One ``operator: {key: values}`` pair of a Condition block."""

    qualifier: str | None  # "forallvalues", "foranyvalue" or None
    base: str  # lower-case operator name without qualifier and IfExists
    if_exists: bool
    key: str
    values: tuple[str, ...]

    def holds(self, context: _Context, use_variables: bool) -> bool:
        """Whether this condition is true for the request, with AWS's rules for a missing key."""
        variables = context if use_variables else None
        request_values = context.values(self.key)
        if self.base == "null":
            absent = not request_values
            return any((value.lower() == "true") == absent for value in self.values if value.lower() in ("true", "false"))
        negated = self.base in NEGATED
        positive = NEGATED.get(self.base, self.base)

        def satisfies(request_value: str) -> bool:
            matched = any(_value_matches(positive, value, request_value, variables) for value in self.values)
            return not matched if negated else matched

        if self.qualifier == "forallvalues":
            # True when the key is missing or empty; else every request value must satisfy the operator.
            return all(satisfies(value) for value in request_values or [])
        if self.qualifier == "foranyvalue":
            if not request_values:
                return self.if_exists
            return any(satisfies(value) for value in request_values)
        if request_values is None:
            return self.if_exists or negated
        if negated:
            # A negated operator holds when no request value matches any policy value.
            return all(satisfies(value) for value in request_values)
        return any(satisfies(value) for value in request_values)


# -- statements ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrincipalSet:
    """A ``Principal`` or ``NotPrincipal`` element: everyone, or values per principal type."""

    everyone: bool
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    other: tuple[str, ...] = ()  # Federated and CanonicalUser: no request kind here matches them


_ACCOUNT_ROOT = re.compile(r"\Aarn:[a-z-]+:iam::([0-9]{12}):root\Z", re.ASCII)  # ASCII digits only, no trailing newline
_ASSUMED_ROLE = re.compile(r"\Aarn:([a-z-]+):sts::([0-9]{12}):assumed-role/([^/]+)/.+\Z", re.ASCII)


def _account_named(value: str) -> str | None:
    """The account id when ``value`` names a whole account (12 digits or its root ARN)."""
    if re.fullmatch(r"[0-9]{12}", value):
        return value
    root = _ACCOUNT_ROOT.match(value)
    return root.group(1) if root else None


@dataclass(frozen=True)
class _Caller:
    kind: str  # "aws", "anonymous" or "service"
    account: str | None
    identity_arns: frozenset[str]  # the caller's own ARN, and its role's ARN for a role session
    is_root: bool
    service: str | None

    @classmethod
    def of(cls, principal: Mapping[str, Any]) -> "_Caller":
        """The caller a request's ``principal`` describes.

        ``type`` is ``AWS`` (with ``is_root``), ``anonymous`` or ``Service``; the finer
        ``root``, ``role-session`` and ``user`` (an AWS principal) are read too, as is
        ``session_arn`` (a role session's own ARN next to its role's ``arn``).
        """
        kind = str(principal.get("type", "")).lower()
        if kind == "service":
            name = principal.get("service") or principal.get("arn")
            return cls("service", None, frozenset(), False, str(name).lower() if name else None)
        if kind not in ("aws", "root", "role-session", "user"):
            return cls("anonymous", None, frozenset(), False, None)
        arn = str(principal.get("arn") or "")
        account = principal.get("account")
        arns = {arn} if arn else set()
        if principal.get("session_arn"):
            arns.add(str(principal["session_arn"]))
        session = _ASSUMED_ROLE.match(arn)
        if session:
            partition, account_from_arn, role_name = session.groups()
            arns.add(f"arn:{partition}:iam::{account_from_arn}:role/{role_name}")
            account = account or account_from_arn
        if principal.get("role_arn"):
            arns.add(str(principal["role_arn"]))
        root = _ACCOUNT_ROOT.match(arn)
        if root:
            account = account or root.group(1)
        if not account and arn.count(":") >= 5:
            account = arn.split(":")[4] or None
        is_root = bool(principal.get("is_root")) or bool(root) or kind == "root"
        return cls("aws", str(account) if account else None, frozenset(arns), is_root, None)

    def named_by(self, principals: PrincipalSet) -> bool:
        """Whether a ``Principal`` element covers this caller (an account names every principal in it)."""
        if principals.everyone or "*" in principals.aws:  # AWS: {"AWS": "*"} is the same as "*"
            return True
        if self.kind == "service":
            return self.service is not None and self.service in {s.lower() for s in principals.service}
        if self.kind != "aws":
            return False
        for value in principals.aws:
            if value in self.identity_arns or (self.account and _account_named(value) == self.account):
                return True
        return False

    def exempted_by(self, principals: PrincipalSet) -> bool:
        """Whether a ``NotPrincipal`` element exempts this caller.

        AWS may check the account, then the role, then the session: a principal of an account
        is exempt only when its account AND (unless it is the root user) its own ARN or its
        role's ARN are listed. An account alone exempts the root user only.
        (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html)
        """
        if principals.everyone or "*" in principals.aws:
            return True
        if self.kind == "service":
            return self.service is not None and self.service in {s.lower() for s in principals.service}
        if self.kind != "aws" or not self.account:
            return False
        account_listed = any(_account_named(value) == self.account for value in principals.aws)
        return account_listed and (self.is_root or any(value in self.identity_arns for value in principals.aws))


@dataclass(frozen=True)
class Statement:
    """One policy statement, normalised: every element AWS accepts as a string or a list is a tuple."""

    index: int
    effect: str  # "Allow" or "Deny"
    principal: PrincipalSet | None
    not_principal: PrincipalSet | None
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None  # both None: the statement names no resource (any)
    not_resources: tuple[str, ...] | None
    conditions: tuple[ConditionEntry, ...]
    variables: bool  # Version 2012-10-17: ${...} are policy variables

    @property
    def condition_keys(self) -> frozenset[str]:
        """The condition keys this statement reads (lower case)."""
        return frozenset(entry.key.lower() for entry in self.conditions)

    def applies(self, request: Mapping[str, Any], skip_keys: Iterable[str] = ()) -> bool:
        """Whether this statement matches the request (its effect then counts), leaving out conditions on ``skip_keys``."""
        caller = _Caller.of(request.get("principal") or {})
        context = _Context(request.get("context"))
        return self._applies(caller, str(request.get("action", "")), _resource(request), context,
                             frozenset(key.lower() for key in skip_keys))

    def _applies(self, caller: _Caller, action: str, resource: str | None, context: _Context, skip_keys: frozenset[str]) -> bool:
        if self.principal is not None and not caller.named_by(self.principal):
            return False
        if self.not_principal is not None and caller.exempted_by(self.not_principal):
            return False
        if self.actions is not None and not any(glob_match(_wildcard_tokens(a), action, ignore_case=True) for a in self.actions):
            return False
        if self.not_actions is not None and any(glob_match(_wildcard_tokens(a), action, ignore_case=True) for a in self.not_actions):
            return False
        variables = context if self.variables else None
        try:
            if resource is not None:  # None: a request for no resource in particular, which neither element narrows
                if self.resources is not None and not any(glob_match(_pattern_tokens(r, variables), resource) for r in self.resources):
                    return False
                if self.not_resources is not None and any(glob_match(_pattern_tokens(r, variables), resource) for r in self.not_resources):
                    return False
            return all(entry.holds(context, self.variables) for entry in self.conditions if entry.key.lower() not in skip_keys)
        except _Unresolved:
            return False


def _resource(request: Mapping[str, Any]) -> str | None:
    """The request's resource ARN; None when the request names no resource in particular."""
    resource = request.get("resource")
    return None if resource is None else str(resource)


# -- parsing ---------------------------------------------------------------------------------------


def _describe(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise PolicyDocumentError(f"{where} must be a string or a non-empty list of strings, got {_describe(value)}")


def _principals(value: Any, where: str) -> PrincipalSet:
    if value == "*":
        return PrincipalSet(everyone=True)
    if not isinstance(value, dict) or not value:
        raise PolicyDocumentError(f"{where} must be \"*\" or an object of principal types, got {_describe(value)}")
    by_type: dict[str, tuple[str, ...]] = {"AWS": (), "Service": (), "Federated": (), "CanonicalUser": ()}
    for kind, values in value.items():
        if kind not in by_type:
            raise PolicyDocumentError(f"{where}: unknown principal type {str(kind)[:40]!r}")
        by_type[kind] = _strings(values, f"{where}.{kind}")
    return PrincipalSet(everyone=False, aws=by_type["AWS"], service=by_type["Service"],
                        other=by_type["Federated"] + by_type["CanonicalUser"])


def _operator(name: str, where: str) -> tuple[str | None, str, bool]:
    """(qualifier, base operator, IfExists) of a condition operator name."""
    qualifier, base = None, name
    if ":" in name:
        qualifier, base = name.split(":", 1)
        qualifier = qualifier.lower()
        if qualifier not in ("forallvalues", "foranyvalue"):
            raise PolicyDocumentError(f"{where}: unknown qualifier in operator {name[:60]!r}")
    lowered = base.lower()
    if_exists = lowered.endswith("ifexists")
    if if_exists:
        lowered = lowered[: -len("ifexists")]
    if lowered == "null" and (if_exists or qualifier):
        raise PolicyDocumentError(f"{where}: Null takes neither IfExists nor a set qualifier")
    if lowered != "null" and lowered not in POSITIVE and lowered not in NEGATED:
        raise PolicyDocumentError(f"{where}: unknown condition operator {name[:60]!r}")
    return qualifier, lowered, if_exists


def _condition_values(value: Any, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or any(isinstance(item, (dict, list)) or item is None for item in items):
        raise PolicyDocumentError(f"{where} must be a value or a non-empty list of values, got {_describe(value)}")
    return tuple(_as_text(item) for item in items)


def _conditions(value: Any, where: str) -> tuple[ConditionEntry, ...]:
    if not isinstance(value, dict):
        raise PolicyDocumentError(f"{where} must be an object, got {_describe(value)}")
    entries = []
    for operator, keys in value.items():
        qualifier, base, if_exists = _operator(str(operator), where)
        if not isinstance(keys, dict) or not keys:
            raise PolicyDocumentError(f"{where}.{str(operator)[:60]} must be an object of condition keys")
        for key, values in keys.items():
            entries.append(ConditionEntry(qualifier, base, if_exists, str(key), _condition_values(values, f"{where}.{operator}.{key}")))
    return tuple(entries)


def _either(raw: Mapping[str, Any], name: str, where: str, required: bool, read: Any) -> tuple[Any, Any]:
    has, has_not = name in raw, f"Not{name}" in raw
    if has and has_not:
        raise PolicyDocumentError(f"{where} has both {name} and Not{name}")
    if required and not has and not has_not:
        raise PolicyDocumentError(f"{where} has neither {name} nor Not{name}")
    return (read(raw[name], f"{where}.{name}") if has else None,
            read(raw[f"Not{name}"], f"{where}.Not{name}") if has_not else None)


def parse(policy: str | bytes | Mapping[str, Any]) -> list[Statement]:
    """The policy's statements; raises :class:`PolicyDocumentError` for a document AWS would not accept."""
    if isinstance(policy, (str, bytes)):
        try:
            policy = json.loads(policy)
        except (ValueError, RecursionError) as error:
            raise PolicyDocumentError(f"policy: not valid JSON ({str(error)[:80]})") from None
    if not isinstance(policy, dict):
        raise PolicyDocumentError(f"policy must be a JSON object, got {_describe(policy)}")
    raw_statements = policy.get("Statement")
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise PolicyDocumentError("policy.Statement must be an object or a non-empty list of objects")
    variables = policy.get("Version") == "2012-10-17"
    statements = []
    for index, raw in enumerate(raw_statements):
        where = f"Statement[{index}]"
        if not isinstance(raw, dict):
            raise PolicyDocumentError(f"{where} must be an object, got {_describe(raw)}")
        effect = raw.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyDocumentError(f"{where}.Effect must be \"Allow\" or \"Deny\"")
        principal, not_principal = _either(raw, "Principal", where, True, _principals)
        actions, not_actions = _either(raw, "Action", where, True, _strings)
        resources, not_resources = _either(raw, "Resource", where, False, _strings)
        conditions = _conditions(raw["Condition"], f"{where}.Condition") if "Condition" in raw else ()
        statements.append(Statement(index, effect, principal, not_principal, actions, not_actions,
                                    resources, not_resources, conditions, variables))
    return statements


def evaluate(statements: Sequence[Statement], request: Mapping[str, Any]) -> str:
    """``"deny"``, ``"allow"`` or ``"implicit_deny"``: what these statements alone say of the request.

    An explicit Deny that applies wins; otherwise an Allow that applies allows; otherwise the
    request is implicitly denied.
    """
    caller = _Caller.of(request.get("principal") or {})
    context = _Context(request.get("context"))
    action, resource = str(request.get("action", "")), _resource(request)
    effects = {s.effect for s in statements if s._applies(caller, action, resource, context, frozenset())}
    if "Deny" in effects:
        return DENY
    return ALLOW if "Allow" in effects else IMPLICIT_DENY


def decide(policy_json: str | bytes | Mapping[str, Any], request: Mapping[str, Any]) -> str:
    """``"deny"``, ``"allow"`` or ``"implicit_deny"`` for the request; raises :class:`PolicyDocumentError` for a malformed policy."""
    return evaluate(parse(policy_json), request)
