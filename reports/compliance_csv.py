"""The ``compliance-csv`` format: ``compliance.csv``, one row per framework control, for auditors' spreadsheets."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Mapping

from scanner import hookimpl
from scanner.reporting import ReportFormat, write_private_file

from reports.csv_report import neutralise_cell
from reports.overview import compliance_of, displayable, text

FILE_NAME = "compliance.csv"

COLUMNS = (
    "framework", "framework_name", "framework_version", "control", "title", "status",
    "fail", "error", "pass", "not_applicable", "failing_account_count", "failing_accounts", "checks",
)


def render_compliance_csv(document: Mapping[str, Any]) -> bytes:
    """Every control of every framework in the document, in the frameworks' order, as UTF-8 CSV with a byte-order mark.

    ``failing_accounts`` and ``checks`` are lists joined by ``;`` (account and
    check ids never contain one).
    """
    document = displayable(document)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for framework in compliance_of(document):
        for control in framework.get("controls") or []:
            counts = control.get("counts") or {}
            accounts = [text(a) for a in control.get("failing_accounts") or []]
            row = {
                "framework": text(framework.get("framework")),
                "framework_name": text(framework.get("name")),
                "framework_version": text(framework.get("version")),
                "control": text(control.get("id")),
                "title": text(control.get("title")),
                "status": text(control.get("status")),
                "fail": str(counts.get("FAIL", 0)),
                "error": str(counts.get("ERROR", 0)),
                "pass": str(counts.get("PASS", 0)),
                "not_applicable": str(counts.get("NOT_APPLICABLE", 0)),
                "failing_account_count": str(len(accounts)),
                "failing_accounts": ";".join(accounts),
                "checks": ";".join(text(c) for c in control.get("checks") or []),
            }
            writer.writerow([neutralise_cell(row[column]) for column in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def write_compliance_csv(document: Mapping[str, Any], output_dir: Path) -> list[Path]:
    """Write ``compliance.csv`` into ``output_dir`` (atomically, owner-only)."""
    return [write_private_file(Path(output_dir) / FILE_NAME, render_compliance_csv(document))]


@hookimpl
def orgscan_register_report_formats() -> list[ReportFormat]:
    return [ReportFormat("compliance-csv", "compliance.csv, one row per framework control (status, counts, failing accounts)",
                         write_compliance_csv)]
