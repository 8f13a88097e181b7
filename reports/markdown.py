"""The ``markdown`` format: ``summary.md``, a short summary for CI job summaries (e.g. ``$GITHUB_STEP_SUMMARY``)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from scanner import hookimpl
from scanner.reporting import ReportFormat, write_private_file

from reports.overview import (
    SEVERITIES, build_overview, check_document, compliance_of, displayable, ordered_statuses, ou_groups, ou_names, percent,
    text,
)

FILE_NAME = "summary.md"
TOP_CHECKS = 10
LISTED_ACCOUNTS = 20
LISTED_OUS = 20

# GitHub renders job summaries as Markdown with inline HTML: account names
# and error messages come from AWS and must not become markup or links. Values
# never start a line (they sit inside sentences and table cells), so only
# inline syntax needs escaping.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~:.])")
# GitHub Flavored Markdown's autolink extension
# (https://github.github.com/gfm/#autolinks-extension-) links a bare ``www.`` host, an
# ``http://``/``https://``/``ftp://`` URL and an email address (or ``mailto:``/``xmpp:``)
# without any markup. Backslash-escaping ``:`` and ``.`` splits the text, so that no
# ``www.`` or ``scheme://`` is left in one piece; cmark-gfm, GitHub's parser, still joins
# an escaped ``\@`` back into an email address, so an empty HTML comment follows every
# ``@`` (GitHub drops the comment, the text reads the same, nothing is linked).
_EMAIL_BREAK = "@<!-- -->"


def escape(value: Any) -> str:
    """``value`` as literal Markdown text on one line: HTML characters as entities, Markdown syntax and autolinks broken."""
    plain = " ".join(text(value).split())
    plain = plain.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", plain).replace("@", _EMAIL_BREAK)


def render_markdown(document: Mapping[str, Any]) -> str:
    """The summary: counts, pass rate, failures by severity, the worst checks, accounts not fully scanned."""
    from reports.sarif import build_sarif, fits_one_file

    check_document(document)
    document = displayable(document)
    overview = build_overview(document)
    scan = document.get("scan", {})
    scope = (f"organization {escape(scan.get('organization_id'))}" if scan.get("organization_id")
             else f"{len(overview.accounts)} account(s)")
    lines = [
        "## orgscan results",
        "",
        f"Scan {escape(scan.get('id'))} of {scope}, {len(scan.get('regions') or [])} region(s), "
        f"{len(overview.checks)} check(s); {escape(scan.get('started_at'))} to {escape(scan.get('finished_at'))}.",
        "",
    ]
    if scan.get("interrupted"):
        lines += ["**The scan was interrupted: results are incomplete** (`orgscan scan --resume DIR` finishes it).", ""]
    lines += [
        f"**Pass rate: {percent(overview.pass_rate)}** (PASS / (PASS + FAIL)) over {overview.total} result(s).",
        "",
        "| Status | Results |",
        "| --- | ---: |",
    ]
    lines += [f"| {status} | {count} |" for status, count in ordered_statuses(overview.status_counts)]
    lines += ["", "| Failed, by severity | Results |", "| --- | ---: |"]
    lines += [f"| {severity} | {overview.failed_by_severity.get(severity, 0)} |" for severity in SEVERITIES]

    failing = sorted((row for row in overview.checks if row.counts.get("FAIL")),
                     key=lambda row: (-row.counts["FAIL"], row.id))[:TOP_CHECKS]
    if failing:
        lines += ["", "### Checks with the most failures", "", "| Check | Severity | FAIL | PASS |", "| --- | --- | ---: | ---: |"]
        lines += [f"| {escape(row.id)}: {escape(row.title)} | {escape(row.severity)} | {row.counts['FAIL']} | "
                  f"{row.counts.get('PASS', 0)} |" for row in failing]

    for framework in compliance_of(document):
        controls = framework.get("controls") or []
        failing_controls = sum(1 for control in controls if control.get("status") == "FAIL")
        lines += ["", f"### Compliance: {escape(framework.get('name') or framework.get('framework'))}"
                      + (f" {escape(framework.get('version'))}" if framework.get("version")
                         and framework["version"] not in text(framework.get("name")) else ""), "",
                  f"{failing_controls} of {len(controls)} control(s) failing.", "",
                  "| Control | Status | FAIL | ERROR | PASS | Failing accounts |", "| --- | --- | ---: | ---: | ---: | ---: |"]
        lines += [f"| {escape(control.get('id'))}: {escape(control.get('title'))} | {escape(control.get('status'))} | "
                  f"{(control.get('counts') or {}).get('FAIL', 0)} | {(control.get('counts') or {}).get('ERROR', 0)} | "
                  f"{(control.get('counts') or {}).get('PASS', 0)} | {len(control.get('failing_accounts') or [])} |"
                  for control in controls]

    if overview.has_ou_paths:
        groups = sorted(ou_groups(overview.accounts), key=lambda g: (-g.counts.get("FAIL", 0), g.label))
        lines += ["", "### By organizational unit", "", "| OU | Accounts | FAIL | ERROR | PASS | Pass rate |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        lines += [f"| {escape(group.label)} | {len(group.accounts)} | {group.counts.get('FAIL', 0)} | "
                  f"{group.counts.get('ERROR', 0)} | {group.counts.get('PASS', 0)} | {percent(group.pass_rate)} |"
                  for group in groups[:LISTED_OUS]]
        if len(groups) > LISTED_OUS:
            lines.append(f"\n…and {len(groups) - LISTED_OUS} more OUs (see report.html or results.json).")

    unreached = overview.errored_accounts + overview.skipped_accounts
    if unreached:
        with_ou = overview.has_ou_paths
        lines += ["", "### Accounts not scanned", "", "| Account | " + ("OU | " if with_ou else "") + "Status | Reason |",
                  "| --- | " + ("--- | " if with_ou else "") + "--- | --- |"]
        lines += [f"| {escape(row.id)} {escape(row.name)} | " + (f"{escape(ou_names(row.ou_path) or 'unknown')} | " if with_ou else "")
                  + f"{escape(row.status)} | {escape(row.error)} |"
                  for row in unreached[:LISTED_ACCOUNTS]]
        if len(unreached) > LISTED_ACCOUNTS:
            lines.append(f"\n…and {len(unreached) - LISTED_ACCOUNTS} more (see report.html or results.json).")

    if overview.status_counts.get("ERROR"):
        lines += ["", f"{overview.status_counts['ERROR']} result(s) are ERROR: those targets were not judged; "
                      "see report.html or results.json for the reasons."]

    sarif = None if fits_one_file(document) else build_sarif(document)
    if sarif is not None and sarif.split:
        lines += ["", f"**SARIF is split into {len(sarif.files)} files** ({sarif.run_count} runs) because of GitHub code "
                      f"scanning's limits ({escape(sarif.split_reason)}). Upload every "
                      f"{escape(sarif.files[0][0])} … {escape(sarif.files[-1][0])}, each in its own upload."]
    return "\n".join(lines) + "\n"


def write_markdown(document: Mapping[str, Any], output_dir: Path) -> list[Path]:
    """Write ``summary.md`` into ``output_dir`` (atomically, owner-only)."""
    return [write_private_file(Path(output_dir) / FILE_NAME, render_markdown(document).encode("utf-8"))]


@hookimpl
def orgscan_register_report_formats() -> list[ReportFormat]:
    return [ReportFormat("markdown", "summary.md, a short Markdown summary for CI job summaries", write_markdown)]
