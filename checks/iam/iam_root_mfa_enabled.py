"""The account's root user has MFA."""
from __future__ import annotations

from scanner.model import CheckMetadata, ComplianceMapping, Finding, Remediation, Scope, Severity, Status, check

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
        cli="aws iam get-account-summary --query 'SummaryMap.AccountMFAEnabled'",
        url="https://docs.aws.amazon.com/IAM/latest/UserGuide/enable-mfa-for-root.html",
    ),
    iam_actions=("iam:GetAccountSummary",),
    references=(
        "https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-9",
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html",
    ),
    compliance=(
        ComplianceMapping("CIS AWS Foundations Benchmark v3.0.0", "1.5"),
        ComplianceMapping("AWS Foundational Security Best Practices", "IAM.9"),
    ),
)


@check(METADATA)
def iam_root_mfa_enabled(ctx):
    root_arn = f"arn:{ctx.partition}:iam::{ctx.account_id}:root"
    summary = ctx.aws.call("iam", "get_account_summary").get("SummaryMap")
    value = summary.get("AccountMFAEnabled") if isinstance(summary, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        yield Finding(
            Status.ERROR,
            resource_id=ctx.account_id,
            resource_arn=root_arn,
            message="GetAccountSummary answer has no integer SummaryMap.AccountMFAEnabled",
        )
        return
    if value == 1:
        yield Finding(Status.PASS, resource_id=ctx.account_id, resource_arn=root_arn,
                      message="the root user has MFA enabled", evidence={"AccountMFAEnabled": 1})
    else:
        yield Finding(Status.FAIL, resource_id=ctx.account_id, resource_arn=root_arn,
                      message="the root user has no MFA device", evidence={"AccountMFAEnabled": value})
