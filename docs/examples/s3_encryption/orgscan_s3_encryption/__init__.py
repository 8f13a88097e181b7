"""An example third-party orgscan plugin: S3 buckets encrypt new objects with a KMS key by default.

Load it with ``orgscan scan --plugin docs/examples/s3_encryption/orgscan_s3_encryption``
(a file path), or install it (``pip install docs/examples/s3_encryption``) and it
is found through its ``orgscan`` entry point like every built-in plugin.
"""
from __future__ import annotations

from scanner import hookimpl

from .s3_bucket_default_encryption_kms import s3_bucket_default_encryption_kms


@hookimpl
def orgscan_register_checks(options):
    """The plugin's checks (orgscan calls this once per run)."""
    return [s3_bucket_default_encryption_kms]
