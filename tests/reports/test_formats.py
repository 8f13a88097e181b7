"""results.json, report.csv, summary.md and findings.asff.json, and how every format registers."""
from __future__ import annotations

import csv
import io
import json
import re
import stat

import botocore.session
import pytest
from botocore.validate import ParamValidator

from report_documents import XSS_IMG, XSS_SCRIPT, document, large_document, result, sample_document, TAGS_SENSITIVE
from reports import asff, csv_report, html, json_document, markdown, sarif
from reports.overview import build_overview

WRITERS = {
    "json": ("results.json",),
    "html": ("report.html",),
    "sarif": ("results.sarif",),
    "asff": ("findings.asff.json",),
    "csv": ("report.csv",),
    "markdown": ("summary.md",),
}
MODULES = {"json": json_document, "html": html, "sarif": sarif, "asff": asff, "csv": csv_report, "markdown": markdown}


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_each_format_registers_and_writes_owner_only_files(name, tmp_path):
    formats = {f.name: f for f in MODULES[name].orgscan_register_report_formats()}
    assert name in formats and formats[name].description
    paths = formats[name].write(sample_document(), tmp_path)
    assert [p.name for p in paths] == list(WRITERS[name])
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(WRITERS[name])  # no temporary files left


def test_entry_points_name_the_report_modules():
    from importlib.metadata import entry_points

    registered = {ep.name: ep.value for ep in entry_points(group="orgscan")}
    for name, module in MODULES.items():
        assert registered.get(name) == module.__name__


@pytest.mark.parametrize("break_it, place", [
    (lambda doc: doc.update(schema_version=2), r"schema_version 2 is not supported"),
    (lambda doc: doc["results"][3].pop("account_id"), r"results\[3\]: 'account_id' is a required property"),
    (lambda doc: doc["results"][0].update(status="BROKEN"), r"results\[0\]\.status: 'BROKEN' is not one of"),
], ids=["schema-version-2", "result-without-account", "unknown-status"])
def test_report_refuses_a_document_the_schema_refuses_before_any_writer_runs(tmp_path, capsys, break_it, place):
    """Writers trust their document: the one schema is checked where results.json is read."""
    from scanner.cli import main as orgscan

    doc = sample_document()
    break_it(doc)
    results = tmp_path / "results.json"
    results.write_text(json.dumps(doc), encoding="utf-8")
    output = tmp_path / "out"

    code = orgscan(["report", str(results), "--format", ",".join(sorted(WRITERS)), "--output-dir", str(output)])

    stderr = capsys.readouterr().err
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
    assert re.search(rf"^orgscan: error: {re.escape(str(results))}: .*{place}", stderr), stderr
    assert not output.exists() or not any(output.iterdir())


def test_json_is_deterministic_and_round_trips(tmp_path):
    doc = sample_document()
    first = json_document.render_document(doc)
    shuffled = json.loads(first)
    shuffled = {key: shuffled[key] for key in reversed(list(shuffled))}
    assert json_document.render_document(shuffled) == first
    assert json.loads(first) == doc


