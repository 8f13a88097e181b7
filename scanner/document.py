"""The canonical result document (``results.json``, schema_version 1): a contract other tools read.

Results are spooled to disk as they arrive (``<output-dir>/.orgscan-spool``) so
a long scan keeps little in memory, an interrupted one loses nothing that was
collected, and ``--resume`` can finish it. The document is assembled from the
spool, after a completeness check: every planned (account, region, check)
must have at least one result, or it gets an ERROR that says so.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import json
import logging
import os
import stat
import threading
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from scanner import __version__
from scanner.errors import UsageError
from scanner.frameworks import compliance_summary
from scanner.model import Severity, Status, fingerprint
from scanner.sanitizer import safe_evidence, safe_optional_text, safe_text

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
REQUIRED_RESULT_KEYS = ("check_id", "status", "severity", "account_id", "region", "resource_id", "message")
SPOOL_DIR = ".orgscan-spool"
PLAN_FILE = "plan.json"
RESULTS_SPOOL = "results.jsonl"
PLAN_MAC_FILE = "plan.mac"
#: Bounds of a record's strings (characters): ARNs are at most 2,048; titles, types and regions are short.
MAX_RESOURCE_ID = 2_048
MAX_NAME = 1_024
MAX_MESSAGE = 4_096


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
    """One ``results[]`` entry with its stable fingerprint, every value made safe to record.

    This is the one place where what a check found (strings from AWS, which a
    member account controls) becomes a record: lone surrogates and control
    characters are replaced visibly, sizes bounded and evidence made plain JSON
    (``scanner.sanitizer``), so no writer downstream can fail on them.
    """
    resource_id = safe_text(resource_id, MAX_RESOURCE_ID)
    region = safe_text(region, MAX_NAME)
    return {
        "check_id": check_id,
        "title": safe_text(title, MAX_NAME),
        "service": safe_text(service, MAX_NAME),
        "status": Status(status).value,
        "severity": Severity(severity).value,
        "account_id": account_id,
        "region": region,
        "target_region": target_region,
        "resource_type": safe_text(resource_type, MAX_NAME),
        "resource_id": resource_id,
        "resource_arn": safe_optional_text(resource_arn, MAX_RESOURCE_ID),
        "message": safe_text(message, MAX_MESSAGE),
        "evidence": safe_evidence(evidence),
        "fingerprint": fingerprint(check_id, account_id, region, resource_id),
    }


class Spool:
    """Append-only JSON-lines store of results, one completed target at a time.

    A target's results are written together with a ``done`` marker; on resume,
    lines of a target without its marker are ignored and the target runs again.

    The output directory may be reachable by someone else (a shared disk, a
    directory another user prepared), so the spool trusts nothing it reads back:

    * its files are opened with ``O_NOFOLLOW`` (a planted symbolic link is
      refused, never followed) and created with ``O_EXCL``;
    * each ``done`` marker carries an HMAC-SHA256, keyed with a secret kept
      outside the output directory (:func:`scanner.output_dir.spool_key`), over
      the plan's digest, the target and its record lines: a record that was
      changed, added, or copied from another scan or another target fails it,
      and the target is treated as not done (warned about, then scanned again);
    * ``plan.json`` carries its own HMAC (``plan.mac``), so a changed plan is
      refused on ``--resume``.

    Nothing is created until :meth:`create`; a scan calls it only after every
    option has been validated.
    """

    def __init__(self, output_dir: Path, key: bytes | None = None) -> None:
        self.output_dir = Path(output_dir)
        self.directory = self.output_dir / SPOOL_DIR
        self.path = self.directory / RESULTS_SPOOL
        self._key = key
        self._plan_digest: bytes | None = None
        self._lock = threading.Lock()
        self._handle = None
        self._warned: set[tuple[str, str]] = set()

    def create(self) -> None:
        """Create the output directory and the spool directory owner-only, refusing ones others can write to."""
        from scanner.output_dir import check_private_subdir, make_private_dir, spool_key

        if self._key is None:
            self._key = spool_key(self.output_dir, create=True)
        # Reports describe security weaknesses: a directory orgscan creates is owner-only.
        make_private_dir(self.output_dir)
        try:
            self.directory.mkdir(mode=0o700)
        except FileExistsError:
            pass
        except OSError as error:
            raise UsageError(f"--output-dir {self.output_dir}: cannot create {SPOOL_DIR}: {error.strerror or error}") from None
        check_private_subdir(self.directory, "spool directory")

    def check_existing(self) -> None:
        """The spool directory of an earlier scan is a real, private directory of this user (UsageError otherwise)."""
        from scanner.output_dir import check_output_dir, check_private_subdir

        check_output_dir(self.output_dir, "--resume")
        check_private_subdir(self.directory, "spool directory")

    @property
    def key(self) -> bytes:
        if self._key is None:
            from scanner.output_dir import spool_key

            self._key = spool_key(self.output_dir, create=False)
        return self._key

    # plan ------------------------------------------------------------------

    def write_plan(self, plan: Mapping[str, Any]) -> None:
        from scanner.reporting import write_private_file

        data = json.dumps(plan, indent=1, sort_keys=True, allow_nan=False).encode("utf-8")
        write_private_file(self.directory / PLAN_MAC_FILE, self._plan_mac(data).encode("ascii"))
        write_private_file(self.directory / PLAN_FILE, data)
        self._plan_digest = hashlib.sha256(data).digest()

    def read_plan(self) -> dict[str, Any]:
        """The plan, after checking its HMAC; UsageError (one line) when missing, changed or unreadable."""
        from scanner.results_schema import parse_json

        source = str(self.directory / PLAN_FILE)
        data = self._read_private(self.directory / PLAN_FILE, 64 * 1024**2)
        mac = self._read_private(self.directory / PLAN_MAC_FILE, 1024).decode("ascii", "replace").strip()
        if not hmac.compare_digest(mac, self._plan_mac(data)):
            raise UsageError(f"{source}: does not match its HMAC (changed since the scan wrote it); start a new scan")
        plan = parse_json(data.decode("utf-8", "replace"), source)
        if not isinstance(plan, dict):
            raise UsageError(f"{source}: not a scan plan")
        self._plan_digest = hashlib.sha256(data).digest()
        return plan

    def has_plan(self) -> bool:
        try:
            return stat.S_ISREG(os.lstat(self.directory / PLAN_FILE).st_mode)
        except OSError:
            return False

    def _plan_mac(self, data: bytes) -> str:
        return hmac.new(self.key, b"orgscan plan\x00" + data, hashlib.sha256).hexdigest()

    def _read_private(self, path: Path, limit: int) -> bytes:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise UsageError(f"{path}: missing") from None
        except OSError as error:
            raise UsageError(f"{path}: cannot be read: {_open_failure(error)}") from None
        with os.fdopen(fd, "rb") as handle:
            _check_own_file(path, os.fstat(handle.fileno()))
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise UsageError(f"{path}: larger than {limit} bytes")
        return data

    # results -----------------------------------------------------------------

    def open(self, truncate: bool) -> None:
        """Open the results file for appending: a new one (``truncate``) or the interrupted scan's, never through a link."""
        if truncate:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)  # an earlier scan's; unlinking a planted link removes only the link
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        else:
            self._drop_unfinished_tail()
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as error:
            raise UsageError(f"{self.path}: cannot be opened: {_open_failure(error)}") from None
        _check_own_file(self.path, os.fstat(fd), close=fd)
        self._handle = os.fdopen(fd, "a", encoding="utf-8")

    def _open_for_reading(self) -> Any:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise UsageError(f"{self.path}: cannot be read: {_open_failure(error)}") from None
        _check_own_file(self.path, os.fstat(fd), close=fd)
        return os.fdopen(fd, "rb")

    def _drop_unfinished_tail(self) -> None:
        """Cut whatever follows the last ``done`` marker: the part of a target a killed process left.

        A target's records and its marker are written together, so anything after
        the last marker is an unfinished target (maybe with half a line), which
        the resumed scan runs again; keeping it would count its results twice.
        """
        handle = self._open_for_reading()
        if handle is None:
            return
        keep = 0
        with handle:
            offset = 0
            for line in handle:
                offset += len(line)
                if line.startswith(b'{"done"') and line.endswith(b"\n"):
                    keep = offset
            size = os.fstat(handle.fileno()).st_size
        if keep != size:
            fd = os.open(self.path, os.O_WRONLY | os.O_NOFOLLOW)
            try:
                os.ftruncate(fd, keep)
            finally:
                os.close(fd)

    def write_target(self, account_id: str, target_region: str, planned: Iterable[str], records: list[dict]) -> None:
        """Persist one completed target's results and its authenticated ``done`` marker, then fsync."""
        assert self._handle is not None
        lines = [json.dumps(r, sort_keys=True, default=str, allow_nan=False) for r in records]
        done = [account_id, target_region, sorted(planned)]
        marker = {"done": done, "mac": self._target_mac(done, lines)}
        lines.append(json.dumps(marker))
        with self._lock:
            self._handle.write("\n".join(lines) + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def _target_mac(self, done: list, lines: list[str]) -> str:
        if self._plan_digest is None:
            self.read_plan()
        material = json.dumps([done, lines], ensure_ascii=True).encode("ascii")
        return hmac.new(self.key, b"orgscan target\x00" + (self._plan_digest or b"") + material, hashlib.sha256).hexdigest()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def completed_targets(self) -> set[tuple[str, str]]:
        """The (account, target region) pairs whose results are in the spool, complete and authentic."""
        return {(account, region) for account, region, _, _ in self._targets()}

    def results(self) -> Iterator[dict[str, Any]]:
        """Every spooled result of a completed, authentic target, in spool order (memory: one target at a time)."""
        for _, _, _, records in self._targets():
            yield from records

    def _targets(self) -> Iterator[tuple[str, str, list[str], list[dict[str, Any]]]]:
        """Each target's (account, region, planned checks, records), once, in spool order.

        A target's records stand right before its ``done`` marker; records
        followed by no marker, or by another target's, are an unfinished
        target's and are skipped. A marker whose HMAC does not match, or a
        target already seen, is skipped with a warning: its target counts as not
        done, so ``--resume`` scans it again.
        """
        from scanner.errors import DocumentError
        from scanner.results_schema import parse_json

        handle = self._open_for_reading()
        if handle is None:
            return
        seen: set[tuple[str, str]] = set()
        pending: list[tuple[str, Any]] = []  # (line, its record, or None when it is not one)
        with handle:
            for raw in handle:
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                if not line.startswith('{"done"'):
                    pending.append((line, _record_or_none(line, str(self.path))))
                    continue
                try:
                    marker = parse_json(line, str(self.path))
                    account, region, planned = marker["done"]
                    target = (str(account), str(region))
                    mac = str(marker.get("mac", ""))
                except (DocumentError, KeyError, TypeError, ValueError):
                    # A torn or malformed marker: that target runs again on resume.
                    pending = []
                    continue
                mine = [(line, record) for line, record in pending if _belongs_to(record, target)]
                pending = []
                if target in seen:
                    self._warn(target, "appears twice in the spool; the first copy is kept")
                    continue
                if not hmac.compare_digest(mac, self._target_mac([account, region, planned], [line for line, _ in mine])):
                    self._warn(target, "does not match its HMAC (changed after it was written); it is scanned again")
                    continue
                seen.add(target)
                yield target[0], target[1], list(planned), [record for _, record in mine]

    def _warn(self, target: tuple[str, str], problem: str) -> None:
        if target not in self._warned:
            self._warned.add(target)
            log.warning("spool %s: the results of %s %s %s", self.path, target[0], target[1], problem)


def _record_or_none(line: str, source: str) -> dict[str, Any] | None:
    """A spooled line's record, parsed once and strictly; ``None`` for a torn or unsafe line (it belongs to no target)."""
    from scanner.errors import DocumentError
    from scanner.results_schema import parse_json

    try:
        record = parse_json(line, source)
    except DocumentError:
        return None
    return record if isinstance(record, dict) else None


def _belongs_to(record: dict[str, Any] | None, target: tuple[str, str]) -> bool:
    """Whether a spooled record is a result of ``target`` (a torn line's ``None`` belongs to none)."""
    return record is not None and (record.get("account_id"), record.get("target_region")) == target


def _check_own_file(path: Path, status: os.stat_result, close: int | None = None) -> None:
    """A UsageError unless ``status`` is a regular file of this user that nobody else may write."""
    if stat.S_ISREG(status.st_mode) and status.st_uid == os.geteuid() and not status.st_mode & 0o022:
        return
    if close is not None:
        os.close(close)
    raise UsageError(f"{path}: not a private regular file of this user; refusing to use it")


def _open_failure(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "is a symbolic link; refusing to follow it"
    if error.errno == errno.EEXIST:
        return "appeared while it was being created; refusing to use it"
    return error.strerror or str(error)


def summarise(results: Iterable[Mapping[str, Any]], frameworks: list[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Counts by status, severity (of FAILs), account and check, the pass rate, and per compliance control."""
    results = list(results)
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
        **({"compliance": compliance_summary(frameworks, results)} if frameworks else {}),
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
        "summary": summarise(results, scan.get("frameworks")),
    }


def load_document(path: Path) -> dict[str, Any]:
    """A results.json, parsed safely and valid against the shipped schema (UsageError, one line, otherwise)."""
    from scanner.results_schema import load_document as load_valid_document

    document = load_valid_document(path)
    document.setdefault("summary", summarise(document["results"], document["scan"].get("frameworks")))
    return document
