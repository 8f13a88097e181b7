"""The canonical result document (``results.json``, schema_version 1): a contract other tools read.

Results are spooled to disk as they arrive (``<output-dir>/.orgscan-spool``) so
a long scan keeps little in memory, an interrupted one loses nothing that was
collected, and ``--resume`` can finish it. The document is assembled from the
spool, after a completeness check: every planned (account, region, check)
must have at least one result, or it gets an ERROR that says so.
"""
from __future__ import annotations

import json
import os
import threading
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from scanner import __version__
from scanner.model import Severity, Status, fingerprint

SCHEMA_VERSION = 1
REQUIRED_RESULT_KEYS = ("check_id", "status", "severity", "account_id", "region", "resource_id", "message")
SPOOL_DIR = ".orgscan-spool"
PLAN_FILE = "plan.json"
RESULTS_SPOOL = "results.jsonl"


def utc_now() -> str:
    """Now as an RFC 3339 UTC timestamp with a ``Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_scan_id() -> str:
    return uuid.uuid4().hex


def result_record(
    *,
    check_id: str,
    title: str,
    service: str,
    status: Status | str,
    severity: Severity | str,
    account_id: str,
    region: str,
    target_region: str,
    resource_type: str,
    resource_id: str,
    resource_arn: str | None,
    message: str,
    evidence: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One ``results[]`` entry with its stable fingerprint."""
    return {
        "check_id": check_id,
        "title": title,
        "service": service,
        "status": Status(status).value,
        "severity": Severity(severity).value,
        "account_id": account_id,
        "region": region,
        "target_region": target_region,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "resource_arn": resource_arn,
        "message": message,
        "evidence": dict(evidence or {}),
        "fingerprint": fingerprint(check_id, account_id, region, resource_id),
    }


