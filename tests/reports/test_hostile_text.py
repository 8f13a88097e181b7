"""Issue 15, finding 6: strings from AWS never become links in Markdown, and bidi controls never reach a report unseen.

Account names, resource ids, messages and evidence come from member accounts an
attacker may control. Two things reach a reader today and must not:

* GitHub Flavored Markdown's autolink extension (https://github.github.com/gfm/#autolinks-extension-)
  turns a bare ``www.`` host, an ``http(s)://``/``ftp://`` URL and an email address
  (also ``mailto:``/``xmpp:``) into a link without any markup: summary.md is rendered
  here by cmark-gfm, GitHub's own parser (``cmarkgfm``), and must hold no link;
* Unicode bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E/U+200F, U+061C)
  reorder what a reader sees (CVE-2021-42574, "Trojan Source"): every text report shows
  them as ``<U+XXXX>`` instead.

What already held (HTML autoescaping, JSON inside ``<script>``, the CSP, CSV formula
prefixing, SARIF and ASFF validity) is asserted again here with the same hostile data.
"""
from __future__ import annotations

import csv
import io
import json
import re

import botocore.session
import cmarkgfm
import pytest
from botocore.validate import ParamValidator
from cmarkgfm.cmark import Options
from jsonschema import Draft4Validator
from tests.sarif_schema import load_schema

from report_documents import XSS_SCRIPT, sample_document
from reports import asff, csv_report, html, markdown, sarif

# The explicit directional formatting characters and implicit marks of the Unicode Bidirectional Algorithm
# (UAX #9, https://www.unicode.org/reports/tr9/#Directional_Formatting_Characters): embeddings and overrides
# U+202A-U+202E, isolates U+2066-U+2069, marks U+200E, U+200F and U+061C.
BIDI_CONTROLS = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)]

AUTOLINKING_NAMES = [
    "www.evil.example",
    "see www.evil.example/login?x=1 now",
    "(www.evil.example)",
    "*www.evil.example*",
    "https://evil.example/phish",
    "HTTP://EVIL.EXAMPLE",
    "ftp://files.evil.example/x",
    "jane.doe@example.com",
    "ops+alerts@sub.example.co.uk",
    "mailto:jane@example.com",
    "xmpp:jane@example.com/home",
    "a_b-c.d@x-y.example",
    "http://www.evil.example@jane.example",
]


def _hostile_document(name: str) -> dict:
    doc = sample_document()
    doc["scan"]["accounts"][2]["name"] = name  # an errored account: listed in the summary with its name and error
    doc["scan"]["accounts"][2]["error"] = f"could not assume role: {name}"
    return doc


def _gfm_html(markdown_text: str) -> str:
    """summary.md as GitHub's renderer (cmark-gfm with the table, autolink, tagfilter and strikethrough extensions) makes it."""
    return cmarkgfm.github_flavored_markdown_to_html(markdown_text, options=Options.CMARK_OPT_UNSAFE)


def _visible_text(rendered: str) -> str:
    without_tags = re.sub(r"<!--.*?-->|<[^>]+>", "", rendered)
    return without_tags.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")


@pytest.mark.parametrize("name", AUTOLINKING_NAMES)
def test_markdown_never_turns_an_aws_string_into_a_link(name):
    summary = markdown.render_markdown(_hostile_document(name))

    rendered = _gfm_html(summary)

    assert "<a " not in rendered, [line for line in rendered.splitlines() if "<a " in line]
    # ...and the reader still sees the name exactly as AWS holds it.
    assert name in _visible_text(rendered)


def test_the_documented_autolinks_do_link_without_escaping():
    # The renderer used above really autolinks these (so the test above proves the escaping, not a lenient parser).
    for name in AUTOLINKING_NAMES:
        assert "<a " in _gfm_html(f"| {name} |\n| --- |\n| {name} |\n"), name


