"""The comparison of a scan with an earlier one (``--baseline``): each result's ``change`` and the ``fixed`` list.

This is the one home of the comparison; report writers only render what it
adds to the document:

* every result gets ``change``: ``new`` (no result of the baseline has its
  fingerprint), ``unchanged`` (one has, with the same status, severity and
  message) or ``changed`` (same fingerprint, another status, severity or
  message; the baseline's values are kept in ``previous``);
* ``fixed`` lists the baseline's FAILs that are fixed now: their fingerprint
  PASSes (``fixed_reason: passes``), or their resource is gone
  (``fixed_reason: gone``): this scan judged the same check in the same
  account and target region (the account was scanned, the check ran there
  without ERROR) and reported nothing for that resource;
* ``baseline`` names the earlier scan and counts each kind of change.

An account, region or check that this scan did not judge (the role could not
be assumed, the account was skipped or excluded, the region or check was not
part of the scan, the check ended in ERROR) makes nothing "fixed": its
findings are simply not known this time.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterable, Mapping

from scanner.errors import DocumentError, UsageError
from scanner.model import Severity, Status

log = logging.getLogger(__name__)

CHANGES = ("new", "unchanged", "changed")
FIXED_REASONS = ("passes", "gone")
#: What a result keeps of its baseline counterpart when it changed.
COMPARED_FIELDS = ("status", "severity", "message")


def load_baseline(path: str | Path, option: str = "--baseline") -> dict[str, Any]:
    """The earlier results.json at ``path``, parsed safely and valid against the results schema; UsageError (one line) otherwise."""
    from scanner.results_schema import load_document

    try:
        return load_document(Path(path))
    except DocumentError as error:
        raise UsageError(f"{option}: {error}") from None


def judged_targets(document: Mapping[str, Any]) -> set[tuple[str, str, str]]:
    """The (account, target region, check) triples this document judged: a scanned account, results, none of them ERROR."""
    scanned = {a["id"] for a in document["scan"].get("accounts") or [] if a.get("status") == "scanned"}
    seen: set[tuple[str, str, str]] = set()
    errored: set[tuple[str, str, str]] = set()
    for result in document["results"]:
        triple = (result["account_id"], result["target_region"], result["check_id"])
        seen.add(triple)
        if result["status"] == Status.ERROR.value:
            errored.add(triple)
    return {t for t in seen - errored if t[0] in scanned}


def _fixed_record(record: Mapping[str, Any], reason: str) -> dict[str, Any]:
    """A baseline FAIL as a fixed entry, made safe again: the baseline is a file the user gave, not this scan's output."""
    from scanner.document import result_record

    fields = {key: record[key] for key in (
        "check_id", "title", "service", "status", "severity", "account_id", "region", "target_region",
        "resource_type", "resource_id", "resource_arn", "message", "evidence")}
    return {**result_record(**fields), "fixed_reason": reason}


def _previous(record: Mapping[str, Any]) -> dict[str, Any]:
    from scanner.document import MAX_MESSAGE
    from scanner.sanitizer import safe_text

    return {"status": Status(record["status"]).value, "severity": Severity(record["severity"]).value,
            "message": safe_text(record["message"], MAX_MESSAGE)}


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(a[key] == b[key] for key in COMPARED_FIELDS)


def compare_with_baseline(document: Mapping[str, Any], baseline: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` with each result's ``change``, the ``fixed`` list and the ``baseline`` section.

    Both documents must be valid against the results schema. A comparison the
    document already carries (``orgscan report --baseline`` on a compared
    document) is replaced, not merged.
    """
    before: dict[str, list[Mapping[str, Any]]] = {}
    for record in baseline["results"]:
        before.setdefault(record["fingerprint"], []).append(record)

    counts = {change: 0 for change in CHANGES}
    results = []
    now: dict[str, list[str]] = {}
    for result in document["results"]:
        result = {k: v for k, v in result.items() if k not in ("change", "previous")}
        now.setdefault(result["fingerprint"], []).append(result["status"])
        earlier = before.get(result["fingerprint"])
        if not earlier:
            result["change"] = "new"
        elif any(_same(result, record) for record in earlier):
            result["change"] = "unchanged"
        else:
            # The counterpart with the same status if there is one (a message or severity change), else the first.
            counterpart = next((r for r in earlier if r["status"] == result["status"]), earlier[0])
            result["change"] = "changed"
            result["previous"] = _previous(counterpart)
        counts[result["change"]] += 1
        results.append(result)

    judged = judged_targets(document)
    fixed = []
    listed: set[str] = set()
    for record in baseline["results"]:
        fp = record["fingerprint"]
        if record["status"] != Status.FAIL.value or fp in listed:
            continue
        statuses = now.get(fp)
        if statuses:
            reason = "passes" if all(s == Status.PASS.value for s in statuses) else None
        else:
            reason = "gone" if (record["account_id"], record["target_region"], record["check_id"]) in judged else None
        if reason:
            listed.add(fp)
            fixed.append(_fixed_record(record, reason))

    scan = baseline["scan"]
    compared = {k: v for k, v in document.items() if k not in ("results", "fixed", "baseline")}
    compared["results"] = results
    compared["baseline"] = {
        "scan_id": scan["id"],
        "started_at": scan["started_at"],
        "finished_at": scan.get("finished_at"),
        "interrupted": bool(scan.get("interrupted")),
        "counts": {**counts, "fixed": len(fixed)},
    }
    compared["fixed"] = fixed
    _warn_if_other_scope(document["scan"], scan)
    return compared


def _warn_if_other_scope(scan: Mapping[str, Any], earlier: Mapping[str, Any]) -> None:
    if scan.get("organization_id") != earlier.get("organization_id") or scan.get("mode") != earlier.get("mode"):
        log.warning("the baseline scan %s is of another organization or mode: most results will be new",
                    str(earlier.get("id"))[:64])


def counts_toward_exit(results: Iterable[Mapping[str, Any]], fail_on_new: bool) -> list[Mapping[str, Any]]:
    """The results whose FAILs decide exit code 1: all of them, or with ``fail_on_new`` only the new ones.

    Without a baseline (no ``change`` on any result, e.g. the first scan kept in a
    history) every result counts as new.
    """
    if not fail_on_new:
        return list(results)
    return [r for r in results if r.get("change", "new") == "new"]
