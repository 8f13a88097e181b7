"""Prowler's JSON-OCSF findings (OCSF Detection Finding, class 2004) as orgscan findings.

Each Prowler finding becomes one :class:`scanner.model.Finding` whose
``check_id`` is ``prowler.<CheckID>``, with Prowler's severity and check title.
Remediation and compliance go into ``evidence`` in the shapes orgscan's own
check metadata uses (``remediation``: text/cli/iac/url; ``compliance``: a list
of framework/control pairs), so reports can show them the same way.

Resource ``data`` and tags are left out on purpose: Prowler copies resource
configuration there (Lambda environment variables, for instance), and
evidence must never hold a sensitive value.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Iterator, Mapping

from scanner.model import GLOBAL_REGION, Finding, Severity, Status

CHECK_ID_PREFIX = "prowler."
_PROWLER_CHECK_ID = re.compile(r"^[A-Za-z0-9_]+$")

#: Prowler statuses; MANUAL means Prowler cannot decide and a person must look.
_STATUSES = {"PASS": Status.PASS, "FAIL": Status.FAIL, "MANUAL": Status.NOT_APPLICABLE}
#: OCSF ``status`` of a finding muted by a Prowler mutelist.
_MUTED_STATUS = "Suppressed"


class OcsfRecordError(ValueError):
    """One OCSF record cannot be read; the message names the field."""


class AccountMismatch(Exception):
    """Prowler reported on another account than the one it was run for: its credentials were not the account's."""


def findings_from_ocsf(records: Iterable[Any], account_id: str, source: str = "Prowler output") -> Iterator[Finding]:
    """orgscan findings for Prowler's OCSF records of one account.

    A record that cannot be read gives one ERROR finding naming the record and
    field, and the others are still converted. A record about another account
    raises :class:`AccountMismatch`: none of the run's findings can be trusted.
    """
    for index, record in enumerate(records):
        try:
            yield finding_from_record(record, account_id)
        except OcsfRecordError as error:
            yield Finding(
                Status.ERROR,
                resource_id=account_id,
                message=f"{source} record {index}: {error}",
                check_id=_check_id_or_none(record),
                evidence={"record_index": index},
            )


def finding_from_record(record: Any, account_id: str) -> Finding:
    """One orgscan finding for one OCSF Detection Finding record written by Prowler."""
    if not isinstance(record, Mapping):
        raise OcsfRecordError(f"expected a JSON object, got {type(record).__name__}")
    metadata = _mapping(record, "metadata")
    prowler_check_id = _text(metadata, "event_code", "metadata.event_code")
    if not _PROWLER_CHECK_ID.match(prowler_check_id):
        raise OcsfRecordError(f"metadata.event_code {prowler_check_id!r} is not a Prowler check id")

    reported_account = str(_mapping(_mapping(record, "cloud"), "account", "cloud.account").get("uid") or "")
    if reported_account != account_id:
        raise AccountMismatch(f"Prowler reported on account {reported_account or '(none)'}, not on {account_id}")

    status_code = _text(record, "status_code", "status_code").upper()
    status = _STATUSES.get(status_code)
    if status is None:
        raise OcsfRecordError(f"status_code {status_code!r} is not PASS, FAIL or MANUAL")

    finding_info = _mapping(record, "finding_info")
    resources = record.get("resources") or [{}]
    if not isinstance(resources, list) or not isinstance(resources[0], Mapping):
        raise OcsfRecordError("resources is not a list of objects")
    resource = resources[0]

    resource_uid = str(resource.get("uid") or "")
    resource_name = str(resource.get("name") or "")
    region = str(resource.get("region") or _mapping(record, "cloud").get("region") or GLOBAL_REGION)
    message = str(record.get("message") or record.get("status_detail") or "")
    if status_code == "MANUAL":
        message = f"Manual review needed (Prowler MANUAL): {message}"

    remediation = record.get("remediation") or {}
    references = [str(url) for url in (remediation.get("references") or []) if url]
    unmapped = record.get("unmapped") or {}
    service = str(_mapping(resource, "group", "resources[0].group").get("name") or "")

    evidence = {
        "prowler": {
            "check_id": prowler_check_id,
            "status": status_code,
            "muted": record.get("status") == _MUTED_STATUS,
            "finding_uid": str(finding_info.get("uid") or ""),
            "service": service,
            "resource_name": resource_name,
            "resource_uid": resource_uid,
            "risk": str(record.get("risk_details") or ""),
            "related_url": str(unmapped.get("related_url") or ""),
            "version": str(_mapping(metadata, "product", "metadata.product").get("version") or ""),
        },
        "remediation": {
            "text": str(remediation.get("desc") or ""),
            "cli": "",
            "iac": "",
            "url": references[0] if references else "",
        },
        "compliance": compliance_mappings(unmapped.get("compliance")),
    }
    return Finding(
        status,
        # The ARN when Prowler has one: resource names repeat (every VPC has a
        # security group called "default"), and the fingerprint is built from this id.
        resource_id=resource_uid or resource_name or account_id,
        message=message,
        resource_arn=resource_uid if resource_uid.startswith("arn:") else None,
        resource_type=str(resource.get("type") or "") or None,
        region=region,
        evidence=evidence,
        check_id=CHECK_ID_PREFIX + prowler_check_id,
        severity=_severity(record),
        title=str(finding_info.get("title") or "") or None,
    )


def compliance_mappings(compliance: Any) -> list[dict[str, str]]:
    """Prowler's ``{"CIS-4.0": ["3.5", ...], ...}`` as ``[{"framework": "CIS-4.0", "control": "3.5"}, ...]``."""
    if not isinstance(compliance, Mapping):
        return []
    mappings = []
    for framework, controls in compliance.items():
        if isinstance(controls, str):
            controls = [controls]
        for control in controls or ():
            mappings.append({"framework": str(framework), "control": str(control)})
    return mappings


def _severity(record: Mapping[str, Any]) -> Severity | None:
    """Prowler's severity; ``None`` (the bridge's own severity) for OCSF's "Unknown" or anything else."""
    try:
        return Severity(str(record.get("severity") or "").lower())
    except ValueError:
        return None


def _check_id_or_none(record: Any) -> str | None:
    try:
        event_code = record["metadata"]["event_code"]
    except (TypeError, KeyError):
        return None
    if isinstance(event_code, str) and _PROWLER_CHECK_ID.match(event_code):
        return CHECK_ID_PREFIX + event_code
    return None


def _mapping(parent: Mapping[str, Any], key: str, where: str | None = None) -> Mapping[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise OcsfRecordError(f"{where or key} is not a JSON object")
    return value


def _text(parent: Mapping[str, Any], key: str, where: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise OcsfRecordError(f"{where} is missing")
    return value