class Spool:
    """Append-only JSON-lines store of results, one completed target at a time.

    A target's results are written together with a ``done`` marker; on resume,
    lines of a target without its marker are ignored and the target runs again.
    """

    def __init__(self, output_dir: Path) -> None:
        # Reports describe security weaknesses: a directory orgscan creates is owner-only.
        Path(output_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        self.directory = Path(output_dir) / SPOOL_DIR
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = self.directory / RESULTS_SPOOL
        self._lock = threading.Lock()
        self._handle = None

    # plan ------------------------------------------------------------------

    def write_plan(self, plan: Mapping[str, Any]) -> None:
        from scanner.reporting import write_private_file

        write_private_file(self.directory / PLAN_FILE, json.dumps(plan, indent=1, sort_keys=True).encode())

    def read_plan(self) -> dict[str, Any]:
        return json.loads((self.directory / PLAN_FILE).read_text())

    def has_plan(self) -> bool:
        return (self.directory / PLAN_FILE).is_file()

    # results -----------------------------------------------------------------

    def open(self, truncate: bool) -> None:
        if not truncate:
            self._drop_unfinished_tail()
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if truncate else os.O_APPEND)
        fd = os.open(self.path, flags, 0o600)
        self._handle = os.fdopen(fd, "a", encoding="utf-8")

    def _drop_unfinished_tail(self) -> None:
        """Cut whatever follows the last ``done`` marker: the part of a target a killed process left.

        A target's records and its marker are written together, so anything after
        the last marker is an unfinished target (maybe with half a line), which
        the resumed scan runs again; keeping it would count its results twice.
        """
        if not self.path.exists():
            return
        keep = 0
        with open(self.path, "rb") as handle:
            offset = 0
            for line in handle:
                offset += len(line)
                if line.startswith(b'{"done"') and line.endswith(b"\n"):
                    keep = offset
        if keep != self.path.stat().st_size:
            with open(self.path, "r+b") as handle:
                handle.truncate(keep)

    def write_target(self, account_id: str, target_region: str, planned: Iterable[str], records: list[dict]) -> None:
        """Persist one completed target's results and its ``done`` marker, then fsync."""
        assert self._handle is not None
        lines = [json.dumps(r, sort_keys=True, default=str) for r in records]
        lines.append(json.dumps({"done": [account_id, target_region, sorted(planned)]}))
        with self._lock:
            self._handle.write("\n".join(lines) + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def completed_targets(self) -> set[tuple[str, str]]:
        return {(a, r) for a, r, _ in self._done_markers()}

    def _done_markers(self) -> Iterator[tuple[str, str, list[str]]]:
        for line in self._lines():
            if line.startswith('{"done"'):
                account, region, planned = json.loads(line)["done"]
                yield account, region, planned

    def _lines(self) -> Iterator[str]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                line = line.strip()
                if line:
                    yield line

    def results(self) -> Iterator[dict[str, Any]]:
        """Every spooled result of a completed target, in spool order (memory: one target at a time).

        A target's records stand right before its ``done`` marker; records
        followed by no marker, or by another target's, are an unfinished
        target's and are skipped.
        """
        pending: list[dict] = []
        for line in self._lines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                # A torn line from a killed process: that target runs again on resume.
                pending = []
                continue
            if "done" in record:
                account, region, _ = record["done"]
                yield from (r for r in pending if r["account_id"] == account and r["target_region"] == region)
                pending = []
            else:
                pending.append(record)


def summarise(results: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts by status, severity (of FAILs), account and check, and the pass rate."""
    by_status: Counter = Counter()
    failed_by_severity: Counter = Counter()
    per_account: dict[str, Counter] = {}
    per_check: dict[str, Counter] = {}
    for result in results:
        status = result["status"]
        by_status[status] += 1
        if status == Status.FAIL.value:
            failed_by_severity[result["severity"]] += 1
        per_account.setdefault(result["account_id"], Counter())[status] += 1
        per_check.setdefault(result["check_id"], Counter())[status] += 1
    judged = by_status[Status.PASS.value] + by_status[Status.FAIL.value]
    return {
        "total": sum(by_status.values()),
        "by_status": {s.value: by_status[s.value] for s in Status},
        "failed_by_severity": {s.value: failed_by_severity[s.value] for s in Severity},
        "pass_rate": round(by_status[Status.PASS.value] / judged, 4) if judged else None,
        "accounts": {a: dict(sorted(c.items())) for a, c in sorted(per_account.items())},
        "checks": {c: dict(sorted(n.items())) for c, n in sorted(per_check.items())},
    }


def find_gaps(
    planned: Iterable[tuple[str, str, str]], results: Iterable[Mapping[str, Any]], origin_of: Mapping[str, str]
) -> list[tuple[str, str, str]]:
    """Planned (account, target_region, check) triples that no result accounts for.

    ``origin_of`` maps a bridged result's check id (``prowler.X``) to the check that produced it.
    """
    seen = {(r["account_id"], r["target_region"], origin_of.get(r["check_id"], r["check_id"])) for r in results}
    return [p for p in planned if p not in seen]


def build_document(scan: Mapping[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    """The complete document, results sorted for stable output."""
    results = sorted(
        results,
        key=lambda r: (r["account_id"], r["target_region"], r["check_id"], r["region"], r["resource_id"], r["status"]),
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "orgscan", "version": __version__},
        "scan": dict(scan),
        "results": results,
        "summary": summarise(results),
    }


def load_document(path: Path) -> dict[str, Any]:
    """A results.json, checked just enough to render reports from it (UsageError otherwise)."""
    from scanner.errors import UsageError

    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read: {error}") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"{path}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}") from None
    if not isinstance(document, dict) or document.get("schema_version") != SCHEMA_VERSION:
        raise UsageError(f"{path}: not an orgscan result document (schema_version {SCHEMA_VERSION} expected)")
    for key in ("tool", "scan", "results"):
        if key not in document:
            raise UsageError(f"{path}: missing {key!r}")
    if not isinstance(document["results"], list):
        raise UsageError(f"{path}: 'results' must be a list")
    for index, result in enumerate(document["results"]):
        if not isinstance(result, dict):
            raise UsageError(f"{path}: results[{index}] is not an object")
        for key in REQUIRED_RESULT_KEYS:
            if key not in result:
                raise UsageError(f"{path}: results[{index}].{key} is missing")
    document.setdefault("summary", summarise(document["results"]))
    return document
