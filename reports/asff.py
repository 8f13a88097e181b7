"""The ``asff`` format: ``findings.asff.json``, AWS Security Finding Format findings for Security Hub.

One finding per FAIL, PASS and ERROR result (NOT_APPLICABLE says nothing about
a resource and is left out), as a JSON list ready for ``BatchImportFindings``
(``orgscan upload securityhub`` imports them into each finding's own account and
region). The shape of a finding is the host's (:mod:`scanner.integrations.asff`),
so the file and the upload agree; this writer picks the results, orders them and
makes bidi controls visible.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from scanner import hookimpl
from scanner.integrations.asff import COMPLIANCE_STATUS, build_finding
from scanner.reporting import ReportFormat, write_private_file

from reports.overview import check_catalogue, displayable, result_sort_key

FILE_NAME = "findings.asff.json"


def build_findings(document: Mapping[str, Any], statuses: tuple[str, ...] = ("FAIL", "PASS", "ERROR")) -> list[dict[str, Any]]:
    """ASFF findings for the document's results with one of ``statuses``, worst first."""
    document = displayable(document)
    catalogue = check_catalogue(document)
    return [
        build_finding(result, catalogue[result["check_id"]], document)
        for result in sorted(document["results"], key=result_sort_key)
        if result["status"] in statuses and result["status"] in COMPLIANCE_STATUS
    ]


def build_fixed_findings(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """ASFF findings for the baseline's FAILs whose resource is gone (``--baseline``): PASSED and ARCHIVED.

    As ``orgscan upload securityhub`` does for a finding whose resource is gone,
    the finding (same ``Id``: the fingerprint) is archived; its compliance is
    PASSED because the failure is fixed. A fixed finding that passes now is the
    current PASS result, already a PASSED finding with the same ``Id``.
    """
    document = displayable(document)
    catalogue = check_catalogue(document)
    findings = []
    for record in sorted(document.get("fixed") or [], key=result_sort_key):
        if record.get("fixed_reason") != "gone" or record["check_id"] not in catalogue:
            continue
        finding = build_finding(record, catalogue[record["check_id"]], document)
        finding["Compliance"]["Status"] = "PASSED"
        finding["RecordState"] = "ARCHIVED"
        finding["Severity"] = finding["FindingProviderFields"]["Severity"] = {
            "Label": "INFORMATIONAL", "Original": finding["Severity"]["Original"]}
        finding["ProductFields"]["orgscan/Status"] = "FIXED"
        findings.append(finding)
    return findings


def write_asff(document: Mapping[str, Any], output_dir: Path) -> list[Path]:
    """Write ``findings.asff.json`` into ``output_dir`` (atomically, owner-only)."""
    content = json.dumps(build_findings(document) + build_fixed_findings(document), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return [write_private_file(Path(output_dir) / FILE_NAME, content.encode("utf-8"))]


@hookimpl
def orgscan_register_report_formats() -> list[ReportFormat]:
    return [ReportFormat("asff", "findings.asff.json, AWS Security Finding Format for Security Hub", write_asff)]
