"""Accepted risks in every report: SARIF suppressions (valid SARIF 2.1.0), ASFF workflow status and note,
the HTML filter (in headless Chromium), the CSV column and the Markdown count; then a real organization scan."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import botocore.session
import pytest
from botocore.validate import ParamValidator

from report_browser import open_report, visible_rows, wait_until
from report_documents import XSS_IMG, sample_document
from reports.asff import build_findings
from reports.csv_report import render_csv
from reports.html import write_html
from reports.markdown import render_markdown
from reports.sarif import write_sarif_files
from scanner.suppressions import apply_suppressions, parse_suppressions
from test_sarif import assert_valid

TODAY = date(2026, 11, 28)


def suppressed_document():
    """The sample organization with the root-MFA FAIL accepted (hostile justification), one expired and one unused entry."""
    entries = [
        {"id": "root-mfa-prod", "checks": ["iam_root_mfa_enabled"], "accounts": ["222222222222"],
         "justification": f"Root user is locked in a safe {XSS_IMG}", "owner": "ciso@example.com", "expires": "2027-02-01"},
        {"id": "old-rotation", "checks": ["kms_key_rotation_*"], "justification": "Legacy keys",
         "owner": "kms@example.com", "expires": "2026-01-01"},
        {"checks": ["nothing_*"], "justification": "Nothing", "owner": "nobody@example.com", "expires": "2027-01-01"},
    ]
    parsed = parse_suppressions({"suppression": entries}, "accepted.toml", today=TODAY)
    return apply_suppressions(sample_document(), parsed, TODAY)


def test_sarif_marks_accepted_risks_as_externally_suppressed(tmp_path):
    (path,) = write_sarif_files(suppressed_document(), tmp_path)
    log = assert_valid(path)
    results = log["runs"][0]["results"]
    accepted = [r for r in results if "suppressions" in r]
    assert [r["ruleId"] for r in accepted] == ["iam_root_mfa_enabled"]
    (suppression,) = accepted[0]["suppressions"]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert suppression["justification"] == f"Root user is locked in a safe {XSS_IMG}"
    assert suppression["properties"] == {"owner": "ciso@example.com", "expires": "2027-02-01", "entry": 0,
                                         "entry_id": "root-mfa-prod"}
    # The others stay unsuppressed, and a document without a suppression file has no suppressions at all.
    assert len(results) - len(accepted) == 2
    (plain,) = write_sarif_files(sample_document(), tmp_path / "plain")
    assert all("suppressions" not in r for r in json.loads(plain.read_bytes())["runs"][0]["results"])


def test_asff_suppressed_workflow_with_the_justification_in_a_note():
    findings = build_findings(suppressed_document())
    shape = botocore.session.get_session().get_service_model("securityhub").operation_model("BatchImportFindings").input_shape
    report = ParamValidator().validate({"Findings": findings}, shape)
    assert not report.has_errors(), report.generate_report()
    accepted = [f for f in findings if "Workflow" in f]
    assert [f["GeneratorId"] for f in accepted] == ["iam_root_mfa_enabled"]
    finding = accepted[0]
    assert finding["Workflow"] == {"Status": "SUPPRESSED"}
    assert finding["Compliance"]["Status"] == "FAILED"  # still a failed control, only accepted
    assert finding["Note"] == {
        "Text": f"Accepted risk until 2027-02-01 (owner ciso@example.com): Root user is locked in a safe {XSS_IMG}",
        "UpdatedBy": "ciso@example.com",
        "UpdatedAt": finding["UpdatedAt"],
    }
    assert all("Note" not in f for f in findings if f is not finding)


def test_asff_note_stays_within_security_hubs_limit():
    entries = [{"checks": ["*"], "justification": "x" * 1024, "owner": "o" * 256, "expires": "2027-01-01"}]
    document = apply_suppressions(sample_document(), parse_suppressions({"suppression": entries}, "f", today=TODAY), TODAY)
    notes = [f["Note"] for f in build_findings(document) if "Note" in f]
    assert notes and all(len(n["Text"]) <= 512 for n in notes)  # API reference, Note: Text at most 512 characters


def test_csv_column_and_markdown_count():
    document = suppressed_document()
    rows = list(csv.DictReader(io.StringIO(render_csv(document).decode("utf-8-sig"))))
    accepted = [row for row in rows if row["suppression"]]
    assert [row["check_id"] for row in accepted] == ["iam_root_mfa_enabled"]
    assert accepted[0]["suppression"].startswith("accepted until 2027-02-01 by ciso@example.com: Root user is locked")
    summary = render_markdown(document)
    assert "**Accepted risks: 1 of 3 FAIL result(s) are suppressed**" in summary
    assert "1 suppression entry expired (no longer applied: their findings count again): old-rotation." in summary
    assert "1 suppression entry matched nothing: suppression[2]" not in summary  # brackets are escaped
    assert "1 suppression entry matched nothing: suppression\\[2\\]." in summary
    assert "Accepted risks" not in render_markdown(sample_document())


@pytest.mark.browser
def test_html_hides_accepted_risks_behind_a_filter(chromium_browser, tmp_path):
    document = suppressed_document()
    (path,) = write_html(document, tmp_path)
    context, page, problems = open_report(chromium_browser, path)
    try:
        not_pass = sum(1 for r in document["results"] if r["status"] != "PASS")
        assert visible_rows(page) == not_pass - 1  # the accepted FAIL is hidden by default
        assert "1 accepted risk(s) hidden" in page.inner_text("#findings-count")
        assert page.inner_text("#accepted-count") == "1"
        section = page.inner_text("#accepted-risks")
        assert "old-rotation" in section and "kms@example.com" in section and "2026-01-01" in section
        assert "suppression[2]" in section and "nobody@example.com" in section
        page.select_option("#filter-suppressed", value="only")
        assert visible_rows(page) == 1
        status = page.inner_text("#findings-body tr.finding td:first-child")
        assert "accepted" in status and "ciso@example.com" in status and "until 2027-02-01" in status
        page.click("#findings-body tr.finding")
        details = page.inner_text("#findings-body tr.details")
        assert f"Root user is locked in a safe {XSS_IMG}" in details  # hostile text stays text
        assert "root-mfa-prod" in details
        assert page.evaluate("typeof window.__pwned") == "undefined"
        page.select_option("#filter-suppressed", value="show")
        assert visible_rows(page) == not_pass
        page.click("#filter-reset")
        assert visible_rows(page) == not_pass - 1
        assert problems == []
    finally:
        context.close()


def test_html_without_a_suppression_file_has_no_filter(tmp_path):
    (path,) = write_html(sample_document(), tmp_path)
    page = path.read_text(encoding="utf-8")
    assert 'id="filter-suppressed"' not in page and 'id="accepted-risks"' not in page


def test_every_report_of_a_real_scan_with_suppressions(simulated_org, tmp_path, chromium_browser):
    from scanner.cli import main
    from scanner.suppressions import today_utc

    accepted = tmp_path / "accepted.toml"
    accepted.write_text(f"""
