"""ERROR results that stand for a whole (account, region, check), and the one-line reason for an exception.

The runner makes them when a check breaks, times out or cannot be reached; the
scan makes them for an account whose role could not be assumed and for a gap
(a planned check with no result); the Dask executor for a shard that failed.
"""
from __future__ import annotations

from typing import Any, Mapping

import botocore.exceptions

from scanner.document import result_record
from scanner.errors import AccessDenied, AwsError, UndeclaredAction, UnmappedOperation
from scanner.findings import error_kind
from scanner.model import Check, Status

MAX_MESSAGE = 500


def error_records(check: Check, account_id: str, target_region: str, message: str, evidence: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An ERROR result standing for a whole (account, region, check) that could not be judged."""
    meta = check.metadata
    return result_record(
        check_id=meta.id,
        title=meta.title,
        service=meta.service,
        status=Status.ERROR,
        severity=meta.severity,
        account_id=account_id,
        region=target_region,
        target_region=target_region,
        resource_type=meta.resource_type,
        resource_id=account_id,
        resource_arn=None,
        message=message[:MAX_MESSAGE],
        evidence=evidence,
    )


def describe_error(error: BaseException) -> tuple[str, dict[str, Any]]:
    """A one-line reason and evidence for an exception that escaped a check (never a traceback).

    The evidence's ``error_kind`` (``scanner.findings.error_kind``) tells a
    failure to reach AWS (``transport``, ``throttling``, ``service``) from one
    about the target itself; ``--fail-on-incomplete`` reads it.
    """
    kind = {"error_kind": error_kind(error)}
    if isinstance(error, AccessDenied):
        return f"access denied: {error.action} ({error.code})", {"action": error.action, "error_code": error.code, **kind}
    if isinstance(error, AwsError):
        return f"{error.action} failed: {error.code}: {error.detail}"[:MAX_MESSAGE], {"action": error.action, "error_code": error.code, **kind}
    if isinstance(error, UndeclaredAction):
        return str(error), {"action": error.action, **kind}
    if isinstance(error, UnmappedOperation):
        return str(error), {"operation": f"{error.service}.{error.operation}", **kind}
    if isinstance(error, botocore.exceptions.BotoCoreError):
        return f"AWS SDK error: {type(error).__name__}: {error}", {"error": type(error).__name__, **kind}
    return f"check failed: {type(error).__name__}: {' '.join(str(error).split())}"[:MAX_MESSAGE], {"error": type(error).__name__, **kind}
