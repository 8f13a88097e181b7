"""Keeping one resource's failure to itself: an exception while judging it is an ERROR for that resource only.

Every string a member account's AWS answers hold is attacker-controlled: a
key policy with a 4,301-digit integer, a trail whose name is a number, a tag
list that is an object. A check that loops over resources judges each one
through :func:`judge_apart`; whatever goes wrong inside (a parse error, a wrong
type, an AWS error for that resource alone, a bug) becomes one ERROR
:class:`~scanner.model.Finding` naming that resource, with a bounded one-line
message, and the loop goes on to the next resource. A failure of the *listing*
itself (the resources cannot be enumerated) still escapes to the host, which
makes it one ERROR for the whole target.

The host also sorts failures into kinds (:func:`error_kind`): ``transport``,
``throttling`` and ``service`` mean AWS could not be asked (the endpoint did
not answer, or kept refusing after the SDK's retries), so a result with that
kind says nothing about the resource; ``--fail-on-incomplete`` turns such
results into their own exit code.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Mapping

import botocore.exceptions

from scanner.errors import AccessDenied, AwsError
from scanner.logsetup import redact
from scanner.model import Finding, Status

#: Longest message of an ERROR finding made here (the runner bounds messages of whole targets at 500).
MAX_RESOURCE_ERROR = 300

#: Error codes AWS uses to say "slow down" (after the SDK's retries ran out).
THROTTLING_CODES = frozenset(
    {
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled", "RequestThrottledException",
        "TooManyRequestsException", "RequestLimitExceeded", "SlowDown", "ProvisionedThroughputExceededException",
        "BandwidthLimitExceeded", "LimitExceededException", "PriorRequestNotComplete", "EC2ThrottledException",
    }
)
#: Error codes of a service failing on its side (5xx after the SDK's retries).
SERVICE_FAILURE_CODES = frozenset(
    {"InternalFailure", "InternalError", "InternalServerError", "InternalServiceError", "InternalServerException",
     "ServiceUnavailable", "ServiceUnavailableException", "ServiceFailure", "Unavailable", "RequestTimeout",
     "RequestTimeoutException"}
)
#: The kinds of :func:`error_kind` that mean "AWS could not be asked": the scan is incomplete.
INCOMPLETE_KINDS = frozenset({"transport", "throttling", "service"})

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def error_kind(error: BaseException) -> str:
    """``transport``, ``throttling``, ``service``, ``access_denied``, ``aws`` or ``other``: what kind of failure ``error`` is.

    ``transport``: the endpoint could not be reached or dropped the connection;
    ``throttling`` and ``service``: AWS kept answering "slow down" or 5xx past the
    SDK's retries. These three say nothing about the resource (see
    :data:`INCOMPLETE_KINDS`).
    """
    if isinstance(error, AccessDenied):
        return "access_denied"
    if isinstance(error, AwsError):
        if error.code in THROTTLING_CODES:
            return "throttling"
        if error.code in SERVICE_FAILURE_CODES or error.code.isdigit() and error.code.startswith("5"):
            return "service"
        return "aws"
    if isinstance(error, (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)):
        return "transport"
    return "other"


def one_line(text: str, limit: int = MAX_RESOURCE_ERROR) -> str:
    """``text`` on one line (control characters and line breaks become spaces), at most ``limit`` characters."""
    flat = " ".join(_CONTROL_CHARACTERS.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe_failure(error: BaseException) -> str:
    """A short reason for ``error``: the AWS action and code for AWS errors, else the exception's type and text."""
    if isinstance(error, AwsError):
        return str(error)
    text = " ".join(str(error).split())
    name = type(error).__name__
    if isinstance(error, ValueError) and "integer string conversion" in text:
        # Python's int-conversion limit names the digit count; the number itself is never shown.
        return f"{name}: a number with too many digits"
    return f"{name}: {text}" if text else name


def resource_error(
    resource_id: str,
    error: BaseException,
    *,
    resource_arn: str | None = None,
    resource_type: str | None = None,
    region: str | None = None,
    doing: str = "could not be judged",
    redact_text: Callable[[str], str] | None = None,
) -> Finding:
    """The ERROR finding for one resource whose judging raised ``error``: one redacted line of at most 300 characters.

    ``resource_id`` (and ``resource_arn``) must already be fit to show (masked
    by the caller, as for any finding). ``redact_text`` masks sensitive values
    in the message (a check passes its detector's redaction); credentials are
    always masked.
    """
    try:
        reason = describe_failure(error)
    except Exception:  # noqa: BLE001 - an exception whose str() fails is still an ERROR for this resource
        reason = type(error).__name__
    message = redact(f"{doing}: {reason}")
    if redact_text is not None:
        message = redact_text(message) or ""
    evidence: dict[str, Any] = {"error": type(error).__name__, "error_kind": error_kind(error)}
    if isinstance(error, AwsError):
        evidence.update(action=error.action, error_code=error.code)
    return Finding(
        Status.ERROR,
        resource_id=resource_id,
        resource_arn=resource_arn,
        resource_type=resource_type,
        region=region,
        message=one_line(message),
        evidence=evidence,
    )


def judge_apart(
    resource_id: str,
    judge: Callable[[], Finding | Iterable[Finding] | None],
    *,
    resource_arn: str | None = None,
    resource_type: str | None = None,
    region: str | None = None,
    redact_text: Callable[[str], str] | None = None,
    reraise: tuple[type[BaseException], ...] = (),
) -> list[Finding]:
    """The findings ``judge()`` gives for one resource, or one ERROR finding for it when judging raised.

    ``judge`` may return a finding, an iterable of findings (a generator is
    run to its end here, so a failure halfway through still stays with this
    resource) or ``None``. Use it in every per-resource loop of a check::

        for key in keys:
            yield from judge_apart(key.arn, lambda: judge_key(key), resource_arn=key.arn)

    ``Exception`` only: an interrupt or the runner's timeout still ends the check.
    ``reraise`` names errors that concern every resource alike (``AccessDenied``
    to an action the whole account is refused): they end the loop as before,
    one ERROR for the source instead of one per resource.
    """
    try:
        outcome = judge()
        if outcome is None:
            return []
        if isinstance(outcome, Finding):
            return [outcome]
        return list(outcome)
    except reraise:
        raise
    except Exception as error:  # noqa: BLE001 - one resource's failure never hides another's verdict
        return [
            resource_error(resource_id, error, resource_arn=resource_arn, resource_type=resource_type, region=region,
                           redact_text=redact_text)
        ]


def incomplete_reason(result: Mapping[str, Any]) -> str | None:
    """The error kind that makes an ERROR result "AWS could not be asked" (see :data:`INCOMPLETE_KINDS`), else ``None``."""
    if result.get("status") != Status.ERROR.value:
        return None
    evidence = result.get("evidence")
    kind = evidence.get("error_kind") if isinstance(evidence, Mapping) else None
    return kind if kind in INCOMPLETE_KINDS else None
