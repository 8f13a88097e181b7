"""The one interface the sensitive-data checks use: find secrets and personal data in a short text.

``SensitiveDataDetector.scan(text, name=...)`` gives back :class:`Detection`
records that name the kind of data and carry a *masked* preview; the value
itself never leaves this module. Everything behind it (the validated patterns in
:mod:`checks.sensitive_data.patterns`) can be replaced without touching the
checks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping

from checks.sensitive_data import patterns
from scanner.model import CheckMetadata
from scanner.options import option_values

SECRET = "secret"
PERSONAL_DATA = "personal_data"

MASK = "****"


def mask(value: str) -> str:
    """A preview of ``value`` that shows at most three characters of each end, never the middle.

    Short values show nothing; the number of characters shown grows slowly with
    the length so that no preview ever reveals a useful part of a credential.
    """
    length = len(value)
    if length < 8:
        return MASK
    if length < 16:
        shown = 1
    elif length < 32:
        shown = 2
    else:
        shown = 3
    return f"{value[:shown]}{MASK}{value[-shown:]}"


@lru_cache(maxsize=4096)
def _name_words(name: str) -> tuple[str, ...]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return tuple(word for word in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if word)


def name_words(name: str) -> list[str]:
    """``DbPassword`` / ``db_password`` / ``db-password`` -> ``["db", "password"]``."""
    return list(_name_words(name))


#: Words that, ending a tag key or field name, say its value is a credential.
_CREDENTIAL_WORDS = frozenset(
    {
        "password", "passwd", "pwd", "pass", "passphrase", "passcode", "secret", "token", "apikey", "apitoken",
        "credential", "credentials", "creds", "privatekey", "secretkey", "accesskey", "bearer", "pat", "auth",
    }
)
#: Vendors whose "<vendor> key" is a credential (``PagerDutyKey``, ``TWILIO_KEY``): their keys have no
#: prefix to recognise (PagerDuty's REST API keys are plain 20-character strings).
_VENDOR_KEY_WORDS = frozenset(
    {"pagerduty", "pd", "twilio", "sendgrid", "stripe", "datadog", "dd", "newrelic", "mailchimp", "slack", "github", "gitlab",
     "docker", "dockerhub", "openai", "anthropic", "opsgenie", "sentry", "segment", "mailgun", "algolia", "heroku",
     "shopify", "okta", "auth0", "npm", "pypi", "splunk", "hec", "grafana", "cloudflare", "vault", "consul", "license"}
)
_CREDENTIAL_BIGRAMS = frozenset(
    {("api", "key"), ("private", "key"), ("secret", "key"), ("access", "key"), ("signing", "key"),
     ("client", "secret"), ("auth", "token"), ("master", "password"), ("connection", "string")}
)
#: Words that may follow the credential word without changing what the value is (``TokenValue``).
_VALUE_SUFFIXES = frozenset({"value", "string", "str", "plain", "plaintext", "raw", "text", "b64", "base64", "encoded"})


@lru_cache(maxsize=4096)
def is_credential_name(name: str) -> bool:
    """True for names like ``db_password``, ``GITHUB_TOKEN``, ``ApiKey``; False for ``SecretArn``, ``TokenExpiry``."""
    words = name_words(name)
    while words and words[-1] in _VALUE_SUFFIXES:
        words.pop()
    if not words:
        return False
    if words[-1] in _CREDENTIAL_WORDS:
        return True
    if words[-1] == "key" and (
        len(words) >= 2 and words[-2] in _VENDOR_KEY_WORDS or len(words) >= 3 and words[-3] + words[-2] in _VENDOR_KEY_WORDS
    ):
        return True  # "TWILIO_KEY", "PagerDutyKey" (pager + duty)
    return len(words) >= 2 and (words[-2], words[-1]) in _CREDENTIAL_BIGRAMS


@lru_cache(maxsize=4096)
def _context_words(name: str) -> frozenset[str]:
    """The words of a key, plus each pair of neighbours joined (``OnCall`` -> on, call, oncall; ``Cost Centre`` -> costcentre)."""
    words = _name_words(name)
    return frozenset(words) | {first + second for first, second in zip(words, words[1:])}


@lru_cache(maxsize=1)
def _recognisers() -> tuple[patterns.Recogniser, ...]:
    return patterns.all_recognisers(credential_name=is_credential_name)


_MAYBE_SENSITIVE = re.compile(r"[0-9@:=]|-----|eyJ|AKIA|ASIA|PuTTY")


@dataclass(frozen=True)
class Detection:
    """One piece of sensitive data: what kind, where, and a masked preview (never the value)."""

    kind: str
    category: str
    location: str
    preview: str

    @property
    def description(self) -> str:
        return patterns.KIND_DESCRIPTIONS[self.kind]

    def to_evidence(self) -> dict[str, str]:
        return {"location": self.location, "kind": self.kind, "category": self.category, "preview": self.preview}


def category_of(kind: str) -> str:
    return SECRET if kind in patterns.SECRET_KINDS else PERSONAL_DATA


class SensitiveDataDetector:
    """Finds secrets and personal data in tag keys, tag values and free-form fields.

    ``allow_value_patterns``: regular expressions; a detected piece of data that
    one matches in full is ignored (e.g. ``.*@example\\.com``). ``ignore_kinds``:
    kinds never reported (e.g. ``phone_number``).
    """

    def __init__(self, allow_value_patterns: Iterable[str] = (), ignore_kinds: Iterable[str] = ()) -> None:
        self._allowed = []
        for pattern in allow_value_patterns:
            try:
                self._allowed.append(re.compile(pattern))
            except re.error as error:
                raise ValueError(f"allow_value_patterns: {pattern!r} is not a regular expression ({error})") from None
        self._cached_spans = lru_cache(maxsize=16384)(self._compute_spans)
        self._ignored = frozenset(ignore_kinds)
        unknown = self._ignored - set(patterns.KIND_DESCRIPTIONS)
        if unknown:
            raise ValueError(
                f"ignore_kinds: unknown kind(s) {sorted(unknown)}; known: {sorted(patterns.KIND_DESCRIPTIONS)}"
            )

    def is_allowed(self, text: str) -> bool:
        """True when an ``allow_value_patterns`` entry matches ``text`` in full."""
        return any(pattern.fullmatch(text) for pattern in self._allowed)

    def spans(self, text: str, name: str = "") -> list[tuple[int, int, str]]:
        """Non-overlapping ``(start, end, kind)`` of sensitive data in ``text``; ``name`` (a tag key) is context."""
        if not text:
            return []
        # Tag sets repeat the same keys and values across thousands of resources.
        return list(self._cached_spans(text, name))

    def _compute_spans(self, text: str, name: str) -> tuple[tuple[int, int, str], ...]:
        if self.is_allowed(text):
            return ()
        words = _context_words(name) if name else frozenset()
        chosen: list[tuple[int, int, str]] = []
        # Every recogniser needs a digit, "@", ":", "=", a PEM armour, a JWT or key-id prefix, or 20+ characters,
        # except a person's name, which needs an owner or contact key.
        worth_scanning = len(text) >= 20 or _MAYBE_SENSITIVE.search(text) or words & patterns.CONTACT_NAME_WORDS
        recognisers = _recognisers() if worth_scanning else ()
        for recogniser in recognisers:
            for start, end, kind in sorted(recogniser(text, words), key=lambda s: (s[0], -(s[1] - s[0]))):
                if kind in self._ignored or self.is_allowed(text[start:end]):
                    continue
                if any(patterns.overlaps((start, end), (s, e)) for s, e, _ in chosen):
                    continue
                chosen.append((start, end, kind))
        if name and not chosen and "credential_named_field" not in self._ignored and is_credential_name(name):
            stripped = text.strip()
            if stripped and patterns.looks_like_a_credential_value(stripped):
                start = text.index(stripped)
                chosen.append((start, start + len(stripped), "credential_named_field"))
        return tuple(sorted(chosen))

    def scan(self, text: str, *, name: str = "", location: str = "value") -> list[Detection]:
        """Detections in ``text``, each with a masked preview; ``name`` is the key or field it sits under."""
        return [
            Detection(kind, category_of(kind), location, mask(text[start:end]))
            for start, end, kind in self.spans(text, name)
        ]

    def scan_tag(self, key: str, value: str) -> list[Detection]:
        """Detections in a tag's key (as text) and in its value (with the key as context)."""
        return self.scan(key, location="key") + self.scan(value, name=key, location="value")

    def redact(self, text: str) -> str:
        """``text`` with every piece of sensitive data replaced by its masked preview (for names in results)."""
        if not text:
            return text
        pieces, cursor = [], 0
        for start, end, _kind in self.spans(text):
            pieces.append(text[cursor:start])
            pieces.append(mask(text[start:end]))
            cursor = end
        pieces.append(text[cursor:])
        return "".join(pieces)


