"""The account's root user has MFA, or has no credentials at all (centrally managed root access)."""
from __future__ import annotations

from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

METADATA = CheckMetadata(
    id="iam_root_mfa_enabled",
    title="The root user has multi-factor authentication",
    severity=Severity.CRITICAL,
    service="iam",
    resource_type="AWS::::Account",
    scope=Scope.ACCOUNT,
    rationale=(
        "The root user can do anything in the account, including disabling CloudTrail and scheduling the deletion of "
        "every KMS key. AWS's data-protection guidance asks for MFA on every account; for the root user a password "
        "alone is not enough."
    ),
    remediation=Remediation(
        text=(
            "Sign in as the root user and assign an MFA device (a FIDO2 security key or a virtual authenticator on a "
            "dedicated device). In an organization you can instead centralize root access and remove member accounts' "
            "root credentials. There is no CLI for the root user's own MFA; verify with the command below."
        ),
        cli=("aws iam get-account-summary --query "
             "'SummaryMap.[AccountMFAEnabled,AccountPasswordPresent,AccountAccessKeysPresent,AccountSigningCertificatesPresent]'"),
        url="https://docs.aws.amazon.com/IAM/latest/UserGuide/enable-mfa-for-root.html",
    ),
    iam_actions=("iam:GetAccountSummary",),
    references=(
        "https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-9",
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html",
    ),
)


# GetAccountSummary's keys for the root user's credentials (botocore iam model, summaryKeyType): 1 while
# the root user has that credential, 0 once it is gone. Centrally managed root access in AWS Organizations
# deletes all three (and deactivates MFA); a root user without any has nothing an MFA device would protect.
ROOT_CREDENTIAL_KEYS = ("AccountPasswordPresent", "AccountAccessKeysPresent", "AccountSigningCertificatesPresent")


def _is_flag(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@check(METADATA)
def iam_root_mfa_enabled(ctx):
    root_arn = f"arn:{ctx.partition}:iam::{ctx.account_id}:root"
    summary = ctx.aws.call("iam", "get_account_summary").get("SummaryMap")
    summary = summary if isinstance(summary, dict) else {}
    mfa = summary.get("AccountMFAEnabled")
    malformed = [key for key in ("AccountMFAEnabled", *ROOT_CREDENTIAL_KEYS)
                 if (key == "AccountMFAEnabled" or key in summary) and not _is_flag(summary.get(key))]
    if malformed:
        yield Finding(
            Status.ERROR,
            resource_id=ctx.account_id,
            resource_arn=root_arn,
            message=f"GetAccountSummary answer has no integer SummaryMap.{malformed[0]}",
        )
        return
    if mfa == 1:
        yield Finding(Status.PASS, resource_id=ctx.account_id, resource_arn=root_arn,
                      message="the root user has MFA enabled", evidence={"AccountMFAEnabled": 1})
        return
    credentials = {key: summary[key] for key in ROOT_CREDENTIAL_KEYS if key in summary}
    evidence = {"AccountMFAEnabled": mfa, **credentials}
    if len(credentials) == len(ROOT_CREDENTIAL_KEYS) and not any(credentials.values()):
        yield Finding(Status.PASS, resource_id=ctx.account_id, resource_arn=root_arn,
                      message="the root user has no credentials (no password, access keys or signing certificates), "
                              "so there is no root sign-in for MFA to protect",
                      evidence=evidence)
        return
    unreported = [key for key in ROOT_CREDENTIAL_KEYS if key not in credentials]
    message = "the root user has no MFA device"
    if unreported:
        message += f" (GetAccountSummary does not report {', '.join(unreported)}: removed root credentials cannot be confirmed)"
    else:
        held = {"AccountPasswordPresent": "a password", "AccountAccessKeysPresent": "access keys",
                "AccountSigningCertificatesPresent": "signing certificates"}
        message += " and has " + ", ".join(held[key] for key, value in credentials.items() if value)
    yield Finding(Status.FAIL, resource_id=ctx.account_id, resource_arn=root_arn, message=message, evidence=evidence)
