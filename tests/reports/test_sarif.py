"""SARIF 2.1.0: valid against the OASIS schema (vendored in tests/data), shaped for GitHub code scanning, split past its limits."""
from __future__ import annotations

import gzip
import json
import logging
import stat
from pathlib import Path

from jsonschema import Draft4Validator
from tests.sarif_schema import load_schema

from report_documents import XSS_IMG, large_document, sample_document
from reports import sarif
from reports.sarif import GitHubLimits, build_sarif, resource_uri, write_sarif_files

VALIDATOR = Draft4Validator(load_schema())


def assert_valid(path: Path, sample: int | None = None) -> dict:
    """The SARIF log at ``path``, after checking it against the schema.

    ``sample`` validates only the first and last ``sample`` results of each run
    (every result is made by the same code; schema-checking 25,000 of them takes
    over ten seconds).
    """
    log = json.loads(path.read_bytes())
    checked = log
    if sample is not None:
        checked = dict(log, runs=[dict(run, results=run["results"][:sample] + run["results"][-sample:]) for run in log["runs"]])
    errors = sorted(VALIDATOR.iter_errors(checked), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]
    return log


def test_every_file_written_is_valid_sarif(tmp_path):
    paths = write_sarif_files(sample_document(), tmp_path)
    assert [p.name for p in paths] == ["results.sarif"]
    for path in paths:
        assert_valid(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_rules_describe_every_check_for_github():
    log = json.loads(build_sarif(sample_document()).files[0][1])
    run = log["runs"][0]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert set(rules) == {"iam_root_mfa_enabled", "kms_key_rotation_enabled", "tags_no_sensitive_data"}
    kms = rules["kms_key_rotation_enabled"]
    assert kms["name"] == "KmsKeyRotationEnabled"
    assert kms["shortDescription"]["text"] == "KMS customer managed keys rotate yearly"
    assert kms["fullDescription"]["text"].startswith("Rotating keys")
    assert "aws kms enable-key-rotation" in kms["help"]["text"]
    assert "```sh\naws kms enable-key-rotation --key-id <key-id>\n```" in kms["help"]["markdown"]
    assert kms["helpUri"] == "https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html"
    assert kms["defaultConfiguration"]["level"] == "warning"
    assert kms["properties"]["tags"][:2] == ["security", "kms"]
    assert "CIS AWS Foundations Benchmark v3.0.0 3.6" in kms["properties"]["tags"]
    for rule in rules.values():
        assert len(rule["properties"]["tags"]) <= 20
    # GitHub's scale: critical >= 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9
    assert float(rules["iam_root_mfa_enabled"]["properties"]["security-severity"]) >= 9.0
    assert 7.0 <= float(rules["tags_no_sensitive_data"]["properties"]["security-severity"]) < 9.0
    assert 4.0 <= float(kms["properties"]["security-severity"]) < 7.0


def test_a_result_per_fail_with_a_location_github_accepts():
    doc = sample_document()
    run = json.loads(build_sarif(doc).files[0][1])["runs"][0]
    fails = [r for r in doc["results"] if r["status"] == "FAIL"]
    assert len(run["results"]) == len(fails)
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    by_fingerprint = {r["partialFingerprints"]["orgscanFingerprint/v1"]: r for r in run["results"]}
    assert set(by_fingerprint) == {r["fingerprint"] for r in fails}
    tagged = by_fingerprint[next(r["fingerprint"] for r in fails if r["check_id"] == "tags_no_sensitive_data")]
    assert rule_ids[tagged["ruleIndex"]] == tagged["ruleId"] == "tags_no_sensitive_data"
    assert tagged["level"] == "error" and tagged["kind"] == "fail"
    location = tagged["locations"][0]
    uri = location["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("aws/222222222222/us-east-1/tagging/")
    assert "<" not in uri and '"' not in uri and " " not in uri  # percent-encoded
    assert location["physicalLocation"]["region"]["startLine"] == 1
    assert location["logicalLocations"][0]["fullyQualifiedName"] == f"arn:aws:ec2:us-east-1:222222222222:instance/i-0abc{XSS_IMG}"
    assert location["logicalLocations"][0]["kind"] == "resource"
    assert tagged["properties"]["account_id"] == "222222222222" and tagged["properties"]["region"] == "us-east-1"
    assert run["automationDetails"]["id"].startswith("orgscan/o-exampleorg1/")


def test_resource_uri_segments_are_percent_encoded():
    uri = resource_uri({"account_id": "1", "region": "global", "resource_id": "a/b c?..", "service": ""}, "s3")
    assert uri == "aws/1/global/s3/a%2Fb%20c%3F.."
    assert resource_uri({"account_id": "1", "region": "r", "resource_id": ".."}, "s3") == "aws/1/r/s3/%2E%2E"


def test_errors_become_failed_tool_execution_notifications():
    doc = sample_document()
    run = json.loads(build_sarif(doc).files[0][1])["runs"][0]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    messages = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    errors = [r for r in doc["results"] if r["status"] == "ERROR"]
    for error in errors:
        assert any(error["message"] in text and error["account_id"] in text for text in messages)
    assert any("444444444444 skipped: account is SUSPENDED" in text for text in messages)
    assert not any(r["kind"] != "fail" for r in run["results"])


def test_pass_results_only_on_request(tmp_path):
    doc = sample_document()
    plain = json.loads(build_sarif(doc).files[0][1])["runs"][0]["results"]
    with_pass = json.loads(build_sarif(doc, include_pass=True).files[0][1])["runs"][0]["results"]
    passes = [r for r in with_pass if r["kind"] == "pass"]
    assert len(passes) == sum(1 for r in doc["results"] if r["status"] == "PASS") and not any(r["kind"] == "pass" for r in plain)
    assert all(r["level"] == "none" for r in passes)
    formats = {f.name: f for f in sarif.orgscan_register_report_formats()}
    formats["sarif"].write(doc, tmp_path)
    paths = formats["sarif-with-pass"].write(doc, tmp_path)
    assert [p.name for p in paths] == ["results-with-pass.sarif"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results-with-pass.sarif", "results.sarif"]  # side by side
    for path in paths:
        assert_valid(path)


def test_output_is_deterministic():
    assert build_sarif(sample_document()).files == build_sarif(sample_document()).files


def test_more_results_than_github_allows_in_a_run_are_split_never_truncated(tmp_path, caplog):
    doc = large_document(26_000, accounts=2, fail_ratio=1)  # 13,000 FAILs per account
    with caplog.at_level(logging.WARNING, logger="orgscan.reports.sarif"):
        paths = write_sarif_files(doc, tmp_path)
    assert [p.name for p in paths] == ["results-001.sarif"]  # two runs, one file
    log = assert_valid(paths[0], sample=200)
    runs = log["runs"]
    assert [len(run["results"]) for run in runs] == [13_000, 13_000]
    categories = [run["automationDetails"]["id"].rsplit("/", 1)[0] for run in runs]
    assert categories == ["orgscan/o-exampleorg1/100000000000", "orgscan/o-exampleorg1/100000000001"]
    seen = {r["partialFingerprints"]["orgscanFingerprint/v1"] for run in runs for r in run["results"]}
    assert seen == {r["fingerprint"] for r in doc["results"]}
    assert "split into 1 files (2 runs)" in caplog.text and "more than 25,000 results" in caplog.text
    assert not (tmp_path / "results.sarif").exists()


def test_split_by_runs_per_file_and_gzipped_size(tmp_path):
    doc = large_document(600, accounts=30, fail_ratio=1)
    limits = GitHubLimits(results_per_run=50, runs_per_file=4, gzipped_bytes_per_file=10_000_000)
    output = build_sarif(doc, limits=limits)
    assert output.run_count == 30 and len(output.files) == 8
    assert "more than 4 runs per file" in output.split_reason
    for name, content in output.files:
        path = tmp_path / name
        path.write_bytes(content)
        log = assert_valid(path)
        assert len(log["runs"]) <= 4
        ids = [run["automationDetails"]["id"] for run in log["runs"]]
        assert len(set(ids)) == len(ids)  # GitHub rejects two runs with one category in one upload
    total = sum(len(run["results"]) for _, c in output.files for run in json.loads(c)["runs"])
    assert total == 600

    small = GitHubLimits(results_per_run=25_000, runs_per_file=20, gzipped_bytes_per_file=6_000)
    output = build_sarif(doc, limits=small)
    assert "gzipped" in output.split_reason
    total = 0
    for _, content in output.files:
        total += sum(len(run["results"]) for run in json.loads(content)["runs"])
        assert len(gzip.compress(content)) <= 6_000 or len(json.loads(content)["runs"][0]["results"]) == 1
    assert total == 600


def test_one_check_past_the_limit_is_cut_into_parts():
    doc = large_document(120, accounts=1, fail_ratio=1)
    doc["results"] = [r for r in doc["results"] if r["region"] == "us-east-1" and r["check_id"] == "kms_key_rotation_enabled"]
    output = build_sarif(doc, limits=GitHubLimits(results_per_run=10))
    runs = [run for _, content in output.files for run in json.loads(content)["runs"]]
    assert all(len(run["results"]) <= 10 for run in runs)
    assert sum(len(run["results"]) for run in runs) == len(doc["results"])
    assert len({run["automationDetails"]["id"] for run in runs}) == len(runs)


def test_stale_parts_of_an_earlier_split_are_removed(tmp_path):
    for name in ("results-007.sarif", "unrelated.sarif", "results-with-pass-002.sarif"):
        (tmp_path / name).write_text("{}")
    write_sarif_files(sample_document(), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results-with-pass-002.sarif", "results.sarif", "unrelated.sarif"]

