"""Hostile AWS answers for the fuzz suite: hypothesis strategies and the simulator edits that serve them.

A member account controls every string its AWS answers hold, and a broken or
malicious endpoint controls their shape. The strategies here draw what such an
answer may hold: arbitrary Unicode (bidirectional controls, NUL, escape
sequences, line separators, and separately lone surrogates), numbers past
Python's 4,300-digit conversion limit, nesting thousands of levels deep, the
wrong type in any place, and policies made of wildcard storms. The edits apply
the drawn mutations to moto's real answer inside the simulator
(``Faults.answer_edits``), so the SDK's parsers, orgscan's reader, the checks,
the runner and every report writer run as in a real scan.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from hypothesis import strategies as st

#: Unicode's bidirectional formatting characters (UAX #9), and other characters that change how text reads.
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c"]
TROUBLE = ["\x00", "\x1b[31m", "\r\n", "\u2028", "\u2029", "\ufeff", "\u200b", "\U0010ffff", "</script>", "<!--", "=cmd|' /C calc'!A0",
           "'; DROP TABLE x; --", "{{7*7}}", "${jndi:ldap://x}", "%s%n", "\\", '"', "*", "?", "|", "[x](javascript:alert(1))",
           "www.evil.example", "jane@example.com"]
LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]


@dataclass(frozen=True)
class HugeNumber:
    """A JSON integer literal with ``digits`` digits (json.dumps cannot write one past 4,300 digits)."""

    digits: int


@dataclass(frozen=True)
class Deep:
    """``depth`` nested JSON arrays."""

    depth: int


def hostile_text(surrogates: bool = False) -> st.SearchStrategy[str]:
    """Text mixing any Unicode character (no lone surrogates unless asked) with the troublesome ones above."""
    pieces = [st.characters(exclude_categories=("Cs",)), st.sampled_from(BIDI), st.sampled_from(TROUBLE)]
    if surrogates:
        pieces.append(st.sampled_from(LONE_SURROGATES))
    return st.lists(st.one_of(*pieces), min_size=1, max_size=12).map("".join)


def hostile_values(surrogates: bool = False) -> st.SearchStrategy[Any]:
    """Any value a hostile JSON answer may hold in any place."""
    text = hostile_text(surrogates)
    scalars = st.one_of(
        text,
        st.builds(HugeNumber, st.integers(4301, 6000)),
        st.builds(Deep, st.integers(200, 3000)),
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
    )
    return st.one_of(
        scalars,
        st.lists(scalars, max_size=3),
        st.dictionaries(text, scalars, max_size=3),
    )


@dataclass(frozen=True)
class Mutation:
    """Replace the answer's ``selector``-th node (depth-first, modulo the node count) with ``value``."""

    selector: int
    value: Any


def mutations(surrogates: bool = False) -> st.SearchStrategy[list[Mutation]]:
    return st.lists(st.builds(Mutation, st.integers(0, 10_000), hostile_values(surrogates)), min_size=1, max_size=3)


# -- policies ---------------------------------------------------------------------------------------------


def wildcard_storm() -> st.SearchStrategy[str]:
    """Patterns of many ``*`` and ``?`` that a backtracking matcher takes exponential time on, and that never match."""
    return st.builds(
        lambda prefix, stars, glue, tail: prefix + glue.join("*" * stars) + tail,
        st.sampled_from(["kms:", "", "arn:aws:kms:*:", "devops-guru:", "o-"]),
        st.integers(20, 60),
        st.sampled_from(["", "?", "a", "*?"]),
        st.sampled_from(["!", "x\u202e", "\x00", "z" * 30]),
    )


@st.composite
def hostile_policy(draw: Any, storms: bool = False, surrogates: bool = False) -> str:
    """A key or endpoint policy as JSON text: hostile Sids, principals, actions, conditions, numbers and nesting."""
    text = hostile_text(surrogates)
    action = wildcard_storm() if storms else st.one_of(text, st.sampled_from(["kms:*", "*", "kms:Decrypt", "kms:CreateGrant"]))
    condition_value = wildcard_storm() if storms else st.one_of(text, hostile_values(surrogates))
    statement = st.fixed_dictionaries(
        {
            "Sid": st.one_of(text, hostile_values(surrogates)),
            "Effect": st.sampled_from(["Allow", "Deny", "allow", ""]) | text,
            "Principal": st.one_of(st.just("*"), st.fixed_dictionaries({"AWS": st.one_of(st.just("*"), text, st.lists(text, max_size=3))}),
                                   hostile_values(surrogates)),
            "Action": st.one_of(action, st.lists(action, min_size=1, max_size=4)),
            "Resource": st.one_of(st.just("*"), wildcard_storm() if storms else text),
        },
        optional={
            "Condition": st.dictionaries(
                st.sampled_from(["StringLike", "ArnLike", "StringEquals", "ForAnyValue:StringLike", "NumericLessThan", "Bool"]) | text,
                st.dictionaries(st.sampled_from(["kms:CallerAccount", "aws:PrincipalOrgID", "kms:ViaService", "aws:PrincipalArn"]) | text,
                                st.one_of(condition_value, st.lists(condition_value, max_size=3)), max_size=3),
                max_size=3,
            ),
            "NotAction": st.one_of(action, st.lists(action, max_size=3)),
        },
    )
    document = {"Version": draw(st.sampled_from(["2012-10-17", "2008-10-17"]) | text),
                "Statement": draw(st.lists(statement, min_size=1, max_size=4))}
    return to_json(document)


