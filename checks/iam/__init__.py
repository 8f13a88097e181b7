"""Built-in IAM checks: root user MFA, IAM users' console MFA and access key rotation."""
from scanner import hookimpl

from checks.iam.iam_root_mfa_enabled import iam_root_mfa_enabled
from checks.iam.iam_user_access_keys_rotated import iam_user_access_keys_rotated
from checks.iam.iam_user_console_mfa import iam_user_console_mfa


@hookimpl
def orgscan_register_checks(options):
    return [iam_root_mfa_enabled, iam_user_console_mfa, iam_user_access_keys_rotated]