def _bidi_document() -> dict:
    doc = sample_document()
    controls = "".join(BIDI_CONTROLS)
    doc["scan"]["accounts"][1]["name"] = f"prod\u202egnp.exe{controls}"
    doc["scan"]["accounts"][2]["error"] = f"denied\u2066 by {controls}"
    failing = next(r for r in doc["results"] if r["status"] == "FAIL")
    failing["resource_id"] = f"key\u202e1-evil{controls}"
    failing["message"] = f"rotation\u2067 is off {controls}"
    failing["evidence"] = {f"note\u202d{controls}": f"value\u200f{controls}"}
    return doc


def _outputs(doc: dict) -> dict[str, str]:
    return {
        "markdown": markdown.render_markdown(doc),
        "html": html.render_html(doc),
        "csv": csv_report.render_csv(doc).decode("utf-8-sig"),
        "sarif": "\n".join(content.decode("utf-8") if isinstance(content, bytes) else content
                           for _name, content in sarif.build_sarif(doc, include_pass=True).files),
        "asff": json.dumps(asff.build_findings(doc), ensure_ascii=False),
    }


@pytest.mark.parametrize("fmt", ["markdown", "html", "csv", "sarif", "asff"])
def test_bidi_controls_never_reach_a_text_report_unseen(fmt):
    output = _outputs(_bidi_document())[fmt]

    present = sorted({f"U+{ord(c):04X}" for c in output if c in BIDI_CONTROLS})
    assert not present, f"{fmt} carries bidi controls {present}"
    shown = output.replace("\\u003c", "<").replace("\\u003e", ">").replace("&lt;", "<").replace("&gt;", ">")
    assert "<U+202E>" in shown, f"{fmt} hides the override instead of showing it"


def test_csv_shows_bidi_controls_by_name_and_still_prefixes_formulas():
    doc = _bidi_document()
    doc["scan"]["accounts"][1]["name"] = "\u202e=HYPERLINK(\"http://evil.example\")"
    rows = list(csv.DictReader(io.StringIO(csv_report.render_csv(doc).decode("utf-8-sig"))))
    names = {row["account_name"] for row in rows if row["account_id"] == "222222222222"}
    # The name starts with the visible marker, not with "=": no spreadsheet reads it as a formula either way.
    assert names == {'<U+202E>=HYPERLINK("http://evil.example")'}
    doc["scan"]["accounts"][1]["name"] = "=HYPERLINK(\"http://evil.example\")"
    rows = list(csv.DictReader(io.StringIO(csv_report.render_csv(doc).decode("utf-8-sig"))))
    assert {row["account_name"] for row in rows if row["account_id"] == "222222222222"} == {"'=HYPERLINK(\"http://evil.example\")"}


def test_sarif_and_asff_stay_valid_with_hostile_text():
    doc = _bidi_document()
    doc["scan"]["accounts"][1]["name"] = XSS_SCRIPT + "\x00\x1b[31m" + "www.evil.example"
    validator = Draft4Validator(load_schema())
    for _name, content in sarif.build_sarif(doc, include_pass=True).files:
        log = json.loads(content)
        errors = [e.message for e in validator.iter_errors(log)]
        assert not errors, errors[:3]
    findings = asff.build_findings(doc)
    shape = botocore.session.get_session().get_service_model("securityhub").operation_model("BatchImportFindings").input_shape
    report = ParamValidator().validate({"Findings": findings}, shape)
    assert not report.has_errors(), report.generate_report()


def test_html_keeps_escaping_hostile_names_and_its_script_data_inert():
    doc = _hostile_document(f"{XSS_SCRIPT} www.evil.example")
    page = html.render_html(doc)
    assert XSS_SCRIPT not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    data = re.search(r'<script type="application/json" id="orgscan-data">(.*?)</script>', page, re.S)
    assert data is not None and "</script" not in data.group(1).lower() and "<!--" not in data.group(1)
    assert re.search(r"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'", page)