#: The detector with no allowlist, for redacting resource names in results.
DEFAULT_DETECTOR = SensitiveDataDetector()


def redact_identifier(text: str | None) -> str | None:
    """A resource id or ARN with any embedded sensitive data masked (an IAM user named after an email)."""
    if text is None:
        return None
    return DEFAULT_DETECTOR.redact(text)


#: The options every sensitive-data check takes in its ``[checks.<id>]`` table (``CheckMetadata.option_schemas``).
DETECTOR_OPTION_SCHEMAS = {
    # Regular expressions (Python's syntax, checked when the scan is planned): detected data one matches in full is ignored.
    "allow_value_patterns": {"type": "array", "items": {"type": "string", "format": "regex"}, "default": []},
    # Kinds never reported, by the names of the kind table (docs/checks/cloudtrail-and-sensitive-data.md).
    "ignore_kinds": {"type": "array", "items": {"enum": sorted(patterns.KIND_DESCRIPTIONS)}, "default": []},
}


def detector_from_options(metadata: CheckMetadata, options: Mapping[str, Any] | None) -> SensitiveDataDetector:
    """The detector a check's ``[checks.<id>]`` table configures (validated against the check's schemas when the scan was planned)."""
    values = option_values(metadata, options)
    return SensitiveDataDetector(values["allow_value_patterns"], values["ignore_kinds"])
