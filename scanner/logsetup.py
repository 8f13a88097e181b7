"""Logging to stderr with credentials redacted, whatever the level.

botocore logs request headers (including ``X-Amz-Security-Token``) and
response bodies at DEBUG; orgscan keeps the SDK at INFO or above and redacts
anything credential-shaped from every line it does log.
"""
from __future__ import annotations

import logging
import re
import sys

_REDACTIONS = [
    (re.compile(r"(?i)(x-amz-security-token['\"]?\s*[:=]\s*b?['\"]?)[^'\",\s}]+"), r"\1<redacted>"),
    (re.compile(r"(?i)((?:aws_)?(?:secret_access_key|secretaccesskey|session_token|sessiontoken|secret_key|token)['\"]?\s*[:=]\s*b?['\"]?)[^'\",\s}&]+"), r"\1<redacted>"),
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*b?['\"]?)[^'\"}]+"), r"\1<redacted>"),
    (re.compile(r"(?i)(Credential=)[^,\s/]+"), r"\1<redacted>"),
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), "<redacted-key-id>"),
]


def redact(text: str) -> str:
    """The text with anything that looks like a credential replaced."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """Redacts credentials; outside debug level an exception is one line, never a traceback."""

    def __init__(self, fmt: str, tracebacks: bool) -> None:
        super().__init__(fmt)
        self.tracebacks = tracebacks

    def formatException(self, exc_info) -> str:  # noqa: N802 - logging's name
        if self.tracebacks:
            return super().formatException(exc_info)
        return f"  ({exc_info[0].__name__}: {exc_info[1]})"

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: str) -> None:
    """One stderr handler for orgscan and the SDK, redacting credentials."""
    numeric = getattr(logging, level.upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", tracebacks=numeric <= logging.DEBUG)
    )
    root = logging.getLogger()
    for existing in list(root.handlers):
        if isinstance(existing.formatter, RedactingFormatter):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(numeric)
    # The SDK at DEBUG logs every response body, and bodies hold the tag values
    # and names that checks judge: sensitive data must never reach a log, so
    # the SDK never logs below INFO, even with --log-level debug.
    for noisy in ("botocore", "urllib3", "boto3", "s3transfer"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.INFO))
    # A role that cannot be assumed is reported once, as the account's ERROR;
    # botocore's own warning about the failed refresh would repeat it with a traceback.
    logging.getLogger("botocore.credentials").setLevel(max(numeric, logging.ERROR))
