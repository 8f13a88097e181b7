"""OU views of a real `orgscan scan --org` (simulated organization, real AssumeRole): HTML grouping and filter, CSV, Markdown.

Which account sits in which OU is the scenario's own declaration (tests/scanner/test_scan.py HOST_SCENARIO:
``ou = "Workloads/Prod"``); the OU ids are those the simulated organization gave (ListRoots /
ListOrganizationalUnitsForParent, asked by the test itself).
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from report_browser import open_report, visible_rows
from scanner.simulator import Faults
from scanner.simulator.faults import edit_json_answer
from tests.scanner.test_scan import CLOSED, FAKE, HOST_SCENARIO, LOCKED, MANAGEMENT, NESTED, PROD, SANDBOX, org_unit_id

FORMATS = ("--format", "html,csv,markdown")
#: Accounts by the OU they sit in, from HOST_SCENARIO (no ``ou``: directly under the root).
DIRECTLY_IN = {"": {MANAGEMENT, CLOSED}, "Workloads": {PROD}, "Workloads/Prod": {NESTED}, "Sandbox": {SANDBOX, LOCKED}}


def scan(make_org, run_orgscan, tmp_path, faults=None):
    sim = make_org(HOST_SCENARIO, faults)
    code, document = run_orgscan("--org", *FAKE, "--regions", "us-east-1", *FORMATS)
    output = next(p for p in sorted(tmp_path.glob("orgscan-out-*")) if (p / "results.json").exists())
    root = sim.client("organizations").list_roots()["Roots"][0]["Id"]
    ids = {path: (org_unit_id(sim, path) if path else root) for path in DIRECTLY_IN}
    return document, output, ids


def github_html(markdown_text):
    """summary.md as GitHub renders a job summary (cmark-gfm with its extensions, raw HTML allowed)."""
    return cmarkgfm.github_flavored_markdown_to_html(markdown_text, options=Options.CMARK_OPT_UNSAFE)


def accounts_of(document):
    return {r["account_id"] for r in document["results"]}


def counts_of(document, account_ids):
    return Counter(r["status"] for r in document["results"] if r["account_id"] in account_ids)


@pytest.mark.browser
def test_html_groups_accounts_by_ou_and_every_view_filters_by_ou(make_org, run_orgscan, chromium_browser, tmp_path):
    document, output, ids = scan(make_org, run_orgscan, tmp_path)
    context, page, problems = open_report(chromium_browser, output / "report.html")
    try:
        groups = page.locator("#accounts details.ou-group")
        assert sorted(groups.evaluate_all("gs => gs.map(g => g.dataset.ou)")) == sorted(ids.values())
        sandbox = page.locator(f"#accounts details.ou-group[data-ou='{ids['Sandbox']}']")
        expected = counts_of(document, DIRECTLY_IN["Sandbox"])
        summary = sandbox.locator("summary").text_content()
        assert "Root/Sandbox" in summary and "2 account(s)" in summary
        assert f"{expected['FAIL']} FAIL" in summary and f"{expected['ERROR']} ERROR" in summary
        # Collapsible: a click on the OU's total folds its accounts away.
        assert sandbox.locator("tr[data-account]").first.is_visible()
        sandbox.locator("summary").click()
        assert sandbox.evaluate("d => d.open") is False
        assert not sandbox.locator("tr[data-account]").first.is_visible()

        # Workloads includes the OU under it (Workloads/Prod).
        under_workloads = DIRECTLY_IN["Workloads"] | DIRECTLY_IN["Workloads/Prod"]
        page.select_option("#filter-ou", value=ids["Workloads"])
        page.select_option("#filter-status", value="")
        assert visible_rows(page) == sum(1 for r in document["results"] if r["account_id"] in under_workloads)
        shown_accounts = page.locator("#findings-body tr.finding td:nth-child(3)").all_text_contents()
        assert {text.split(" ")[0] for text in shown_accounts} == under_workloads
        assert set(page.locator("#matrix tbody tr:not([hidden])").evaluate_all("rs => rs.map(r => r.dataset.account)")) == under_workloads
        assert set(page.locator("#accounts tr[data-account]:not([hidden])").evaluate_all("rs => rs.map(r => r.dataset.account)")) == under_workloads
        assert page.locator(f"#accounts details.ou-group[data-ou='{ids['Sandbox']}']").is_hidden()
        # The summary cards count that OU's results too.
        in_ou = counts_of(document, under_workloads)
        for status in ("FAIL", "ERROR", "PASS", "NOT_APPLICABLE"):
            assert page.locator(f"#summary [data-summary='{status}']").text_content() == str(in_ou[status]), status
        judged = in_ou["PASS"] + in_ou["FAIL"]
        assert page.locator("#summary [data-summary='rate']").text_content() == f"{in_ou['PASS'] * 100 / judged:.1f}%"
        for check_id in ("fake_vpc_count", "fake_account_alias_present"):
            expected = Counter(r["status"] for r in document["results"]
                               if r["account_id"] in under_workloads and r["check_id"] == check_id)
            row = page.locator(f"#checks tr[data-check='{check_id}']")
            for status in ("FAIL", "ERROR", "PASS", "NOT_APPLICABLE"):
                assert row.locator(f"td[data-count='{status}']").text_content() == str(expected[status]), (check_id, status)
        # Back to every OU: everything is shown again.
        page.select_option("#filter-ou", value="")
        assert visible_rows(page) == min(100, len(document["results"]))
        assert page.locator("#summary [data-summary='FAIL']").text_content() == str(counts_of(document, set(accounts_of(document)))["FAIL"])
        assert page.locator("#matrix tbody tr[hidden]").count() == 0
        assert problems == []
    finally:
        context.close()


def test_csv_and_markdown_carry_the_ou_path(make_org, run_orgscan, tmp_path):
    document, output, ids = scan(make_org, run_orgscan, tmp_path)

    rows = list(csv.DictReader(io.StringIO((output / "report.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == len(document["results"])
    for row in rows:
        place = next(path for path, members in DIRECTLY_IN.items() if row["account_id"] in members)
        names = ["Root", *place.split("/")] if place else ["Root"]
        assert row["ou_path"] == "/".join(names)
        units = place.split("/") if place else []
        chain = [ids[""]] + [ids["/".join(units[:depth])] for depth in range(1, len(units) + 1)]
        assert row["ou_path_ids"] == "/".join(chain)

    summary = (output / "summary.md").read_text(encoding="utf-8")
    assert "### By organizational unit" in summary
    sandbox = counts_of(document, DIRECTLY_IN["Sandbox"])
    assert f"| Root/Sandbox | 2 | {sandbox['FAIL']} | {sandbox['ERROR']} | {sandbox['PASS']} |" in summary
    # The account that could not be scanned is listed with its OU.
    assert any(line.startswith(f"| {LOCKED} locked | Root/Sandbox | error |") for line in summary.splitlines()), summary


@pytest.mark.browser
def test_a_hostile_ou_name_stays_text_in_every_view(make_org, run_orgscan, chromium_browser, tmp_path):
    hostile = "Prod</summary><img src=x onerror=window.__pwned=1>|*[x](https://evil.example)"

    def rename(call, answer):
        answer["OrganizationalUnit"]["Name"] = hostile
        return answer

    document, output, _ = scan(make_org, run_orgscan, tmp_path,
                               Faults(answer_edits={"organizations:DescribeOrganizationalUnit": edit_json_answer(rename)}))
    # Rendered as GitHub renders job summaries (cmark-gfm, raw HTML allowed): no element, no link comes from the name.
    rendered = github_html((output / "summary.md").read_text(encoding="utf-8"))
    assert "<img" not in rendered and "<a " not in rendered and "evil.example" in rendered
    rows = list(csv.DictReader(io.StringIO((output / "report.csv").read_text(encoding="utf-8-sig"))))
    assert any(hostile in row["ou_path"] for row in rows)
    context, page, problems = open_report(chromium_browser, output / "report.html", bypass_csp=True)
    try:
        assert hostile in page.locator("#accounts").text_content()
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert problems == []
    finally:
        context.close()