def test_csv_neutralises_formulas_and_keeps_every_result(tmp_path):
    doc = sample_document()
    doc["results"].append(result(TAGS_SENSITIVE, "FAIL", "111111111111", "us-east-1", "=HYPERLINK(\"http://x\")",
                                 "+cmd|' /C calc'!A0", {"v": "-2+3"}))
    doc["results"].append(result(TAGS_SENSITIVE, "FAIL", "111111111111", "us-east-1", "@SUM(A1)", "\t=1+1"))
    (path,) = csv_report.write_csv(doc, tmp_path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == len(doc["results"])
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    ids = {row["resource_id"] for row in rows}
    assert "'=HYPERLINK(\"http://x\")" in ids and "'@SUM(A1)" in ids
    assert rows[0]["status"] == "FAIL" and rows[0]["severity"] == "critical"  # worst first
    hostile = next(row for row in rows if row["resource_id"].startswith("i-0abc"))
    assert hostile["resource_id"] == f"i-0abc{XSS_IMG}"  # CSV is data: kept verbatim, only formulas are defused


def test_markdown_summary_is_short_and_inert():
    doc = sample_document()
    text = markdown.render_markdown(doc)
    assert text.startswith("## orgscan results")
    assert "**Pass rate: 50.0%**" in text
    assert "| FAIL | 3 |" in text and "| ERROR | 4 |" in text
    assert "| critical | 1 |" in text
    assert "333333333333 dev | error | could not assume role" in text
    assert "444444444444 closed | skipped | account is SUSPENDED" in text
    # account names come from AWS: no raw HTML and no table-breaking pipes
    doc["scan"]["accounts"][2]["name"] = f"dev | {XSS_SCRIPT} [x](javascript:alert(1))"
    text = markdown.render_markdown(doc)
    assert "<script>" not in text and "<img" not in text
    assert "dev \\| &lt;script&gt;" in text and "\\[x\\](javascript\\:alert(1))" in text
    assert len(text.splitlines()) < 60


def test_markdown_says_when_sarif_is_split(monkeypatch):
    doc = large_document(300, accounts=3, fail_ratio=1)
    assert "SARIF" not in markdown.render_markdown(doc)
    monkeypatch.setattr(sarif, "GITHUB_LIMITS", sarif.GitHubLimits(results_per_run=100, runs_per_file=2))
    text = markdown.render_markdown(doc)
    assert "**SARIF is split into 2 files** (3 runs)" in text
    assert "results-001\\.sarif … results-002\\.sarif" in text


def test_sarif_size_precheck_never_wrongly_promises_one_file(monkeypatch):
    doc = large_document(300, accounts=3, fail_ratio=1)
    for limits in (sarif.GitHubLimits(), sarif.GitHubLimits(results_per_run=100),
                   sarif.GitHubLimits(gzipped_bytes_per_file=20_000), sarif.GitHubLimits(gzipped_bytes_per_file=2_000_000)):
        if sarif.fits_one_file(doc, limits=limits):
            assert not sarif.build_sarif(doc, limits=limits).split
    assert sarif.fits_one_file(doc)


def test_overview_counts():
    overview = build_overview(sample_document())
    assert overview.status_counts == {"FAIL": 3, "PASS": 3, "ERROR": 4, "NOT_APPLICABLE": 1}
    assert overview.worst("222222222222", "kms_key_rotation_enabled") == "ERROR"
    assert overview.worst("111111111111", "kms_key_rotation_enabled") == "FAIL"
    assert overview.worst("444444444444", "kms_key_rotation_enabled") is None
    assert [row.id for row in overview.errored_accounts] == ["333333333333"]
    assert [row.id for row in overview.skipped_accounts] == ["444444444444"]


def test_asff_findings_match_the_security_hub_api():
    doc = sample_document()
    findings = asff.build_findings(doc)
    assert len(findings) == sum(1 for r in doc["results"] if r["status"] != "NOT_APPLICABLE")
    model = botocore.session.get_session().get_service_model("securityhub")
    shape = model.operation_model("BatchImportFindings").input_shape
    report = ParamValidator().validate({"Findings": findings}, shape)
    assert not report.has_errors(), report.generate_report()
    by_check = {}
    for finding in findings:
        by_check.setdefault((finding["GeneratorId"], finding["Compliance"]["Status"]), finding)
    failed = by_check[("kms_key_rotation_enabled", "FAILED")]
    assert failed["SchemaVersion"] == "2018-10-08"
    assert failed["ProductArn"] == "arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default"
    assert failed["AwsAccountId"] == "111111111111"
    assert failed["Severity"]["Label"] == "MEDIUM"
    assert failed["Resources"][0] == {
        "Type": "AwsKmsKey",
        "Id": "arn:aws:kms:us-east-1:111111111111:key/1234abcd-0000-0000-0000-000000000001",
        "Partition": "aws",
        "Region": "us-east-1",
        "Details": {"Other": {"orgscan/ResourceType": "AWS::KMS::Key"}},
    }
    assert failed["Remediation"]["Recommendation"]["Url"].startswith("https://docs.aws.amazon.com/kms/")
    assert failed["Compliance"]["RelatedRequirements"] == ["CIS AWS Foundations Benchmark v3.0.0 3.6"]
    assert "Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark v3.0.0" in failed["Types"]
    assert failed["CreatedAt"] == failed["UpdatedAt"] == "2026-11-28T21:05:00Z"
    passed = by_check[("kms_key_rotation_enabled", "PASSED")]
    assert passed["Severity"] == {"Label": "INFORMATIONAL", "Original": "medium"}
    assert by_check[("kms_key_rotation_enabled", "NOT_AVAILABLE")]["Severity"]["Label"] == "INFORMATIONAL"
    root = by_check[("iam_root_mfa_enabled", "FAILED")]
    # Security Hub is regional: account-wide results go to the scan's first region
    assert root["Resources"][0]["Region"] == "us-east-1" and root["Resources"][0]["Type"] == "AwsAccount"
    assert root["ProductArn"].startswith("arn:aws:securityhub:us-east-1:222222222222:")
    # the same result gives the same Id in every scan
    assert asff.build_findings(sample_document())[0]["Id"] == findings[0]["Id"]


def test_asff_partition_follows_the_region():
    doc = document([result(TAGS_SENSITIVE, "FAIL", "111111111111", "cn-north-1", "x")], regions=("cn-north-1",))
    (finding,) = asff.build_findings(doc)
    assert finding["ProductArn"].startswith("arn:aws-cn:securityhub:cn-north-1:")
    assert finding["Resources"][0]["Partition"] == "aws-cn"
    assert finding["Resources"][0]["Type"] == "Other"


def test_asff_file_is_a_list_for_batch_import(tmp_path):
    (path,) = asff.write_asff(sample_document(), tmp_path)
    findings = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(findings, list) and all(f["SchemaVersion"] == "2018-10-08" for f in findings)


def test_an_interrupted_scan_says_so():
    doc = sample_document()
    assert "interrupted" not in markdown.render_markdown(doc) and 'id="interrupted"' not in html.render_html(doc)
    doc["scan"]["interrupted"] = True
    assert "**The scan was interrupted: results are incomplete**" in markdown.render_markdown(doc)
    assert '<section id="interrupted"' in html.render_html(doc)


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_an_empty_scan_renders(name, tmp_path):
    empty = document([], accounts=[], regions=(), organization_id=None)
    (report_format,) = [f for f in MODULES[name].orgscan_register_report_formats() if f.name == name]
    paths = report_format.write(empty, tmp_path)
    assert paths and all(p.stat().st_size > 0 for p in paths)
