"""What the IAM user checks read: the account's IAM users, as ListUsers gives them."""
from __future__ import annotations

from dataclasses import dataclass


from checks.sensitive_data.detector import DEFAULT_DETECTOR, redact_identifier
from scanner.model import Finding, Status

USER_TYPE = "AWS::IAM::User"


@dataclass(frozen=True)
class User:
    """One entry of ListUsers: its name for API calls, and its id and ARN for results (``error`` says why it cannot be judged).

    ``resource_id`` and ``arn`` are masked: a user named after an email address or holding a card number
    must not reach a report (``docs/security.md``); ``name`` is only ever sent back to IAM.
    """

    name: str
    arn: str
    error: str = ""

    @property
    def resource_id(self) -> str:
        return redact_identifier(self.name) or ""

    @property
    def resource_arn(self) -> str | None:
        return redact_identifier(self.arn) if self.arn else None


def redact_text(text: str) -> str:
    """``text`` with any sensitive data (a user's name in an error message) masked."""
    return DEFAULT_DETECTOR.redact(text)


def list_users(ctx) -> list[User]:
    """The account's IAM users (every ListUsers page; raises AwsError); a malformed entry is a user whose ``error`` says why."""
    users = []
    for index, entry in enumerate(ctx.aws.collect("iam", "list_users", "Users")):
        name = entry.get("UserName") if isinstance(entry, dict) else None
        arn = entry.get("Arn") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            users.append(User(name=f"ListUsers[{index}]", arn="", error="ListUsers entry has no UserName"))
            continue
        if not isinstance(arn, str) or not arn:
            arn = f"arn:{ctx.partition}:iam::{ctx.account_id}:user/{name}"
        users.append(User(name=name, arn=arn))
    return users


def no_users_finding(ctx) -> Finding:
    """The account's one NOT_APPLICABLE finding when it has no IAM users."""
    return Finding(Status.NOT_APPLICABLE, resource_id=ctx.account_id, message="the account has no IAM users",
                   resource_type="AWS::::Account")


def user_error(user: User) -> Finding:
    """The ERROR finding for a ListUsers entry that cannot be judged."""
    return Finding(Status.ERROR, resource_id=user.resource_id, resource_arn=user.resource_arn, resource_type=USER_TYPE, message=user.error)



