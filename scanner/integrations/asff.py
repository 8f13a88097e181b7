"""The AWS Security Finding Format (ASFF) shape of a result: one home for the ``asff`` report and the upload.

``build_finding`` turns one result of a result document into one finding ready
for Security Hub's ``BatchImportFindings``. The ``asff`` report writer
(``reports/asff.py``, ``findings.asff.json``) and ``orgscan upload securityhub``
(:mod:`scanner.integrations.securityhub`) both build their findings here, so a
finding written to a file and one imported have the same ``Id``, fields and
limits. Security Hub is regional, so account-wide results (region ``global``)
belong to the scan's first region.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Mapping

from scanner.document_view import home_region, partition_of, text

SCHEMA_VERSION = "2018-10-08"
PROVIDER_NAME = "orgscan"

COMPLIANCE_STATUS = {"FAIL": "FAILED", "PASS": "PASSED", "ERROR": "NOT_AVAILABLE"}
BEST_PRACTICES_TYPE = "Software and Configuration Checks/AWS Security Best Practices"
STANDARDS_TYPE_PREFIX = "Software and Configuration Checks/Industry and Regulatory Standards/"

# Field limits of AwsSecurityFinding (Security Hub rejects longer values).
MAX_TITLE = 256
MAX_DESCRIPTION = 1024
MAX_RECOMMENDATION_TEXT = 512
MAX_RELATED_REQUIREMENTS = 32
MAX_PRODUCT_FIELD_VALUE = 2048
# Note.Text: 1 to 512 characters (Security Hub API reference, Note); UpdatedBy: at most 512 (NoteUpdate).
MAX_NOTE_TEXT = 512
MAX_NOTE_UPDATED_BY = 512


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "\u2026"


def security_hub_region(result: Mapping[str, Any], document: Mapping[str, Any]) -> str:
    """The region whose Security Hub holds the result: its own, or the scan's first region for ``global``."""
    region = result["region"]
    return home_region(document) if region == "global" else region


def product_arn(account_id: str, region: str) -> str:
    """The account's default product: the only one a finding provider may import its own findings into."""
    return f"arn:{partition_of(region)}:securityhub:{region}:{account_id}:product/{account_id}/default"


def finding_id(result: Mapping[str, Any]) -> str:
    """Stable across scans (the result's fingerprint), unique within the product."""
    return f"orgscan/{result['account_id']}/{result['region']}/{result['check_id']}/{text(result.get('fingerprint'))}"


