"""Values from AWS made safe to record, once, where a result is recorded.

Every string an AWS API returns is controlled by whoever controls the account
(a key policy's ``Sid``, a tag, an account name). Before such a value becomes
part of a result record (and so of the spool, ``results.json`` and every
report), it goes through :func:`safe_text` or :func:`safe_evidence`:

* code points no encoder can write (lone surrogates such as ``\\ud800``) and
  NUL / other C0 controls except tab, newline and carriage return are replaced
  by U+FFFD, visibly: a reader sees that something was there;
* strings are cut at a bound, with a visible ``…[truncated N chars]`` mark;
* evidence is plain JSON: objects with string keys, lists, strings, booleans,
  ``null``, finite floats and integers within +-2**53 (what JavaScript and
  most JSON readers hold exactly); NaN, infinities and larger integers become
  strings, deeper or larger structures are cut with a mark.

Writers (the spool, ``results.json``, reports) may then rely on every value
being encodable UTF-8 and valid JSON.
"""
from __future__ import annotations

import enum
import math
import re
from typing import Any, Mapping

REPLACEMENT = "\ufffd"
#: Lone surrogates, NUL and the C0 controls other than tab, line feed and carriage return; DEL and U+FFFE/U+FFFF.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

#: Longest string kept anywhere in a record (a key policy may be 32 KB; evidence never needs more).
MAX_TEXT = 8_192
#: Largest integer magnitude kept as a number (JavaScript's Number.MAX_SAFE_INTEGER + 1).
MAX_SAFE_INTEGER = 2**53
#: Deepest nesting kept in evidence, and most items kept of one list or object.
MAX_DEPTH = 16
MAX_ITEMS = 1_000
#: Most characters of strings in one result's evidence altogether; the rest is cut.
MAX_EVIDENCE_TEXT = 256_000


def safe_text(value: Any, limit: int = MAX_TEXT) -> str:
    """``value`` as a string that any UTF-8 writer accepts, at most about ``limit`` characters long."""
    if not isinstance(value, str):
        value = _describe(value)
    if len(value) > limit:
        value = f"{value[:limit]}…[truncated {len(value) - limit} chars]"
    return _UNSAFE.sub(REPLACEMENT, value)


def safe_optional_text(value: Any, limit: int = MAX_TEXT) -> str | None:
    """:func:`safe_text`, keeping ``None`` as ``None``."""
    return None if value is None else safe_text(value, limit)


class _Budget:
    """How many characters of strings one evidence value may still hold."""

    def __init__(self, characters: int) -> None:
        self.characters = characters

    def take(self, text: str) -> str:
        limit = max(0, min(MAX_TEXT, self.characters))
        kept = safe_text(text, limit)
        self.characters -= min(len(text), limit)
        return kept


def safe_evidence(evidence: Mapping[str, Any] | None) -> dict[str, Any]:
    """``evidence`` as bounded, plain JSON data (see the module docstring); never raises."""
    if not evidence:
        return {}
    if not isinstance(evidence, Mapping):
        return {"value": safe_json_value(evidence)}
    return _value(evidence, 0, _Budget(MAX_EVIDENCE_TEXT))


def safe_json_value(value: Any) -> Any:
    """Any value as bounded, plain JSON data (see the module docstring)."""
    return _value(value, 0, _Budget(MAX_EVIDENCE_TEXT))


def _value(value: Any, depth: int, budget: _Budget) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, str):
        return budget.take(value)
    if isinstance(value, int):
        return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else _describe(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else _describe(value)
    if depth >= MAX_DEPTH:
        return "…[nested too deep]"
    if isinstance(value, Mapping):
        items = list(value.items())
        kept = {budget.take(_describe(k) if not isinstance(k, str) else k): _value(v, depth + 1, budget) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            kept["…"] = f"[{len(items) - MAX_ITEMS} more entries]"
        return kept
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value) if not isinstance(value, (set, frozenset)) else sorted(value, key=repr)
        kept_items = [_value(v, depth + 1, budget) for v in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            kept_items.append(f"…[{len(items) - MAX_ITEMS} more items]")
        return kept_items
    return budget.take(_describe(value))


def _describe(value: Any) -> str:
    """A string for a value that is not one, without ever failing.

    ``str()`` of an integer over 4,300 digits raises ValueError (Python's
    int-conversion limit), so huge integers are described by their size.
    """
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "null"
    if isinstance(value, int):
        if abs(value).bit_length() > 128:
            digits = int(abs(value).bit_length() * math.log10(2)) + 1
            return f"{'-' if value < 0 else ''}[integer of about {digits} digits]"
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - a value whose __str__ fails is described by its type
        return f"<{type(value).__name__}>"