[[suppression]]
id = "macie-everywhere"
checks = ["macie_enabled"]
justification = "Macie is rolled out next quarter (RISK-12)"
owner = "data-protection@example.com"
expires = {(today_utc() + timedelta(days=60)).isoformat()}
""", encoding="utf-8")
    output = tmp_path / "out"
    code = main(["scan", "--org", "--regions", "us-east-1,eu-west-1", "--checks", "macie_enabled,cloudtrail_multi_region_logging",
                 "--format", "html,sarif,asff,csv,markdown", "--suppressions", str(accepted), "--output-dir", str(output)])
    document = json.loads((output / "results.json").read_text(encoding="utf-8"))
    macie_fails = [r for r in document["results"] if r["check_id"] == "macie_enabled" and r["status"] == "FAIL"]
    assert macie_fails and all(r["suppression"]["entry"]["id"] == "macie-everywhere" for r in macie_fails)
    assert code == 1  # the cloudtrail FAILs are not accepted

    sarif_results = assert_valid(output / "results.sarif")["runs"][0]["results"]
    assert sum(1 for r in sarif_results if r.get("suppressions")) == len(macie_fails)
    findings = json.loads((output / "findings.asff.json").read_text(encoding="utf-8"))
    assert sum(1 for f in findings if f.get("Workflow", {}).get("Status") == "SUPPRESSED") == len(macie_fails)
    rows = list(csv.DictReader(io.StringIO((output / "report.csv").read_text(encoding="utf-8-sig"))))
    assert sum(1 for row in rows if row["suppression"]) == len(macie_fails)
    fails = sum(1 for r in document["results"] if r["status"] == "FAIL")
    assert f"**Accepted risks: {len(macie_fails)} of {fails} FAIL result(s) are suppressed**" in \
        (output / "summary.md").read_text(encoding="utf-8")
    context, page, problems = open_report(chromium_browser, output / "report.html")
    try:
        page.select_option("#filter-suppressed", value="only")
        assert visible_rows(page) == len(macie_fails)
        assert problems == []
    finally:
        context.close()