@lru_cache(maxsize=1)
def _asff_resource_types() -> dict[str, str]:
    """Lower-cased ASFF resource type -> its spelling, from botocore's Security Hub model (the API's own list)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("securityhub")
    names = [name for name in model.shape_for("ResourceDetails").members if name.startswith("Aws")]
    names.append("AwsAccount")  # used by Security Hub's own account-level controls; has no Details shape
    return {name.lower(): name for name in names}


def asff_resource_type(cloudformation_type: str) -> str:
    """``AWS::KMS::Key`` -> ``AwsKmsKey``, ``AWS::::Account`` -> ``AwsAccount``; ``Other`` when ASFF has no such type."""
    parts = cloudformation_type.split("::")
    if len(parts) < 2 or parts[0].upper() != "AWS":
        return "Other"
    candidate = "aws" + "".join(parts[1:]).lower()
    return _asff_resource_types().get(candidate, "Other")


def _types(meta: Mapping[str, Any]) -> list[str]:
    types = [BEST_PRACTICES_TYPE]
    for item in meta["compliance"]:
        if item["framework"]:
            types.append(STANDARDS_TYPE_PREFIX + item["framework"].replace("/", "-"))
    return list(dict.fromkeys(types))[:50]


def build_finding(result: Mapping[str, Any], meta: Mapping[str, Any], document: Mapping[str, Any]) -> dict[str, Any]:
    """One ASFF finding for one result."""
    scan = document.get("scan", {})
    region = security_hub_region(result, document)
    partition = partition_of(region)
    timestamp = text(scan.get("finished_at")) or text(scan.get("started_at"))
    status = result["status"]
    check_severity = text(result.get("severity")).lower() or meta["severity"]
    # As Security Hub does for its own controls: a passed (or unjudged) check is informational.
    label = check_severity.upper() if status == "FAIL" else "INFORMATIONAL"
    if label not in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"):
        label = "INFORMATIONAL"
    resource_type = text(result.get("resource_type")) or meta["resource_type"]
    resource_id = text(result.get("resource_arn")) or text(result.get("resource_id")) or result["account_id"]
    remediation = meta["remediation"]
    recommendation: dict[str, str] = {
        "Text": _clip(remediation["text"] or "See the check's references.", MAX_RECOMMENDATION_TEXT)
    }
    url = remediation["url"] or next((ref for ref in meta["references"] if ref.startswith("https://")), "")
    if url:
        recommendation["Url"] = url
    types = _types(meta)
    evidence = json.dumps(result.get("evidence") or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    product_fields = {
        "ProviderName": PROVIDER_NAME,
        "ProviderVersion": text(document.get("tool", {}).get("version")),
        "orgscan/CheckId": result["check_id"],
        "orgscan/Status": status,
        "orgscan/Severity": check_severity,
        "orgscan/TargetRegion": text(result.get("target_region")) or result["region"],
        "orgscan/Region": result["region"],
        "orgscan/ResourceId": _clip(text(result.get("resource_id")), MAX_PRODUCT_FIELD_VALUE),
        "orgscan/Fingerprint": text(result.get("fingerprint")),
        "orgscan/ScanId": text(scan.get("id")),
    }
    if len(evidence) <= MAX_PRODUCT_FIELD_VALUE:
        product_fields["orgscan/Evidence"] = evidence
    compliance: dict[str, Any] = {"Status": COMPLIANCE_STATUS[status]}
    requirements = [f"{c['framework']} {c['control']}".strip() for c in meta["compliance"]]
    if requirements:
        compliance["RelatedRequirements"] = requirements[:MAX_RELATED_REQUIREMENTS]
    finding = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(result),
        "ProductArn": product_arn(result["account_id"], region),
        "GeneratorId": result["check_id"],
        "AwsAccountId": result["account_id"],
        "Types": types,
        "CreatedAt": timestamp,
        "UpdatedAt": timestamp,
        "Severity": {"Label": label, "Original": check_severity},
        "Title": _clip(text(result.get("title")) or meta["title"], MAX_TITLE),
        "Description": _clip(text(result.get("message")) or meta["title"], MAX_DESCRIPTION),
        "Remediation": {"Recommendation": recommendation},
        "ProductFields": product_fields,
        "Resources": [
            {
                "Type": asff_resource_type(resource_type),
                "Id": resource_id,
                "Partition": partition,
                "Region": region,
                "Details": {"Other": {"orgscan/ResourceType": resource_type or "unknown"}},
            }
        ],
        "Compliance": compliance,
        "RecordState": "ACTIVE",
        "FindingProviderFields": {"Severity": {"Label": label, "Original": check_severity}, "Types": types},
    }
    finding.update(suppression_fields(result, timestamp))
    return finding


def suppression_fields(result: Mapping[str, Any], timestamp: str) -> dict[str, Any]:
    """``Workflow`` (``SUPPRESSED``) and a ``Note`` with the justification, owner and expiry, for an accepted risk.

    Note's members are all required (botocore's Security Hub model: Text,
    UpdatedBy, UpdatedAt). Security Hub takes these from ``BatchImportFindings``
    only when it creates a finding; once a finding exists they belong to
    ``BatchUpdateFindings`` (docs/suppressions.md says what that means).
    """
    suppression = result.get("suppression")
    if not isinstance(suppression, Mapping):
        return {}
    owner = text(suppression.get("owner")).strip() or "orgscan"
    expires = text(suppression.get("expires"))
    justification = " ".join(text(suppression.get("justification")).split()) or "accepted risk"
    note = _clip(f"Accepted risk until {expires} (owner {owner}): {justification}", MAX_NOTE_TEXT)
    return {
        "Workflow": {"Status": "SUPPRESSED"},
        "Note": {"Text": note, "UpdatedBy": _clip(owner, MAX_NOTE_UPDATED_BY), "UpdatedAt": timestamp},
    }
