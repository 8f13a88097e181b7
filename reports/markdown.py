"""The ``markdown`` format: ``summary.md``, a short summary for CI job summaries (e.g. ``$GITHUB_STEP_SUMMARY``)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from scanner import hookimpl
from scanner.reporting import ReportFormat, write_private_file

from reports.overview import (
    SEVERITIES, build_overview, compliance_of, displayable, ordered_statuses, ou_groups, ou_names, percent,
    result_sort_key, text,
)

FILE_NAME = "summary.md"
TOP_CHECKS = 10
LISTED_ACCOUNTS = 20
LISTED_DELTA = 20
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
    lines += delta_lines(document)
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

    lines += suppression_lines(document)

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


def suppression_lines(document: Mapping[str, Any]) -> list[str]:
    """The accepted-risk count (and expired / unused entries) when a suppression file was applied, else nothing."""
    applied = document.get("suppressions")
    if not isinstance(applied, Mapping):
        return []
    fails = sum(1 for result in document["results"] if result["status"] == "FAIL")
    suppressed = sum(1 for result in document["results"] if isinstance(result.get("suppression"), Mapping))
    lines = ["", f"**Accepted risks: {suppressed} of {fails} FAIL result(s) are suppressed** "
                 f"(suppression file {escape(applied.get('source'))}; they do not count toward the exit code)."]
    for key, label in (("expired", "expired (no longer applied: their findings count again)"), ("unused", "matched nothing")):
        entries = applied.get(key) or []
        if entries:
            names = ", ".join(escape(entry.get("id") or f"suppression[{entry.get('index')}]") for entry in entries)
            lines += ["", f"{len(entries)} suppression entr{'y' if len(entries) == 1 else 'ies'} {label}: {names}."]
    return lines


def delta_lines(document: Mapping[str, Any]) -> list[str]:
    """The "Since the last scan" block that leads the summary when the document was compared with a baseline."""
    baseline = document.get("baseline")
    if not isinstance(baseline, Mapping):
        return []
    results = sorted(document["results"], key=result_sort_key)
    new = [r for r in results if r.get("change") == "new" and r["status"] == "FAIL"]
    changed = [r for r in results if r.get("change") == "changed"]
    fixed = sorted(document.get("fixed") or [], key=result_sort_key)
    lines = [
        "### Since the last scan",
        "",
        f"Compared with scan {escape(baseline.get('scan_id'))} of {escape(baseline.get('started_at'))}: "
        f"**{len(new)} new FAIL**, **{len(fixed)} fixed**, {len(changed)} changed.",
        "",
    ]

    def table(title: str, rows: list[Mapping[str, Any]], status: Any) -> None:
        if not rows:
            return
        nonlocal lines
        lines += [f"| {title} | Severity | Account | Region | Check | Resource |", "| --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {escape(status(r))} | {escape(r['severity'])} | {escape(r['account_id'])} | {escape(r['region'])} | "
                  f"{escape(r['check_id'])} | {escape(r['resource_id'])} |" for r in rows[:LISTED_DELTA]]
        if len(rows) > LISTED_DELTA:
            lines.append(f"\n…and {len(rows) - LISTED_DELTA} more (see report.html or results.json).")
        lines.append("")

    table("New", new, lambda r: r["status"])
    table("Fixed", fixed, lambda r: "passes now" if r.get("fixed_reason") == "passes" else "resource gone")
    table("Changed", changed, lambda r: f"{(r.get('previous') or {}).get('status', '')} → {r['status']}")
    return lines


def write_markdown(document: Mapping[str, Any], output_dir: Path) -> list[Path]:
    """Write ``summary.md`` into ``output_dir`` (atomically, owner-only)."""
    return [write_private_file(Path(output_dir) / FILE_NAME, render_markdown(document).encode("utf-8"))]


@hookimpl
def orgscan_register_report_formats() -> list[ReportFormat]:
    return [ReportFormat("markdown", "summary.md, a short Markdown summary for CI job summaries", write_markdown)]