# -- serving them ---------------------------------------------------------------------------------------------


def to_json(value: Any) -> str:
    """JSON text for ``value``, with :class:`HugeNumber` and :class:`Deep` written out as raw literals."""
    raw: dict[str, str] = {}

    def encode(item: Any) -> Any:
        if isinstance(item, HugeNumber):
            marker = f"\x01raw{len(raw)}\x01"
            raw[marker] = "7" * item.digits
            return marker
        if isinstance(item, Deep):
            marker = f"\x01raw{len(raw)}\x01"
            raw[marker] = "[" * item.depth + "]" * item.depth
            return marker
        if isinstance(item, dict):
            return {str(encode(k)) if not isinstance(k, str) else k: encode(v) for k, v in item.items()}
        if isinstance(item, list):
            return [encode(v) for v in item]
        return item

    text = json.dumps(encode(value))
    for marker, literal in raw.items():
        text = text.replace(json.dumps(marker), literal)
    return text


def _nodes(value: Any, path: tuple = ()) -> list[tuple]:
    """Every path into a decoded JSON answer, depth first (the root itself excluded)."""
    found = []
    if isinstance(value, dict):
        for key in value:
            found.append(path + (key,))
            found.extend(_nodes(value[key], path + (key,)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append(path + (index,))
            found.extend(_nodes(item, path + (index,)))
    return found


def mutate(answer: Any, changes: list[Mutation]) -> Any:
    """``answer`` with each mutation applied (an answer with no node gets its value as a new member)."""
    for change in changes:
        nodes = _nodes(answer)
        if not nodes:
            if isinstance(answer, dict):
                answer["Hostile"] = change.value
            continue
        *parents, last = nodes[change.selector % len(nodes)]
        holder = answer
        for step in parents:
            holder = holder[step]
        holder[last] = change.value
    return answer


def json_edit(changes: list[Mutation]) -> Callable[[Any, bytes], bytes]:
    """An answer edit for JSON services applying ``changes`` to every answer of the action."""

    def edit(call: Any, body: bytes) -> bytes:
        answer = json.loads(body or b"{}")
        return to_json(mutate(answer, [Mutation(c.selector, c.value) for c in changes])).encode("utf-8", "surrogatepass")

    return edit


_XML_TEXT = re.compile(rb">([^<>]*)<")


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_edit(changes: list[tuple[int, str]]) -> Callable[[Any, bytes], bytes]:
    """An answer edit for XML services: the ``selector``-th element text (modulo their count) becomes the hostile text."""

    def edit(call: Any, body: bytes) -> bytes:
        for selector, text in changes:
            spans = list(_XML_TEXT.finditer(body))
            if not spans:
                return body
            span = spans[selector % len(spans)]
            replacement = _xml_escape(text).encode("utf-8", "surrogatepass")
            body = body[: span.start(1)] + replacement + body[span.end(1):]
        return body

    return edit


def policy_edit(field: str, policy: str) -> Callable[[Any, bytes], bytes]:
    """A JSON answer edit that puts ``policy`` (JSON text) in the answer's ``field`` (GetKeyPolicy's ``Policy``)."""

    def edit(call: Any, body: bytes) -> bytes:
        answer = json.loads(body or b"{}")
        answer[field] = "\x01policy\x01"
        return json.dumps(answer).replace(json.dumps("\x01policy\x01"), json.dumps(policy)).encode("utf-8", "surrogatepass")

    return edit


def endpoint_policy_edit(policy: str) -> Callable[[Any, bytes], bytes]:
    """An EC2 DescribeVpcEndpoints edit: every endpoint's policyDocument becomes ``policy``."""
    escaped = _xml_escape(policy).replace('"', "&quot;").encode("utf-8", "surrogatepass")

    def edit(call: Any, body: bytes) -> bytes:
        return re.sub(rb"<policyDocument>[^<]*</policyDocument>", lambda _: b"<policyDocument>" + escaped + b"</policyDocument>", body)

    return edit
