"""Built-in sensitive-data checks: tags, names and descriptions, URLs given to services.

All three judge text with :class:`checks.sensitive_data.detector.SensitiveDataDetector`
and never write a value they flag, only its kind and a masked preview.
"""
from scanner import hookimpl

from checks.sensitive_data.names_no_sensitive_data import names_no_sensitive_data
from checks.sensitive_data.tags_no_sensitive_data import tags_no_sensitive_data
from checks.sensitive_data.urls_no_embedded_credentials import urls_no_embedded_credentials


@hookimpl
def orgscan_register_checks(options):
    return [tags_no_sensitive_data, names_no_sensitive_data, urls_no_embedded_credentials]
