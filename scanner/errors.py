"""Exceptions with a message fit for one line on stderr or in an ERROR result."""
from __future__ import annotations


class OrgscanError(Exception):
    """Base of orgscan's own errors."""


class UsageError(OrgscanError):
    """Bad command line, configuration or scenario: exit code 2, one line, no traceback."""


class DocumentError(UsageError):
    """A result document (or a spool file) that is not one this orgscan can read: exit 2, one line naming the file."""


class HistoryError(OrgscanError):
    """The scan history (``--history``) could not be read or written: one line naming the location, key and IAM action."""


class MalformedResponse(ValueError):
    """An AWS answer that does not have the shape its service model promises; the message names the field.

    Checks raise it from their gathering code (AWS strings are hostile, and a member account's answer
    may be anything); the runner turns it into that check's ERROR result like any other failure. It
    lives in the host so that every check, built in or a plugin's, raises the same one.
    """


class AwsError(OrgscanError):
    """An AWS call failed after the SDK's retries; ``action`` is the IAM action, e.g. ``kms:GetKeyPolicy``."""

    def __init__(self, action: str, code: str, message: str) -> None:
        super().__init__(f"{action} failed: {code}: {message}")
        self.action = action
        self.code = code
        self.detail = message


class AccessDenied(AwsError):
    """The call was denied; the result names the action so the role's policy can be fixed."""

    def __init__(self, action: str, code: str, message: str) -> None:
        super().__init__(action, code, message)
        self.args = (f"access denied to {action} ({code})",)


class ServiceNotAvailable(OrgscanError):
    """The service has no endpoint in the region: the check is NOT_APPLICABLE there, not an ERROR."""

    def __init__(self, service: str, region: str) -> None:
        super().__init__(f"{service} is not available in {region}")
        self.service = service
        self.region = region


class UndeclaredAction(OrgscanError):
    """A check (or, with no check id, the host itself) called an AWS action that is not declared: a bug in the caller."""

    def __init__(self, check_id: str, action: str, call: str = "") -> None:
        if check_id:
            message = f"check {check_id} called {action}, which its metadata does not declare in iam_actions"
        else:
            message = f"orgscan called {action} in a member account, which scanner.iam_policy.HOST_MEMBER_ACTIONS does not declare"
        # The call is named too: its IAM action is often not the operation's name (s3 list_buckets).
        super().__init__(f"{message} (the IAM action {call} needs)" if call else message)
        self.check_id = check_id
        self.action = action


class UnmappedOperation(OrgscanError):
    """An API operation whose IAM action orgscan cannot name from AWS's IAM reference nor its documented exceptions."""

    def __init__(self, service: str, operation: str) -> None:
        super().__init__(
            f"orgscan knows no IAM action for {service} {operation}: AWS's Service Authorization Reference has no action "
            f"of that name; add the documented one to scanner.iam_reference.OPERATION_ACTIONS"
        )
        self.service = service
        self.operation = operation
