"""The ``csv`` format: ``report.csv``, one row per result, for spreadsheets.

``ou_path`` holds the account's OU names root first joined by ``/``
(``Root/Workloads/Prod``); since an OU name may itself contain ``/``,
``ou_path_ids`` holds the same path as ids (``r-ab12/ou-ab12-11111111``),
which never do. Both are empty in account mode or when the path is unknown.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Mapping

from scanner import hookimpl
from scanner.reporting import ReportFormat, write_private_file

from reports.overview import check_catalogue, displayable, ou_ids, ou_names, ou_path_of, result_sort_key, text

FILE_NAME = "report.csv"

COLUMNS = (
    "status", "severity", "account_id", "account_name", "ou_path", "ou_path_ids", "region", "check_id", "title", "service",
    "resource_type", "resource_id", "resource_arn", "message", "evidence", "remediation", "fingerprint",
    "suppression",
)

# Spreadsheets evaluate a cell that starts with one of these as a formula
# (OWASP "CSV injection"); tab and carriage return can smuggle one in after
# leading whitespace is trimmed.
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: str) -> str:
    """``value`` made inert for spreadsheets: a leading formula character is preceded by an apostrophe."""
    if value.startswith(_FORMULA_TRIGGERS):
        return "'" + value
    return value


def render_csv(document: Mapping[str, Any]) -> bytes:
    """All results, worst first, as UTF-8 CSV with a byte-order mark (so Excel reads non-ASCII text correctly)."""
    document = displayable(document)
    catalogue = check_catalogue(document)
    account_names = {
        text(account.get("id")): text(account.get("name"))
        for account in document.get("scan", {}).get("accounts") or []
    }
    account_paths = {
        text(account.get("id")): ou_path_of(account.get("ou_path"))
        for account in document.get("scan", {}).get("accounts") or []
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for result in sorted(document["results"], key=result_sort_key):
        meta = catalogue.get(result["check_id"], {})
        row = {
            "status": result["status"],
            "severity": text(result.get("severity")) or meta.get("severity", ""),
            "account_id": result["account_id"],
            "account_name": account_names.get(result["account_id"], ""),
            "ou_path": ou_names(ou_path_of(result.get("ou_path")) or account_paths.get(result["account_id"])),
            "ou_path_ids": ou_ids(ou_path_of(result.get("ou_path")) or account_paths.get(result["account_id"])),
            "region": result["region"],
            "check_id": result["check_id"],
            "title": text(result.get("title")) or meta.get("title", ""),
            "service": text(result.get("service")) or meta.get("service", ""),
            "resource_type": text(result.get("resource_type")),
            "resource_id": text(result.get("resource_id")),
            "resource_arn": text(result.get("resource_arn")),
            "message": text(result.get("message")),
            "evidence": json.dumps(result.get("evidence") or {}, sort_keys=True, ensure_ascii=False, separators=(",", ":")),
            "remediation": meta.get("remediation", {}).get("text", "") if result["status"] == "FAIL" else "",
            "fingerprint": text(result.get("fingerprint")),
            "suppression": suppression_cell(result),
        }
        writer.writerow([neutralise_cell(row[column]) for column in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def suppression_cell(result: Mapping[str, Any]) -> str:
    """``accepted until 2027-03-31 by OWNER: JUSTIFICATION`` for an accepted risk, else empty."""
    suppression = result.get("suppression")
    if not isinstance(suppression, Mapping):
        return ""
    return (f"accepted until {text(suppression.get('expires'))} by {text(suppression.get('owner'))}: "
            f"{text(suppression.get('justification'))}")


def write_csv(document: Mapping[str, Any], output_dir: Path) -> list[Path]:
    """Write ``report.csv`` into ``output_dir`` (atomically, owner-only)."""
    return [write_private_file(Path(output_dir) / FILE_NAME, render_csv(document))]


@hookimpl
def orgscan_register_report_formats() -> list[ReportFormat]:
    return [ReportFormat("csv", "report.csv, one row per result for spreadsheets", write_csv)]
