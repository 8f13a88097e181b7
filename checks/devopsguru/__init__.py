"""Built-in DevOps Guru data-protection checks: customer managed key, its policy and grant, PrivateLink, notification topics."""
from scanner import hookimpl
from checks.devopsguru.devopsguru_cmk_enabled import devopsguru_cmk_enabled
from checks.devopsguru.devopsguru_cmk_grant_present import devopsguru_cmk_grant_present
from checks.devopsguru.devopsguru_cmk_key_usable import devopsguru_cmk_key_usable
from checks.devopsguru.devopsguru_cmk_policy_grants_service import devopsguru_cmk_policy_grants_service
from checks.devopsguru.devopsguru_cmk_rotation_enabled import devopsguru_cmk_rotation_enabled
from checks.devopsguru.devopsguru_endpoint_policy_restricted import devopsguru_endpoint_policy_restricted
from checks.devopsguru.devopsguru_notification_topic_encrypted import devopsguru_notification_topic_encrypted
from checks.devopsguru.devopsguru_privatelink_endpoint import devopsguru_privatelink_endpoint
from checks.devopsguru.sns_topic_requires_tls import sns_topic_requires_tls


@hookimpl
def orgscan_register_checks(options):
    return [
        devopsguru_cmk_enabled,
        devopsguru_cmk_key_usable,
        devopsguru_cmk_rotation_enabled,
        devopsguru_cmk_policy_grants_service,
        devopsguru_privatelink_endpoint,
        devopsguru_endpoint_policy_restricted,
        devopsguru_notification_topic_encrypted,
        sns_topic_requires_tls,
        devopsguru_cmk_grant_present,
    ]
