"""Built-in KMS key-policy checks (every customer managed key of each region)."""
from scanner import hookimpl
from checks.kms.kms_key_policy_admin_restricted import kms_key_policy_admin_restricted
from checks.kms.kms_key_policy_no_public_access import kms_key_policy_no_public_access


@hookimpl
def orgscan_register_checks(options):
    return [kms_key_policy_no_public_access, kms_key_policy_admin_restricted]
