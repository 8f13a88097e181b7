"""Built-in CloudTrail checks: multi-Region logging, KMS events logged, log file validation, KMS encryption."""
from scanner import hookimpl

from checks.cloudtrail.cloudtrail_cmk_encryption import cloudtrail_cmk_encryption
from checks.cloudtrail.cloudtrail_kms_events_logged import cloudtrail_kms_events_logged
from checks.cloudtrail.cloudtrail_log_file_validation import cloudtrail_log_file_validation
from checks.cloudtrail.cloudtrail_multi_region_logging import cloudtrail_multi_region_logging


@hookimpl
def orgscan_register_checks(options):
    return [cloudtrail_multi_region_logging, cloudtrail_kms_events_logged, cloudtrail_log_file_validation, cloudtrail_cmk_encryption]
