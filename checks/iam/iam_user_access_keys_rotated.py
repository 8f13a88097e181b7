"""IAM users' active access keys are younger than a configurable age and were used within it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping

from checks.iam.users import USER_TYPE, User, list_users, no_users_finding, redact_text, user_error
from scanner.findings import judge_apart
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check
from scanner.options import option_values

METADATA = CheckMetadata(
    id="iam_user_access_keys_rotated",
    title="IAM users' active access keys are rotated and in use",
    severity=Severity.MEDIUM,
    service="iam",
    resource_type=USER_TYPE,
    scope=Scope.ACCOUNT,
    rationale=(
        "Long-term access keys are the credentials that leak most often (in code, logs and laptops), and a leaked key "
        "works until it is deactivated. Rotating keys limits how long a leaked key is useful; a key nobody used for as "
        "long is one nobody needs. DevOps Guru's data-protection guidance asks for individual users with least privilege."
    ),
    remediation=Remediation(
        text=(
            "Create a second key, move the workload to it, then deactivate and delete the old key; delete keys that are "
            "not used. Prefer roles with temporary credentials (IAM Roles Anywhere, IAM Identity Center) to access keys."
        ),
        cli=(
            "aws iam create-access-key --user-name <user-name>\n"
            "# update the workload, then:\n"
            "aws iam get-access-key-last-used --access-key-id <old-key-id>\n"
            "aws iam update-access-key --user-name <user-name> --access-key-id <old-key-id> --status Inactive\n"
            "aws iam delete-access-key --user-name <user-name> --access-key-id <old-key-id>"
        ),
        url="https://docs.aws.amazon.com/IAM/latest/UserGuide/id-credentials-access-keys-update.html",
    ),
    iam_actions=("iam:ListUsers", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"),
    option_schemas={"max_age_days": {"type": "integer", "minimum": 1, "maximum": 36500, "default": 90}},
    references=(
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id-credentials-access-keys-update.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html",
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAccessKeys.html",
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccessKeyLastUsed.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-3",
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
    ),
)

def max_age_days(options: Mapping[str, Any]) -> int:
    """``max_age_days`` from the check's options (validated against its schema when the scan was planned; default 90)."""
    return option_values(METADATA, options)["max_age_days"]


@dataclass(frozen=True)
class KeyUse:
    """One access key as ListAccessKeys and GetAccessKeyLastUsed show it."""

    key_id: str
    created: datetime
    last_used: datetime | None


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def key_problems(key: KeyUse, max_age: timedelta, now: datetime) -> list[str]:
    """Why an active key fails (empty when it passes): older than ``max_age``, or not used within it."""
    problems = []
    age = now - _utc(key.created)
    if age > max_age:
        problems.append(f"created {age.days} days ago" + (" and never used" if key.last_used is None else ""))
    if key.last_used is not None and now - _utc(key.last_used) > max_age:
        problems.append(f"last used {(now - _utc(key.last_used)).days} days ago")
    return problems


def key_evidence(key: KeyUse, now: datetime) -> dict[str, Any]:
    """What the result shows of a key: the last four characters of its id (as the IAM console does), its dates and ages."""
    return {
        "AccessKeyIdEnding": key.key_id[-4:],
        "CreateDate": _utc(key.created).isoformat(),
        "AgeDays": (now - _utc(key.created)).days,
        "LastUsedDate": _utc(key.last_used).isoformat() if key.last_used else None,
    }


def active_keys(ctx, user: User) -> list[KeyUse]:
    """The user's active access keys with their last use (raises AwsError, or ValueError for a malformed answer)."""
    keys = []
    for entry in ctx.aws.collect("iam", "list_access_keys", "AccessKeyMetadata", UserName=user.name):
        if not isinstance(entry, dict) or entry.get("Status") != "Active":
            continue
        key_id, created = entry.get("AccessKeyId"), entry.get("CreateDate")
        if not isinstance(key_id, str) or not key_id or not isinstance(created, datetime):
            raise ValueError("ListAccessKeys answer has an active key without AccessKeyId or CreateDate")
        answer = ctx.aws.call("iam", "get_access_key_last_used", AccessKeyId=key_id).get("AccessKeyLastUsed")
        # Never used: AWS leaves LastUsedDate out (and reports Region and ServiceName as "N/A").
        last_used = answer.get("LastUsedDate") if isinstance(answer, dict) else None
        keys.append(KeyUse(key_id, created, last_used if isinstance(last_used, datetime) else None))
    return keys


def judge_user(ctx, user: User, max_age_days: int, now: datetime) -> Finding:
    """The user's verdict: NOT_APPLICABLE without active keys, FAIL when one is too old or unused, else PASS."""
    if user.error:
        return user_error(user)
    where = {"resource_id": user.resource_id, "resource_arn": user.resource_arn, "resource_type": USER_TYPE}
    keys = active_keys(ctx, user)
    if not keys:
        return Finding(Status.NOT_APPLICABLE, message="the user has no active access keys", **where)
    max_age = timedelta(days=max_age_days)
    evidence = {"MaxAgeDays": max_age_days, "ActiveKeys": [key_evidence(key, now) for key in keys]}
    failing = [f"key ending {key.key_id[-4:]} {' and '.join(problems)}"
               for key in keys if (problems := key_problems(key, max_age, now))]
    if failing:
        return Finding(Status.FAIL, message=f"older than {max_age_days} days or unused for as long: " + "; ".join(failing),
                       evidence=evidence, **where)
    return Finding(Status.PASS, message=f"{len(keys)} active access key(s), each younger than {max_age_days} days and used within them",
                   evidence=evidence, **where)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@check(METADATA)
def iam_user_access_keys_rotated(ctx, now: Callable[[], datetime] = _utc_now):
    max_age = max_age_days(ctx.options)
    users = list_users(ctx)
    if not users:
        yield no_users_finding(ctx)
        return
    # One instant for the whole account, so every user is judged against the same "now".
    instant = now()
    for user in users:
        yield from judge_apart(user.resource_id, lambda user=user: judge_user(ctx, user, max_age, instant),
                               resource_arn=user.resource_arn, resource_type=USER_TYPE, redact_text=redact_text)
