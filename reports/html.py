"""The ``html`` format: ``report.html``, one self-contained page for people.

The summary (counts, accounts, checks, the accounts x checks matrix, scan
metadata) is rendered by jinja2 with autoescaping. The findings table is
rendered in the browser, a page at a time, from the results embedded as JSON in
a ``<script type="application/json">`` element, so that 50,000 results stay
fast. No network is used: CSS and JavaScript are inline and a Content Security
Policy allows only those two blocks (by hash), so even a markup injection
could not run script or load anything.
"""
from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import jinja2
from markupsafe import Markup

from scanner import hookimpl
from scanner.reporting import ReportFormat, write_private_file

from reports.overview import (
    SEVERITIES,
    STATUSES,
    build_overview,
    check_catalogue,
    compliance_of,
    displayable,
    ordered_statuses,
    ou_choices,
    ou_groups,
    ou_memberships,
    ou_path_of,
    percent,
    result_sort_key,
    text,
)

FILE_NAME = "report.html"
#: A result's ``change`` against the baseline (scanner/baseline.py), in the order the filter lists them.
CHANGES = ("new", "changed", "unchanged")
#: Entries of each list of the "Since the last scan" section; the findings filter shows them all.
DELTA_LISTED = 100
TEMPLATES = Path(__file__).with_name("templates")

# Inside <script> the HTML parser ends the element at "</script" and treats
# "<!--" specially; U+2028/2029 end lines in older JavaScript parsers. JSON
# allows every character to be written as \\uXXXX, so these never appear raw.
_SCRIPT_DATA_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def script_safe_json(value: Any) -> str:
    """``value`` as compact JSON that can sit inside a ``<script>`` element without ending or changing it."""
    encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=False, allow_nan=False)
    for raw, escaped in _SCRIPT_DATA_ESCAPES.items():
        encoded = encoded.replace(raw, escaped)
    return encoded


def _csp_hash(content: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(content.encode("utf-8")).digest()).decode("ascii")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=1)
def _assets() -> tuple[str, str]:
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    script = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    if "</" in script or "</" in css:
        raise RuntimeError("report.js and report.css must not contain '</': it would end their element")
    return css, script


def findings_data(document: Mapping[str, Any]) -> dict[str, Any]:
    """The results in the compact shape report.js reads: repeated strings become indexes into shared lists."""
    catalogue = check_catalogue(document)
    check_ids = sorted(catalogue)
    check_index = {check_id: index for index, check_id in enumerate(check_ids)}
    account_names = {text(a.get("id")): text(a.get("name")) for a in document["scan"].get("accounts") or []}
    # Each account's OUs (ids, root first; ["unknown"] when not known) for the OU filter.
    account_ous = {text(a.get("id")): [unit["id"] for unit in ou_path_of(a.get("ou_path")) or []]
                   for a in document["scan"].get("accounts") or []}
    account_ids = sorted(set(account_names) | {r["account_id"] for r in document["results"]})
    account_index = {account_id: index for index, account_id in enumerate(account_ids)}
    regions = sorted({r["region"] for r in document["results"]})
    region_index = {region: index for index, region in enumerate(regions)}
    resource_types: dict[str, int] = {}
    severity_index = {severity: index for index, severity in enumerate(SEVERITIES)}
    status_index = {status: index for index, status in enumerate(STATUSES)}
    change_index = {change: index for index, change in enumerate(CHANGES)}

    rows = []
    for result in sorted(document["results"], key=result_sort_key):
        meta = catalogue[result["check_id"]]
        severity = text(result.get("severity")).lower() or meta["severity"]
        resource_type = text(result.get("resource_type")) or meta["resource_type"]
        rows.append([
            check_index[result["check_id"]],
            status_index[result["status"]],
            severity_index.get(severity, severity_index["informational"]),
            account_index[result["account_id"]],
            region_index[result["region"]],
            resource_types.setdefault(resource_type, len(resource_types)),
            text(result.get("resource_id")),
            result.get("resource_arn") or None,
            text(result.get("message")),
            result.get("evidence") or {},
            text(result.get("fingerprint")),
            _suppression_cell(result),
            change_index.get(text(result.get("change"))),
        ])
    return {
        "checks": [
            {key: catalogue[check_id][key] for key in ("id", "title", "rationale", "remediation", "references", "compliance")}
            for check_id in check_ids
        ],
        "accounts": [{"id": account_id, "name": account_names.get(account_id, ""), "ous": account_ous.get(account_id) or ["unknown"]}
                     for account_id in account_ids],
        "regions": regions,
        "statuses": list(STATUSES),
        "severities": list(SEVERITIES),
        "resourceTypes": list(resource_types),
        "changes": list(CHANGES),
        "rows": rows,
    }


def _suppression_cell(result: Mapping[str, Any]) -> list[str] | None:
    """[owner, expires, justification, entry] of an accepted risk, as report.js reads it; ``None`` for any other result."""
    suppression = result.get("suppression")
    if not isinstance(suppression, Mapping):
        return None
    entry = suppression.get("entry") if isinstance(suppression.get("entry"), Mapping) else {}
    label = f"suppression[{text(entry.get('index'))}]" + (f" (id {text(entry.get('id'))})" if entry.get("id") else "")
    return [text(suppression.get("owner")), text(suppression.get("expires")), text(suppression.get("justification")), label]


