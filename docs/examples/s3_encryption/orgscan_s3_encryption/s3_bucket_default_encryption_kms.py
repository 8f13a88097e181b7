"""s3_bucket_default_encryption_kms: every S3 bucket encrypts new objects with a KMS key by default.

Since January 2023 every bucket encrypts new objects at least with S3-managed
keys (SSE-S3, ``AES256``); this check asks for more: a KMS key (SSE-KMS or
DSSE-KMS), whose key policy and CloudTrail record say who may read the data.
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption.html
"""
from __future__ import annotations

from scanner.errors import AwsError
from scanner.model import CheckMetadata, Finding, Remediation, Scope, Severity, Status, check

#: The error code of GetBucketEncryption for a bucket with no default encryption configuration
#: (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketEncryption.html).
NO_CONFIGURATION = "ServerSideEncryptionConfigurationNotFoundError"
#: SSEAlgorithm values that use a KMS key
#: (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ServerSideEncryptionByDefault.html).
KMS_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse"})


def bucket_region(location: dict) -> str:
    """The region of a bucket from its GetBucketLocation answer.

    AWS answers no LocationConstraint for us-east-1 and ``EU`` for the oldest
    eu-west-1 buckets (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html).
    """
    constraint = location.get("LocationConstraint")
    if not constraint:
        return "us-east-1"
    return "eu-west-1" if constraint == "EU" else str(constraint)


def default_algorithm(configuration: dict) -> str | None:
    """The SSEAlgorithm of a bucket's first default-encryption rule, or ``None``."""
    rules = (configuration.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
    for rule in rules:
        by_default = rule.get("ApplyServerSideEncryptionByDefault") if isinstance(rule, dict) else None
        if isinstance(by_default, dict) and by_default.get("SSEAlgorithm"):
            return str(by_default["SSEAlgorithm"])
    return None


@check(
    CheckMetadata(
        id="s3_bucket_default_encryption_kms",
        title="S3 buckets encrypt new objects with a KMS key by default",
        severity=Severity.MEDIUM,
        service="s3",
        resource_type="AWS::S3::Bucket",
        scope=Scope.ACCOUNT,
        rationale="With SSE-KMS the key policy decides who can read the data, and every use of the key is in CloudTrail.",
        remediation=Remediation(
            text="Set the bucket's default encryption to SSE-KMS with a customer managed key.",
            cli="aws s3api put-bucket-encryption --bucket BUCKET --server-side-encryption-configuration "
            "'{\"Rules\":[{\"ApplyServerSideEncryptionByDefault\":{\"SSEAlgorithm\":\"aws:kms\",\"KMSMasterKeyID\":\"KEY_ARN\"},\"BucketKeyEnabled\":true}]}'",
            url="https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-bucket-encryption.html",
        ),
        # True IAM action names (AWS's Service Authorization Reference), not the API operations'
        # names: ListBuckets needs s3:ListAllMyBuckets, GetBucketEncryption s3:GetEncryptionConfiguration.
        iam_actions=("s3:ListAllMyBuckets", "s3:GetBucketLocation", "s3:GetEncryptionConfiguration"),
        references=("https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption.html",),
    )
)
def s3_bucket_default_encryption_kms(ctx):
    # ListBuckets is global: one call, in the check's API region.
    for bucket in ctx.aws.call("s3", "list_buckets").get("Buckets") or []:
        name = str(bucket.get("Name", ""))
        arn = f"arn:{ctx.partition}:s3:::{name}"
        region = None
        try:
            region = bucket_region(ctx.aws.call("s3", "get_bucket_location", Bucket=name))
            # Each bucket is read in its own region (S3 redirects a call made to another region's endpoint).
            configuration = ctx.aws.call("s3", "get_bucket_encryption", Bucket=name, region=region)
        except AwsError as error:
            if error.code == NO_CONFIGURATION:
                yield Finding(Status.FAIL, resource_id=name, resource_arn=arn, region=region,
                              message="no default encryption configuration", evidence={"sse_algorithm": None})
            else:
                # One bucket's error (denied by its bucket policy, say) is that bucket's ERROR only.
                yield Finding(Status.ERROR, resource_id=name, resource_arn=arn, region=region, message=str(error),
                              evidence={"action": error.action, "error_code": error.code})
            continue
        algorithm = default_algorithm(configuration)
        status = Status.PASS if algorithm in KMS_ALGORITHMS else Status.FAIL
        yield Finding(status, resource_id=name, resource_arn=arn, region=region,
                      message=f"default encryption is {algorithm or 'not set'}", evidence={"sse_algorithm": algorithm})
