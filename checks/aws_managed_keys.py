"""What marks a KMS key as AWS managed from its alias alone: one home for the KMS, DevOps Guru and sensitive-data checks.

"The alias/aws/ prefix is reserved for AWS managed key" (AWS KMS Developer Guide, "Create aliases",
https://docs.aws.amazon.com/kms/latest/developerguide/alias-create.html): no one else can give a key
such an alias, so it tells an AWS managed key apart without a DescribeKey.
"""
from __future__ import annotations

AWS_MANAGED_ALIAS_PREFIX = "alias/aws/"
