"""Every format rendered from a real ``orgscan scan --org`` of the simulated organization (over HTTP, real AssumeRole)."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import botocore.session
import pytest
from botocore.validate import ParamValidator

from report_browser import open_report, visible_rows
from report_documents import XSS_IMG, XSS_SCRIPT
from test_sarif import assert_valid

FORMATS = "html,sarif,asff,csv,markdown"
# Values the default scenario plants for the sensitive-data checks; they are masked in evidence and must
# never reach a report.
PLANTED_SECRETS = ("Sup3rS3cret!", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "7f3c2a9e4b1d8f6a0c5e")

_SCAN: dict[str, object] = {}


@pytest.fixture
def scanned(request):
    """(exit code, document, output directory) of one organization scan, made once for this module."""
    if not _SCAN:
        request.getfixturevalue("simulated_org")
        tmp = request.getfixturevalue("tmp_path_factory").mktemp("real-scan")
        from scanner.cli import main

        code = main(["scan", "--org", "--format", FORMATS, "--output-dir", str(tmp)])
        _SCAN.update(code=code, document=json.loads((tmp / "results.json").read_text(encoding="utf-8")), output=tmp)
    return _SCAN["code"], _SCAN["document"], _SCAN["output"]


def test_every_report_of_a_real_scan(scanned):
    code, document, output = scanned
    assert code in (1, 3)  # the default organization has FAILs and an account whose role cannot be assumed
    names = sorted(p.name for p in Path(output).iterdir() if not p.name.startswith("."))
    assert {"results.json", "report.html", "results.sarif", "findings.asff.json", "report.csv", "summary.md"} <= set(names)

    sarif_log = assert_valid(Path(output) / "results.sarif")
    run = sarif_log["runs"][0]
    fails = [r for r in document["results"] if r["status"] == "FAIL"]
    assert len(run["results"]) == len(fails) > 0
    assert run["automationDetails"]["id"].startswith(f"orgscan/{document['scan']['organization_id']}/")
    assert run["invocations"][0]["executionSuccessful"] is False  # the unreachable account
    rule_ids = {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    assert {c["id"] for c in document["scan"]["checks"]} <= rule_ids

    findings = json.loads((Path(output) / "findings.asff.json").read_text(encoding="utf-8"))
    model = botocore.session.get_session().get_service_model("securityhub")
    shape = model.operation_model("BatchImportFindings").input_shape
    for start in range(0, len(findings), 100):
        report = ParamValidator().validate({"Findings": findings[start:start + 100]}, shape)
        assert not report.has_errors(), report.generate_report()
    assert len({f["Id"] for f in findings}) == len(findings)

    rows = list(csv.DictReader(io.StringIO((Path(output) / "report.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == len(document["results"])

    summary = (Path(output) / "summary.md").read_text(encoding="utf-8")
    assert f"| FAIL | {len(fails)} |" in summary

    for path in Path(output).iterdir():
        if path.is_file():
            content = path.read_text(encoding="utf-8", errors="replace")
            for secret in PLANTED_SECRETS:
                assert secret not in content, f"{secret!r} leaked into {path.name}"


@pytest.mark.browser
def test_html_of_a_real_scan_in_chromium(scanned, chromium_browser, tmp_path):
    _, document, output = scanned
    context, page, problems = open_report(chromium_browser, Path(output) / "report.html")
    try:
        assert visible_rows(page) == min(100, sum(1 for r in document["results"] if r["status"] != "PASS"))
        page.select_option("#filter-severity", label="critical")
        critical = sum(1 for r in document["results"] if r["status"] != "PASS" and r["severity"] == "critical")
        assert visible_rows(page) == min(100, critical)
        page.screenshot(path=str(tmp_path / "real-scan.png"), full_page=True)
        assert problems == []
    finally:
        context.close()


HOSTILE_SCENARIO = {
    "name": "hostile-values",
    "organization": {"management_account": "111111111111", "regions": ["us-east-1"]},
    "accounts": [{
        "id": "111111111111",
        # Organizations allows any printable ASCII in an account name.
        "name": f"ops {XSS_IMG}",
        "email": "ops@example.com",
        "s3_buckets": [{"name": "hostile-tags", "tags": {"Note": XSS_IMG, XSS_SCRIPT: "password=hunter2hunter2"}}],
    }],
}


@pytest.mark.browser
def test_hostile_tags_and_account_names_from_a_real_scan_stay_text(make_org, run_orgscan, chromium_browser, tmp_path):
    make_org(HOSTILE_SCENARIO)
    code, document = run_orgscan("--org", "--checks", "tags_no_sensitive_data", "--regions", "us-east-1",
                                 "--format", "html,markdown")
    assert code == 1 and document is not None
    output = tmp_path / "orgscan-out-1"
    flagged = next(r for r in document["results"] if r["status"] == "FAIL")
    assert XSS_SCRIPT in json.dumps(flagged["evidence"])  # the hostile tag key reaches the report's data
    assert "hunter2hunter2" not in (output / "report.html").read_text(encoding="utf-8")
    assert "<script>window" not in (output / "summary.md").read_text(encoding="utf-8")

    context, page, problems = open_report(chromium_browser, output / "report.html", bypass_csp=True)
    try:
        page.locator("#findings-body tr.finding").first.click()
        details = page.locator("#findings-body tr.details").text_content()
        assert XSS_SCRIPT in details
        assert XSS_IMG in page.locator("#accounts").text_content()
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)
        assert problems == []
    finally:
        context.close()
