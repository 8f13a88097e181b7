"""The per-control compliance summary of a real `orgscan scan --org` of the default demo organization, and its views.

Expected values come from outside the code under test:

* which checks implement which control: the framework files, read here with ``tomllib``;
* which verdicts the organization must produce: the scenario's documented verdict rows
  (``tests/simulator/test_scenario.py`` DEFAULT_SCENARIO_ROWS, each following an AWS page) and its
  header (one account whose role cannot be assumed: ERROR for every check; one suspended: no result);
* the exact counts: tallied here from the results of each control's checks.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from report_browser import open_report
from tests.simulator.test_scenario import DEFAULT_SCENARIO_ROWS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FRAMEWORK_DIR = Path(__file__).resolve().parents[2] / "checks" / "frameworks"
UNREACHABLE, SUSPENDED = "666666666666", "777777777777"

_SCAN: dict[str, object] = {}


@pytest.fixture
def scanned(request):
    """(document, output directory) of one scan of the default organization, made once for this module."""
    if not _SCAN:
        request.getfixturevalue("simulated_org")
        output = request.getfixturevalue("tmp_path_factory").mktemp("compliance-scan")
        from scanner.cli import main

        main(["scan", "--org", "--regions", "us-east-1,eu-west-1", "--format", "html,compliance-csv,markdown",
              "--output-dir", str(output), "--quiet"])
        _SCAN.update(document=json.loads((output / "results.json").read_text(encoding="utf-8")), output=output)
    return _SCAN["document"], _SCAN["output"]


def framework_files():
    """{framework id: raw framework file}, read independently of orgscan's loader."""
    return {raw["framework"]["id"]: raw for raw in (tomllib.loads(p.read_text(encoding="utf-8"))
                                                    for p in sorted(FRAMEWORK_DIR.glob("*.toml")))}


def expected_control(results, checks):
    counts = Counter(r["status"] for r in results if r["check_id"] in checks)
    failing = sorted({r["account_id"] for r in results if r["check_id"] in checks and r["status"] == "FAIL"})
    status = next((s for s in ("FAIL", "ERROR", "PASS", "NOT_APPLICABLE") if counts[s]), "NO_RESULTS")
    return {"status": status, "counts": {s: counts[s] for s in ("PASS", "FAIL", "ERROR", "NOT_APPLICABLE")},
            "failing_accounts": failing}


def test_the_compliance_summary_is_exact_on_the_default_organization(scanned):
    document, _ = scanned
    results = document["results"]
    summary = {f["framework"]: f for f in document["summary"]["compliance"]}
    files = framework_files()
    assert set(summary) == set(files)
    for framework_id, raw in files.items():
        controls = {c["id"]: c for c in summary[framework_id]["controls"]}
        assert list(controls) == [c["id"] for c in raw["controls"]]
        for control in raw["controls"]:
            got = controls[control["id"]]
            assert {k: got[k] for k in ("status", "counts", "failing_accounts")} == expected_control(results, control["checks"]), \
                (framework_id, control["id"])
            # The account whose role cannot be assumed is ERROR for every check; the suspended one has no result.
            assert got["counts"]["ERROR"] >= 1, (framework_id, control["id"])
            assert SUSPENDED not in got["failing_accounts"] and UNREACHABLE not in got["failing_accounts"]

    # Every documented verdict row lands in every control its check implements.
    for check_id, account_id, _region, status, _text in DEFAULT_SCENARIO_ROWS:
        for framework_id, raw in files.items():
            for control in raw["controls"]:
                if check_id not in control["checks"]:
                    continue
                got = {c["id"]: c for c in summary[framework_id]["controls"]}[control["id"]]
                assert got["counts"][status] >= 1, (framework_id, control["id"], check_id, account_id, status)
                if status == "FAIL":
                    assert got["status"] == "FAIL" and account_id in got["failing_accounts"], (framework_id, control["id"], account_id)


def test_compliance_csv_and_markdown_match_the_summary(scanned):
    document, output = scanned
    rows = list(csv.DictReader(io.StringIO((output / "compliance.csv").read_text(encoding="utf-8-sig"))))
    controls = [(f, c) for f in document["summary"]["compliance"] for c in f["controls"]]
    assert [(r["framework"], r["control"]) for r in rows] == [(f["framework"], c["id"]) for f, c in controls]
    for row, (_, control) in zip(rows, controls):
        assert (row["status"], int(row["fail"]), int(row["error"]), int(row["pass"]), int(row["not_applicable"])) == (
            control["status"], control["counts"]["FAIL"], control["counts"]["ERROR"], control["counts"]["PASS"],
            control["counts"]["NOT_APPLICABLE"])
        assert (row["failing_accounts"].split(";") if row["failing_accounts"] else []) == control["failing_accounts"]
        assert int(row["failing_account_count"]) == len(control["failing_accounts"])

    summary = (output / "summary.md").read_text(encoding="utf-8")
    assert "### Compliance: CIS AWS Foundations Benchmark v3\\.0\\.0\n" in summary
    cis = next(f for f in document["summary"]["compliance"] if f["framework"] == "cis-aws-foundations-3.0.0")
    root_mfa = next(c for c in cis["controls"] if c["id"] == "1.5")
    assert (f"| 1\\.5: Ensure MFA is enabled for the 'root' user account | {root_mfa['status']} | {root_mfa['counts']['FAIL']} | "
            f"{root_mfa['counts']['ERROR']} | {root_mfa['counts']['PASS']} | {len(root_mfa['failing_accounts'])} |") in summary


@pytest.mark.browser
def test_the_html_compliance_section_follows_the_ou_filter(scanned, chromium_browser, simulated_org):
    document, output = scanned
    context, page, problems = open_report(chromium_browser, output / "report.html")
    try:
        table = page.locator("#compliance table[data-framework='aws-fsbp']")
        kms5 = table.locator("tr[data-control='KMS.5']")
        fsbp = next(f for f in document["summary"]["compliance"] if f["framework"] == "aws-fsbp")
        expected = next(c for c in fsbp["controls"] if c["id"] == "KMS.5")
        assert kms5.locator("td[data-count='status']").text_content() == expected["status"]
        assert kms5.locator("td[data-count='accounts']").text_content() == ", ".join(expected["failing_accounts"])

        # The scenario puts payments-prod (333333333333), analytics-prod and data-platform in Workloads/Prod.
        accounts = {a["id"]: a for a in document["scan"]["accounts"]}
        prod_ou = accounts["333333333333"]["ou_path"][-1]
        assert prod_ou["name"] == "Prod"
        in_prod = {a for a, entry in accounts.items() if entry["ou_path"] and prod_ou in entry["ou_path"]}
        assert {"333333333333", "444444444444", "888888888888"} <= in_prod
        page.select_option("#filter-ou", value=prod_ou["id"])
        narrowed = expected_control([r for r in document["results"] if r["account_id"] in in_prod], ["kms_key_policy_no_public_access"])
        assert kms5.locator("td[data-count='status']").text_content() == narrowed["status"]
        assert kms5.locator("td[data-count='FAIL']").text_content() == str(narrowed["counts"]["FAIL"])
        assert kms5.locator("td[data-count='PASS']").text_content() == str(narrowed["counts"]["PASS"])
        assert kms5.locator("td[data-count='accounts']").text_content() == ", ".join(narrowed["failing_accounts"])
        # 121212121212 fails KMS.5 (the scenario's rows) but is not in Prod: it is no longer listed.
        assert "121212121212" in expected["failing_accounts"] and "121212121212" not in narrowed["failing_accounts"]
        assert problems == []
    finally:
        context.close()
