"""Built-in IAM checks: root user MFA."""
from scanner import hookimpl

from checks.iam.iam_root_mfa_enabled import iam_root_mfa_enabled


@hookimpl
def orgscan_register_checks(options):
    return [iam_root_mfa_enabled]
