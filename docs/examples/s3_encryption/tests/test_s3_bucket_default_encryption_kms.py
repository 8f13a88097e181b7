"""s3_bucket_default_encryption_kms against orgscan's simulated organization (the ``scanner.testing`` fixtures).

Expected verdicts follow AWS's documentation:
- SSEAlgorithm ``aws:kms`` or ``aws:kms:dsse`` is a KMS key, ``AES256`` is S3-managed keys
  (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ServerSideEncryptionByDefault.html);
- GetBucketEncryption answers ServerSideEncryptionConfigurationNotFoundError for a bucket with no
  default encryption configuration (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketEncryption.html),
  and needs the IAM action s3:GetEncryptionConfiguration (same page).
"""
from __future__ import annotations

from pathlib import Path

from orgscan_s3_encryption.s3_bucket_default_encryption_kms import bucket_region, s3_bucket_default_encryption_kms
from scanner.iam_reference import iam_reference
from scanner.model import Status
from scanner.simulator import Faults
from scanner.testing import check_context

PLUGIN_PATH = str(Path(__file__).resolve().parents[1] / "orgscan_s3_encryption")
MANAGEMENT, MEMBER = "510000000001", "510000000002"
KMS_BUCKET, AES_BUCKET, BARE_BUCKET, EU_BUCKET = "example-kms", "example-aes", "example-bare", "example-kms-eu"
SCENARIO = {
    "organization": {"management_account": MANAGEMENT, "regions": ["us-east-1", "eu-west-1"]},
    "accounts": [
        {"id": MANAGEMENT, "name": "management", "email": "m@example.com"},
        {
            "id": MEMBER,
            "name": "member",
            "email": "n@example.com",
            "s3_buckets": [
                {"name": KMS_BUCKET, "region": "us-east-1"},
                {"name": AES_BUCKET, "region": "us-east-1"},
                {"name": BARE_BUCKET, "region": "us-east-1"},
                {"name": EU_BUCKET, "region": "eu-west-1"},
            ],
        },
    ],
}


def _encrypt(sim, bucket: str, region: str, algorithm: str | None) -> None:
    """Set (or, with ``None``, delete) a bucket's default encryption, as its owner would."""
    s3 = sim.client("s3", region=region, account_id=MEMBER)
    if algorithm is None:
        s3.delete_bucket_encryption(Bucket=bucket)
        return
    by_default = {"SSEAlgorithm": algorithm}
    if algorithm.startswith("aws:kms"):
        by_default["KMSMasterKeyID"] = f"arn:aws:kms:{region}:{MEMBER}:alias/aws/s3"
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": by_default}]})


def _organization(make_org, faults=None):
    sim = make_org(SCENARIO, faults)
    _encrypt(sim, KMS_BUCKET, "us-east-1", "aws:kms")
    _encrypt(sim, AES_BUCKET, "us-east-1", "AES256")
    _encrypt(sim, BARE_BUCKET, "us-east-1", None)
    _encrypt(sim, EU_BUCKET, "eu-west-1", "aws:kms:dsse")
    return sim


def test_declares_true_iam_action_names():
    for action in s3_bucket_default_encryption_kms.metadata.iam_actions:
        assert iam_reference().access_level(action) in {"List", "Read"}, action


def test_bucket_region_follows_get_bucket_location():
    assert bucket_region({}) == "us-east-1"
    assert bucket_region({"LocationConstraint": None}) == "us-east-1"
    assert bucket_region({"LocationConstraint": "EU"}) == "eu-west-1"
    assert bucket_region({"LocationConstraint": "ap-south-1"}) == "ap-south-1"


def test_kms_passes_s3_managed_and_no_configuration_fail_each_bucket_in_its_region(make_org):
    sim = _organization(make_org)
    context = check_context(sim, MEMBER, "us-east-1", s3_bucket_default_encryption_kms)

    verdicts = {f.resource_id: (f.status, f.region, f.evidence["sse_algorithm"]) for f in s3_bucket_default_encryption_kms(context)}

    assert verdicts == {
        KMS_BUCKET: (Status.PASS, "us-east-1", "aws:kms"),
        AES_BUCKET: (Status.FAIL, "us-east-1", "AES256"),
        BARE_BUCKET: (Status.FAIL, "us-east-1", None),
        EU_BUCKET: (Status.PASS, "eu-west-1", "aws:kms:dsse"),
    }


def test_a_denied_read_is_an_error_per_bucket_naming_the_iam_action(make_org):
    sim = _organization(make_org, Faults(deny_actions={MEMBER: ["s3:GetEncryptionConfiguration"]}))
    context = check_context(sim, MEMBER, "us-east-1", s3_bucket_default_encryption_kms)

    findings = list(s3_bucket_default_encryption_kms(context))

    assert {f.resource_id for f in findings} == {KMS_BUCKET, AES_BUCKET, BARE_BUCKET, EU_BUCKET}
    for finding in findings:
        assert finding.status == Status.ERROR
        assert "s3:GetEncryptionConfiguration" in finding.message
        assert finding.evidence == {"action": "s3:GetEncryptionConfiguration", "error_code": "AccessDenied"}


def test_in_a_scan_loaded_by_file_path(make_org, run_orgscan):
    _organization(make_org, Faults(deny_actions={MEMBER: ["s3:GetEncryptionConfiguration"]}))

    code, document = run_orgscan("--org", "--plugin", PLUGIN_PATH, "--checks", "s3_bucket_default_encryption_kms", "--quiet")

    results = [r for r in document["results"] if r["account_id"] == MEMBER]
    assert {r["resource_id"] for r in results} == {KMS_BUCKET, AES_BUCKET, BARE_BUCKET, EU_BUCKET}
    assert all(r["status"] == "ERROR" and "s3:GetEncryptionConfiguration" in r["message"] for r in results), results
    assert code == 3  # errors, no failure