def suppression_view(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the "Accepted risks" section shows (count, expired and unused entries), or ``None`` without a suppression file."""
    applied = document.get("suppressions")
    if not isinstance(applied, Mapping):
        return None

    def entries(key: str) -> list[dict[str, str]]:
        return [{"name": text(e.get("id")) or f"suppression[{text(e.get('index'))}]", "owner": text(e.get("owner")),
                 "expires": text(e.get("expires")), "justification": text(e.get("justification"))}
                for e in applied.get(key) or [] if isinstance(e, Mapping)]

    return {
        "source": text(applied.get("source")),
        "evaluated_on": text(applied.get("evaluated_on")),
        "suppressed": sum(1 for r in document["results"] if isinstance(r.get("suppression"), Mapping)),
        "expired": entries("expired"),
        "unused": entries("unused"),
    }


def render_html(document: Mapping[str, Any]) -> str:
    """The whole report page."""
    document = displayable(document)
    overview = build_overview(document)
    scan = document["scan"]
    css, script = _assets()
    scope = (f"organization {scan['organization_id']}" if scan.get("organization_id")
             else ", ".join(row.id for row in overview.accounts) or "no account")

    def matrix_cell(account_id: str, check_id: str) -> dict[str, Any] | None:
        counts = overview.matrix.get((account_id, check_id))
        if not counts:
            return None
        status = overview.worst(account_id, check_id)
        label = {"FAIL": str(counts["FAIL"]), "ERROR": "!", "PASS": "\u2713", "NOT_APPLICABLE": "\u2013"}[status]
        title = ", ".join(f"{count} {name}" for name, count in ordered_statuses(counts) if count)
        return {"status": status, "label": label, "title": title}

    template = _environment().get_template("report.html.j2")
    delta = since_last_scan(document)
    return template.render(
        scope=scope,
        interrupted=bool(scan.get("interrupted")),
        scan={key: text(scan.get(key)) for key in ("id", "mode", "organization_id", "started_at", "finished_at")},
        regions=[text(region) for region in scan.get("regions") or []],
        tool_name=text(document.get("tool", {}).get("name")) or "orgscan",
        tool_version=text(document.get("tool", {}).get("version")),
        pass_rate=percent(overview.pass_rate),
        total=overview.total,
        status_counts=ordered_statuses(overview.status_counts),
        failed_by_severity=[(severity, overview.failed_by_severity.get(severity, 0)) for severity in SEVERITIES],
        accounts=overview.accounts,
        ou_groups=ou_groups(overview.accounts) if overview.has_ou_paths else [],
        ou_choices=ou_choices(overview.accounts) if overview.has_ou_paths else [],
        ou_memberships=lambda row: " ".join(ou_memberships(row)),
        scanned_count=sum(1 for row in overview.accounts if row.status == "scanned"),
        errored=overview.errored_accounts,
        skipped=overview.skipped_accounts,
        checks=overview.checks,
        compliance=compliance_of(document),
        matrix_cell=matrix_cell,
        percent=percent,
        css=Markup(css),
        script=Markup(script),
        style_hash=_csp_hash(css),
        script_hash=_csp_hash(script),
        data_json=Markup(script_safe_json(findings_data(document))),
        suppressions=suppression_view(document),
        delta=delta,
    )


def since_last_scan(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the "Since the last scan" section shows (``None`` without a baseline): counts and the first rows of each list.

    "New" lists new FAIL and ERROR results (a new PASS is no news); "changed" shows each
    result's earlier status, severity and message next to today's.
    """
    baseline = document.get("baseline")
    if not isinstance(baseline, Mapping):
        return None
    results = sorted(document["results"], key=result_sort_key)
    new = [r for r in results if r.get("change") == "new" and r["status"] in ("FAIL", "ERROR")]
    changed = [r for r in results if r.get("change") == "changed"]
    fixed = sorted(document.get("fixed") or [], key=result_sort_key)

    def row(result: Mapping[str, Any]) -> dict[str, str]:
        previous = result.get("previous") or {}
        return {key: text(result.get(key)) for key in (
            "check_id", "status", "severity", "account_id", "region", "resource_id", "message", "fixed_reason")} | {
            "previous_status": text(previous.get("status")), "previous_severity": text(previous.get("severity")),
            "previous_message": text(previous.get("message"))}

    return {
        "scan_id": text(baseline.get("scan_id")),
        "started_at": text(baseline.get("started_at")),
        "new_count": len(new),
        "new_results": sum(1 for r in results if r.get("change") == "new"),
        "fixed_count": len(fixed),
        "changed_count": len(changed),
        "new": [row(r) for r in new[:DELTA_LISTED]],
        "fixed": [row(r) for r in fixed[:DELTA_LISTED]],
        "changed": [row(r) for r in changed[:DELTA_LISTED]],
        "listed": DELTA_LISTED,
    }


def write_html(document: Mapping[str, Any], output_dir: Path) -> list[Path]:
    """Write ``report.html`` into ``output_dir`` (atomically, owner-only)."""
    return [write_private_file(Path(output_dir) / FILE_NAME, render_html(document).encode("utf-8"))]


@hookimpl
def orgscan_register_report_formats() -> list[ReportFormat]:
    return [ReportFormat("html", "report.html, a self-contained page with summary, matrix and filterable findings",
                         write_html)]
