"""The simulator's S3 bucket-policy Denies, over HTTP with real botocore calls.

Expected answers follow AWS's documentation:
- Amazon S3 User Guide, "Bucket policy examples" ("Require SSE-KMS for all objects written to a bucket"):
  a Deny of ``s3:PutObject`` with ``StringNotEquals`` ``s3:x-amz-server-side-encryption: aws:kms``
  refuses puts without that header value; with ``Null`` ``...: true`` it refuses puts without the header;
- IAM User Guide, "IAM JSON policy elements: Condition operators": a negated operator (``StringNotEquals``)
  holds when the key is absent from the request; ``StringEquals`` does not;
- an explicit Deny answers ``AccessDenied`` (HTTP 403); a policy without a matching Deny does not refuse;
- Amazon S3 API Reference, CopyObject: a copy names its source in ``x-amz-copy-source``.
"""
from __future__ import annotations

import json

import botocore.exceptions
import pytest

BUCKET = "policy-test-bucket"
ONE_ACCOUNT = {"organization": {"management_account": "111111111111", "regions": ["us-east-1"]},
               "accounts": [{"id": "111111111111", "name": "management", "email": "m@example.com"}]}
KEY_ARN = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _deny(action: str, condition: dict | None = None) -> dict:
    statement = {"Effect": "Deny", "Principal": "*", "Action": action, "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    if condition is not None:
        statement["Condition"] = condition
    return statement


REQUIRE_KMS = _deny("s3:PutObject", {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}})
REQUIRE_HEADER = _deny("s3:PutObject", {"Null": {"s3:x-amz-server-side-encryption": "true"}})
DENY_AES = _deny("s3:PutObject", {"StringEquals": {"s3:x-amz-server-side-encryption": "AES256"}})
TLS_ONLY = {**_deny("s3:*", {"Bool": {"aws:SecureTransport": "false"}}), "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]}

CASES = [
    # (statement, put arguments, denied?)
    (REQUIRE_KMS, {}, True),
    (REQUIRE_KMS, {"ServerSideEncryption": "AES256"}, True),
    (REQUIRE_KMS, {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": KEY_ARN}, False),
    (REQUIRE_HEADER, {}, True),
    (REQUIRE_HEADER, {"ServerSideEncryption": "AES256"}, False),
    (DENY_AES, {}, False),
    (DENY_AES, {"ServerSideEncryption": "AES256"}, True),
    (TLS_ONLY, {}, False),  # the loopback HTTP stands for HTTPS
    (_deny("s3:PutObject"), {"ServerSideEncryption": "aws:kms"}, True),
    (_deny("s3:GetObject"), {}, False),
]


@pytest.mark.parametrize("statement, arguments, denied", CASES)
def test_put_object_against_a_bucket_policy(make_org, statement, arguments, denied):
    s3 = make_org(ONE_ACCOUNT).client("s3", "us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    try:
        s3.put_bucket_policy(Bucket=BUCKET, Policy=_policy(statement))
        try:
            s3.put_object(Bucket=BUCKET, Key="k", Body=b"data", **arguments)
        except botocore.exceptions.ClientError as error:
            assert denied, error
            assert error.response["Error"]["Code"] == "AccessDenied"
            assert "s3:PutObject" in error.response["Error"]["Message"]
        else:
            assert not denied
    finally:
        for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents") or []:
            s3.delete_object(Bucket=BUCKET, Key=item["Key"])
        s3.delete_bucket_policy(Bucket=BUCKET)
        s3.delete_bucket(Bucket=BUCKET)


def test_a_denied_get_and_a_copy_is_still_a_copy(make_org):
    s3 = make_org(ONE_ACCOUNT).client("s3", "us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    try:
        s3.put_object(Bucket=BUCKET, Key="source", Body=b"data")
        s3.copy_object(Bucket=BUCKET, Key="copy", CopySource={"Bucket": BUCKET, "Key": "source"})
        assert s3.get_object(Bucket=BUCKET, Key="copy")["Body"].read() == b"data"
        s3.put_bucket_policy(Bucket=BUCKET, Policy=_policy(_deny("s3:GetObject")))
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            s3.get_object(Bucket=BUCKET, Key="copy")
        assert raised.value.response["Error"]["Code"] == "AccessDenied"
    finally:
        s3.delete_bucket_policy(Bucket=BUCKET)
        for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents") or []:
            s3.delete_object(Bucket=BUCKET, Key=item["Key"])
        s3.delete_bucket(Bucket=BUCKET)
