"""Every IAM user with a console password has an MFA device."""
from __future__ import annotations

from checks.iam.users import USER_TYPE, User, list_users, no_users_finding, redact_text, user_error
from scanner.errors import AwsError
from scanner.findings import judge_apart
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

METADATA = CheckMetadata(
    id="iam_user_console_mfa",
    title="Every IAM user with a console password has an MFA device",
    severity=Severity.HIGH,
    service="iam",
    resource_type=USER_TYPE,
    scope=Scope.ACCOUNT,
    rationale=(
        "A console password alone is one guessed, phished or reused secret away from the console. AWS's data-protection "
        "guidance for DevOps Guru asks for MFA on each account, and the IAM User Guide recommends MFA for every human "
        "user who signs in with a password."
    ),
    remediation=Remediation(
        text=(
            "Assign an MFA device to the user (a FIDO2 security key or a virtual authenticator), or delete the user's "
            "console password if the user never signs in to the console. Better still, move people to IAM Identity "
            "Center and keep IAM users for workloads only."
        ),
        cli=(
            "aws iam create-virtual-mfa-device --virtual-mfa-device-name <user-name> --outfile qr.png --bootstrap-method QRCodePNG\n"
            "aws iam enable-mfa-device --user-name <user-name> --serial-number <mfa-arn> "
            "--authentication-code1 <code> --authentication-code2 <next-code>\n"
            "# or, for a user who does not need the console:\n"
            "aws iam delete-login-profile --user-name <user-name>"
        ),
        url="https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable.html",
    ),
    iam_actions=("iam:ListUsers", "iam:GetLoginProfile", "iam:ListMFADevices"),
    references=(
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_checking-status.html",
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetLoginProfile.html",
        "https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListMFADevices.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-5",
        "https://docs.aws.amazon.com/devops-guru/latest/userguide/data-protection.html",
    ),
)


def has_console_password(ctx, user: User) -> bool:
    """Whether the user has a console password: GetLoginProfile answers NoSuchEntity when it has none (raises AwsError otherwise)."""
    try:
        ctx.aws.call("iam", "get_login_profile", UserName=user.name)
    except AwsError as error:
        if error.code == "NoSuchEntity":
            return False
        raise
    return True


def judge_user(ctx, user: User) -> Finding:
    """The user's verdict: NOT_APPLICABLE without a console password, else PASS with an MFA device and FAIL without."""
    if user.error:
        return user_error(user)
    where = {"resource_id": user.resource_id, "resource_arn": user.resource_arn, "resource_type": USER_TYPE}
    if not has_console_password(ctx, user):
        return Finding(Status.NOT_APPLICABLE, message="the user has no console password", evidence={"ConsolePassword": False}, **where)
    devices = ctx.aws.collect("iam", "list_mfa_devices", "MFADevices", UserName=user.name)
    serials = [d.get("SerialNumber") for d in devices if isinstance(d, dict) and isinstance(d.get("SerialNumber"), str)]
    if len(serials) != len(devices):
        return Finding(Status.ERROR, message="ListMFADevices answer has an entry without a SerialNumber", **where)
    evidence = {"ConsolePassword": True, "MFADevices": [redact_text(serial) for serial in serials]}
    if serials:
        return Finding(Status.PASS, message=f"the user has a console password and {len(serials)} MFA device(s)", evidence=evidence, **where)
    return Finding(Status.FAIL, message="the user has a console password and no MFA device", evidence=evidence, **where)


@check(METADATA)
def iam_user_console_mfa(ctx):
    users = list_users(ctx)
    if not users:
        yield no_users_finding(ctx)
        return
    for user in users:
        # A user the role may not read (a Deny on that user's ARN) is one ERROR; the others keep their verdicts.
        yield from judge_apart(user.resource_id, lambda user=user: judge_user(ctx, user), resource_arn=user.resource_arn,
                               resource_type=USER_TYPE, redact_text=redact_text)
