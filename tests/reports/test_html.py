"""report.html: self-contained, escaped, fast; exercised in a real headless Chromium."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

import pytest

from report_documents import XSS_IMG, XSS_SCRIPT, large_document, sample_document
from report_browser import open_report, visible_rows, wait_until
from reports.html import render_html, script_safe_json, write_html



class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._inside: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._inside = tag
            (self.scripts if tag == "script" else self.styles).append("")

    def handle_endtag(self, tag):
        self._inside = None

    def handle_data(self, data):
        if self._inside == "script":
            self.scripts[-1] += data
        elif self._inside == "style":
            self.styles[-1] += data


def parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def test_script_safe_json_cannot_end_its_element():
    value = {"a": "</script><script>alert(1)</script>", "b": "<!-- x -->", "c": "\u2028&"}
    encoded = script_safe_json(value)
    assert "</" not in encoded and "<!--" not in encoded and "<" not in encoded and "\u2028" not in encoded
    assert json.loads(encoded) == value


def test_page_is_self_contained_and_escaped():
    page = render_html(sample_document())
    parsed = parse(page)
    tags = {tag for tag, _ in parsed.tags}
    assert "img" not in tags and "iframe" not in tags
    # exactly the two inline scripts of the template: the data and the code, neither loaded from anywhere
    assert [attrs for tag, attrs in parsed.tags if tag == "script"] == [{"type": "application/json", "id": "orgscan-data"}, {}]
    for tag, attrs in parsed.tags:
        for name, value in attrs.items():
            assert not (value or "").lower().startswith(("http:", "https:", "//", "javascript:")), (tag, name, value)
    links = [attrs for tag, attrs in parsed.tags if tag == "link"]
    assert links == [{"rel": "icon", "href": "data:,"}]
    # hostile account names are escaped by jinja2 in the summary tables
    assert "prod &#34;&gt;&lt;img src=x onerror=window.__pwned=1&gt;" in page
    assert XSS_IMG not in page and XSS_SCRIPT not in page
    data = json.loads(parsed.scripts[0])
    assert XSS_SCRIPT in json.dumps(data, ensure_ascii=False)


def test_content_security_policy_allows_only_the_inline_blocks():
    page = render_html(sample_document())
    parsed = parse(page)
    (policy,) = [attrs["content"] for tag, attrs in parsed.tags
                 if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy"]
    assert "default-src 'none'" in policy

    def digest(text: str) -> str:
        return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert f"script-src '{digest(parsed.scripts[1])}'" in policy
    assert f"style-src '{digest(parsed.styles[0])}'" in policy


def test_summary_shows_counts_accounts_checks_matrix_and_scan_metadata():
    page = render_html(sample_document())
    for expected in ("50.0%", "Accounts that could not be scanned", "could not assume role OrganizationAccountAccessRole",
                     "Accounts skipped", "account is SUSPENDED", "us-east-1, eu-west-1", "scan-20261128T210000Z-abc123",
                     '<td class="cell cell-FAIL" title="1 FAIL, 1 PASS">1</td>'):
        assert expected in page, expected
    rows = dict(re.findall(r'<tr data-account="(\d+)">(.*?)</tr>', page, re.S))
    columns = re.findall(r'<th class="check" data-check="([a-z_]+)"', page)
    cells = {account: re.findall(r'<td class="cell cell-([A-Za-z_]+)"', row) for account, row in rows.items()}
    kms = columns.index("kms_key_rotation_enabled")
    assert cells["111111111111"][kms] == "FAIL" and cells["222222222222"][kms] == "ERROR"
    assert cells["444444444444"] == ["none"] * len(columns)


def test_fifty_thousand_results_render_into_a_reasonable_file(tmp_path):
    # How fast is bench/'s business, not a test's: a loaded machine must not fail this.
    doc = large_document(50_000)
    (path,) = write_html(doc, tmp_path)
    assert path.stat().st_size < 15_000_000  # about 200 bytes a result


# --------------------------------------------------------------------------
# in a real browser
# --------------------------------------------------------------------------


@pytest.mark.browser
def test_report_in_chromium_loads_cleanly_filters_and_stays_inert(chromium_browser, tmp_path):
    doc = sample_document()
    (path,) = write_html(doc, tmp_path)
    context, page, problems = open_report(chromium_browser, path)
    try:
        assert page.evaluate("typeof window.__pwned") == "undefined"
        not_pass = sum(1 for r in doc["results"] if r["status"] != "PASS")
        assert visible_rows(page) == not_pass  # PASS hidden by default
        page.select_option("#filter-status", value="")
        assert visible_rows(page) == len(doc["results"])
        page.select_option("#filter-account", label="111111111111 (management)")
        assert visible_rows(page) == sum(1 for r in doc["results"] if r["account_id"] == "111111111111")
        page.click("#filter-reset")
        page.fill("#filter-text", "bucket-logs")
        wait_until(page, "document.getElementById('findings-count').textContent.startsWith('No result')")
        page.select_option("#filter-status", value="")
        assert visible_rows(page) == 1
        page.click("#filter-reset")
        column = page.evaluate("Array.from(document.querySelectorAll('.matrix th.check')).findIndex("
                               "th => th.dataset.check === 'kms_key_rotation_enabled')")
        page.locator(".matrix tr[data-account='111111111111'] td").nth(column).click()
        assert visible_rows(page) == 2  # that account's kms results, PASS included
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert (tmp_path / "report.png").stat().st_size > 10_000
        assert problems == []
    finally:
        context.close()


@pytest.mark.browser
def test_hostile_values_are_shown_as_text_even_without_the_csp(chromium_browser, tmp_path):
    (path,) = write_html(sample_document(), tmp_path)
    # Bypassing the Content Security Policy proves the escaping itself, not the policy, keeps scripts out.
    context, page, problems = open_report(chromium_browser, path, bypass_csp=True)
    try:
        page.fill("#filter-text", "i-0abc")
        wait_until(page, "document.querySelectorAll('#findings-body tr.finding').length === 1")
        row = page.locator("#findings-body tr.finding").first
        assert XSS_IMG in row.locator("td.resource").text_content()
        row.click()
        details = page.locator("#findings-body tr.details")
        assert XSS_SCRIPT in details.text_content() and XSS_IMG in details.text_content()
        page.select_option("#filter-status", value="")
        page.wait_for_timeout(200)
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        assert page.evaluate("document.scripts.length") == 2
        assert page.locator("#accounts").text_content().count(XSS_IMG) == 1
        assert problems == []
    finally:
        context.close()


@pytest.mark.browser
def test_fifty_thousand_results_stay_responsive(chromium_browser, tmp_path):
    # Responsive means paged and filtered in the page, not a stopwatch: a loaded machine must not fail this.
    (path,) = write_html(large_document(50_000), tmp_path)
    context, page, problems = open_report(chromium_browser, path)
    try:
        assert visible_rows(page) == 100  # a page at a time
        count = page.locator("#findings-count").text_content()
        assert re.search(r"of 16667 matching results \(50000 in total\)", count), count
        page.fill("#filter-text", "key-0049999")  # a PASS: hidden until all statuses are shown
        wait_until(page, "document.querySelectorAll('#findings-body tr.finding').length === 0")
        page.select_option("#filter-status", value="")
        assert visible_rows(page) == 1
        page.click("#filter-reset")
        page.click("#findings-table th[data-sort='account']")
        page.click("#page-next")
        assert "Page 2 of 167" == page.locator("#page-label").text_content()
        assert problems == []
    finally:
        context.close()


def test_template_files_are_package_data():
    # setup.cfg ships *.j2/*.css/*.js of packages only: the templates directory must stay a package.
    from importlib.resources import files

    names = {entry.name for entry in files("reports.templates").iterdir()}
    assert {"report.html.j2", "report.css", "report.js"} <= names
