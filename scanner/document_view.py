"""Read-only views of a result document that report writers and uploads share.

A document read from disk has been validated against the shipped schema
(:mod:`scanner.results_schema`); these views still read optional fields
defensively: checks contributed by a bridge (e.g. Prowler) may appear in
``results`` without full metadata in ``scan.checks``, and optional fields may
be missing or ``null``.
"""
from __future__ import annotations

from typing import Any, Mapping


def text(value: Any) -> str:
    """``value`` as a string; ``None`` becomes the empty string."""
    return "" if value is None else str(value)


def check_catalogue(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every check id seen in the document mapped to its metadata, complete with defaults.

    Checks known only from their results (bridged checks) take their title,
    severity and service from the first result that names them.
    """
    catalogue: dict[str, dict[str, Any]] = {}
    for entry in document.get("scan", {}).get("checks") or []:
        if isinstance(entry, Mapping) and entry.get("id"):
            catalogue[str(entry["id"])] = _complete_check(entry)
    for result in document.get("results") or []:
        check_id = result.get("check_id")
        if check_id and check_id not in catalogue:
            catalogue[check_id] = _complete_check(
                {
                    "id": check_id,
                    "title": result.get("title") or check_id,
                    "severity": result.get("severity") or "informational",
                    "service": result.get("service") or "",
                    "resource_type": result.get("resource_type") or "",
                }
            )
    return catalogue


def _complete_check(entry: Mapping[str, Any]) -> dict[str, Any]:
    remediation = entry.get("remediation") or {}
    if isinstance(remediation, str):
        remediation = {"text": remediation}
    return {
        "id": str(entry["id"]),
        "title": text(entry.get("title")) or str(entry["id"]),
        "severity": text(entry.get("severity")).lower() or "informational",
        "service": text(entry.get("service")),
        "resource_type": text(entry.get("resource_type")),
        "scope": text(entry.get("scope")),
        "rationale": text(entry.get("rationale")),
        "remediation": {key: text(remediation.get(key)) for key in ("text", "cli", "iac", "url")},
        "references": [text(reference) for reference in entry.get("references") or [] if reference],
        "compliance": [
            {"framework": text(item.get("framework")), "control": text(item.get("control"))}
            for item in entry.get("compliance") or []
            if isinstance(item, Mapping)
        ],
        "iam_actions": [text(action) for action in entry.get("iam_actions") or []],
    }


def home_region(document: Mapping[str, Any]) -> str:
    """The region where account-wide (``global``) results live in regional services such as Security Hub.

    The scan's first region, like the host's ``api_region`` for account-wide checks.
    """
    regions = [region for region in document.get("scan", {}).get("regions") or [] if region and region != "global"]
    return regions[0] if regions else "us-east-1"


def partition_of(region: str) -> str:
    """The AWS partition a region belongs to."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-iso-"):
        return "aws-iso"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    return "aws"
