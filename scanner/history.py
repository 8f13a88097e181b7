"""Scan history (``--history LOCATION``): where complete scans are kept, and where the next scan finds its baseline.

A location is a local directory or ``s3://bucket/prefix``. Each complete scan
is one entry named ``<started-at>-<scan id>`` (``20261130T170431751Z-e316...``:
names sort by time), holding ``results.json``, the reports the scan wrote, and
``manifest.json``, written last: an entry without its manifest (a scan that
died while storing) is not an entry. Interrupted scans are never stored.

The baseline of a scan is the most recent entry of the same scope (mode,
organization, regions and checks, as :func:`scope_of` states them) that
started before it; ``--baseline`` given explicitly wins. ``--history-keep N``
keeps the N most recent entries of every scope and deletes older ones.

S3 objects are written with ``ContentType`` and with explicit server-side
encryption headers: SSE-KMS with ``--history-kms-key``, otherwise the bucket's
default encryption as ``s3:GetEncryptionConfiguration`` reports it (sent as
headers, so that a bucket policy that denies puts without an encryption
header admits them). Every S3 failure is a :class:`HistoryError` naming the
bucket, the key and the IAM action (exit code 6).
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from scanner.errors import DocumentError, HistoryError, UsageError
from scanner.sanitizer import safe_text

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
DOCUMENT = "results.json"
#: An entry's name: the scan's start (UTC, to the millisecond) and its id.
ENTRY_NAME = re.compile(r"^(\d{8}T\d{9}Z)-([A-Za-z0-9_.-]{1,128})$")
#: A stored file's name: plain report file names only (no path separators, no dot files).
FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
CONTENT_TYPES = {".json": "application/json", ".sarif": "application/sarif+json", ".html": "text/html; charset=utf-8",
                 ".csv": "text/csv; charset=utf-8", ".md": "text/markdown; charset=utf-8"}
#: Largest manifest read: it lists a few file names.
MAX_MANIFEST_BYTES = 1024 * 1024
#: IAM actions of the scanner principal on the history (``orgscan iam-policy --scanner``).
S3_ACTIONS = ("s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetEncryptionConfiguration")
KMS_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
#: Bucket names as S3 allows them (general purpose buckets: 3 to 63 of a-z 0-9 . -).
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: What --history-kms-key accepts: a key id, alias or ARN of either.
KMS_KEY = re.compile(r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key/[A-Za-z0-9-]+|alias/[A-Za-z0-9/_-]+)|alias/[A-Za-z0-9/_-]+|[A-Za-z0-9-]{1,64})$")


@dataclass(frozen=True)
class Entry:
    """One stored scan: its name and its manifest."""

    name: str
    manifest: Mapping[str, Any]

    @property
    def scan_id(self) -> str:
        return str(self.manifest["scan_id"])

    @property
    def scope(self) -> Mapping[str, Any]:
        return self.manifest["scope"]


def scope_of(scan: Mapping[str, Any]) -> dict[str, Any]:
    """What makes two scans comparable: mode, organization, regions and checks (a plan or a document's ``scan``).

    A document lists bridged checks (``bridged_by``) too; they follow from the
    bridge's own check and are left out, so a plan and its document agree.
    """
    checks = [c if isinstance(c, str) else c["id"] for c in scan["checks"]
              if isinstance(c, str) or not c.get("bridged_by")]
    return {"mode": scan["mode"], "organization_id": scan.get("organization_id"),
            "regions": sorted(scan["regions"]), "checks": sorted(checks)}


def entry_name(scan: Mapping[str, Any]) -> str:
    """``20261130T170431751Z-<scan id>`` for a scan that started at 2026-11-30T17:04:31.751Z."""
    stamp = re.sub(r"[^0-9TZ]", "", str(scan["started_at"]))
    stamp = (stamp[:-1] if stamp.endswith("Z") else stamp).ljust(18, "0")[:18] + "Z"
    return f"{stamp}-{scan['id']}"


def _valid_manifest(manifest: Any) -> bool:
    if not isinstance(manifest, dict) or not isinstance(manifest.get("scan_id"), str):
        return False
    scope = manifest.get("scope")
    files = manifest.get("files")
    return (isinstance(scope, dict) and scope.get("mode") in ("organization", "account")
            and isinstance(scope.get("regions"), list) and isinstance(scope.get("checks"), list)
            and isinstance(files, list) and all(isinstance(f, str) and FILE_NAME.match(f) for f in files)
            and DOCUMENT in files and manifest.get("interrupted") is False)


class HistoryStore:
    """Entries under one location; subclasses move the bytes."""

    location: str

    # the bytes -------------------------------------------------------------

    def _names(self) -> list[str]:
        """Names of the entries that have a manifest."""
        raise NotImplementedError

    def _read(self, name: str, file: str, limit: int) -> bytes:
        raise NotImplementedError

    def _write(self, name: str, file: str, data: bytes) -> None:
        raise NotImplementedError

    def _delete(self, name: str, files: Sequence[str]) -> None:
        raise NotImplementedError

    def where(self, name: str, file: str = "") -> str:
        """The location of an entry (or of one of its files) for messages."""
        raise NotImplementedError

    def check_access(self) -> None:
        """Nothing, or a HistoryError: the location can be listed (called before a scan starts)."""
        self._names()

    # the entries ---------------------------------------------------------------

    def entries(self) -> list[Entry]:
        """Every complete entry, oldest first; an unreadable or malformed manifest is skipped with a warning."""
        from scanner.results_schema import parse_json

        found = []
        for name in sorted(self._names()):
            if not ENTRY_NAME.match(name):
                continue
            try:
                manifest = parse_json(self._read(name, MANIFEST, MAX_MANIFEST_BYTES), self.where(name, MANIFEST))
            except DocumentError as error:
                log.warning("history: %s is skipped: %s", self.where(name, MANIFEST), error)
                continue
            if not _valid_manifest(manifest):
                log.warning("history: %s is skipped: not an orgscan history manifest", self.where(name, MANIFEST))
                continue
            found.append(Entry(name, manifest))
        return found

    def find_baseline(self, scope: Mapping[str, Any], before: str) -> tuple[Entry, dict[str, Any]] | None:
        """The most recent complete entry of ``scope`` named before ``before`` and its valid document, or ``None``."""
        from scanner.results_schema import MAX_DOCUMENT_BYTES, parse_json, validate_document

        candidates = [e for e in self.entries() if e.name < before and dict(e.scope) == dict(scope)]
        for entry in reversed(candidates):
            source = self.where(entry.name, DOCUMENT)
            try:
                document = parse_json(self._read(entry.name, DOCUMENT, MAX_DOCUMENT_BYTES), source)
                validate_document(document, source)
            except DocumentError as error:
                log.warning("history: %s is not used as the baseline: %s", source, error)
                continue
            if document["scan"].get("interrupted"):
                continue
            return entry, document
        return None

    def store(self, document: Mapping[str, Any], files: Iterable[Path]) -> Entry:
        """Store a complete scan: its files first, the manifest last; returns the new entry."""
        scan = document["scan"]
        if scan.get("interrupted"):
            raise ValueError("an interrupted scan is never stored in the history")
        name = entry_name(scan)
        stored = []
        for path in files:
            path = Path(path)
            if FILE_NAME.match(path.name) and path.name != MANIFEST and path.is_file() and path.name not in stored:
                self._write(name, path.name, path.read_bytes())
                stored.append(path.name)
        if DOCUMENT not in stored:
            raise ValueError("results.json must be among the stored files")
        by_status = (document.get("summary") or {}).get("by_status") or {}
        manifest = {
            "scan_id": scan["id"], "started_at": scan["started_at"], "finished_at": scan.get("finished_at"),
            "interrupted": False, "scope": scope_of(scan), "files": stored,
            "by_status": {k: v for k, v in by_status.items() if isinstance(v, int)},
            "tool_version": (document.get("tool") or {}).get("version"),
        }
        self._write(name, MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"))
        return Entry(name, manifest)

    def prune(self, keep: int, scope: Mapping[str, Any]) -> list[str]:
        """Delete all but the ``keep`` most recent entries of ``scope``; returns the names deleted."""
        same = [e for e in self.entries() if dict(e.scope) == dict(scope)]
        doomed = same[:-keep] if keep > 0 else same
        for entry in doomed:
            # The manifest goes first: a half-deleted entry is no longer an entry.
            self._delete(entry.name, [MANIFEST, *[f for f in entry.manifest["files"] if f != MANIFEST]])
        return [e.name for e in doomed]


class LocalHistory(HistoryStore):
    """A directory of this user that nobody else can write (checked like ``--output-dir``)."""

    def __init__(self, path: Path) -> None:
        from scanner.output_dir import check_output_dir

        self.root = Path(path)
        self.location = str(self.root)
        check_output_dir(self.root, "--history")

    def where(self, name: str, file: str = "") -> str:
        return str(self.root / name / file) if file else str(self.root / name)

    def _names(self) -> list[str]:
        if not self.root.exists():
            return []
        try:
            return [p.name for p in self.root.iterdir() if (p / MANIFEST).is_file() and not p.is_symlink()]
        except OSError as error:
            raise HistoryError(f"--history {self.root}: cannot list: {error.strerror or error}") from None

    def _read(self, name: str, file: str, limit: int) -> bytes:
        path = self.root / name / file
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as handle:
                data = handle.read(limit + 1)
        except OSError as error:
            raise DocumentError(f"{path}: cannot read: {error.strerror or error}") from None
        if len(data) > limit:
            raise DocumentError(f"{path}: larger than {limit} bytes")
        return data

    def _write(self, name: str, file: str, data: bytes) -> None:
        from scanner.output_dir import make_private_dir
        from scanner.reporting import write_private_file

        try:
            make_private_dir(self.root, "--history")
            make_private_dir(self.root / name, "--history")
            write_private_file(self.root / name / file, data)
        except OSError as error:
            raise HistoryError(f"--history {self.root / name / file}: cannot write: {error.strerror or error}") from None

    def _delete(self, name: str, files: Sequence[str]) -> None:
        try:
            for file in files:
                (self.root / name / file).unlink(missing_ok=True)
            shutil.rmtree(self.root / name, ignore_errors=True)
        except OSError as error:
            raise HistoryError(f"--history {self.root / name}: cannot delete: {error.strerror or error}") from None


class S3History(HistoryStore):
    """``s3://bucket/prefix``, through the caller's own credentials (the scanner principal)."""

    def __init__(self, bucket: str, prefix: str, *, kms_key: str | None = None, profile: str | None = None,
                 region: str | None = None, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.location = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.kms_key = kms_key
        self._encryption: dict[str, str] | None = None
        if client is None:
            import botocore.session

            session = botocore.session.Session(profile=profile)
            client = session.create_client("s3", region_name=region or session.get_config_variable("region") or "us-east-1")
        self.client = client

    def key(self, name: str, file: str = "") -> str:
        parts = [p for p in (self.prefix, name, file) if p]
        return "/".join(parts)

    def where(self, name: str, file: str = "") -> str:
        return f"s3://{self.bucket}/{self.key(name, file)}"

    def _failure(self, action: str, key: str, error: Exception) -> HistoryError:
        import botocore.exceptions

        if isinstance(error, botocore.exceptions.ClientError):
            details = error.response.get("Error", {})
            reason = f"{details.get('Code', 'Error')}: {safe_text(str(details.get('Message', '')), 300)}"
        else:
            reason = safe_text(str(error), 300)
        hint = ""
        if action == "s3:PutObject" and "AccessDenied" in reason and not self.kms_key:
            hint = " (if the bucket policy requires SSE-KMS, give --history-kms-key)"
        return HistoryError(f"--history: {action} on bucket {self.bucket}, key {key or '/'} failed: {reason}{hint}")

    def _names(self) -> list[str]:
        import botocore.exceptions

        prefix = f"{self.prefix}/" if self.prefix else ""
        names = set()
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents") or []:
                    rest = item["Key"][len(prefix):]
                    name, _, file = rest.partition("/")
                    if file == MANIFEST:
                        names.add(name)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            raise self._failure("s3:ListBucket", prefix, error) from None
        return sorted(names)

    def _read(self, name: str, file: str, limit: int) -> bytes:
        import botocore.exceptions

        key = self.key(name, file)
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
            with answer["Body"] as body:
                data = body.read(limit + 1)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            raise self._failure("s3:GetObject", key, error) from None
        if len(data) > limit:
            raise DocumentError(f"{self.where(name, file)}: larger than {limit} bytes")
        return data

    def encryption(self) -> dict[str, str]:
        """The encryption headers of every put: SSE-KMS with the given key, else the bucket's default encryption."""
        import botocore.exceptions

        if self._encryption is not None:
            return self._encryption
        if self.kms_key:
            self._encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key}
            return self._encryption
        try:
            rules = self.client.get_bucket_encryption(Bucket=self.bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ServerSideEncryptionConfigurationNotFoundError":
                rules = []
            else:
                raise self._failure("s3:GetEncryptionConfiguration", "", error) from None
        except botocore.exceptions.BotoCoreError as error:
            raise self._failure("s3:GetEncryptionConfiguration", "", error) from None
        default = next((r.get("ApplyServerSideEncryptionByDefault") for r in rules if r.get("ApplyServerSideEncryptionByDefault")), None)
        headers: dict[str, str] = {}
        if default and default.get("SSEAlgorithm"):
            headers["ServerSideEncryption"] = default["SSEAlgorithm"]
            if default.get("KMSMasterKeyID"):
                headers["SSEKMSKeyId"] = default["KMSMasterKeyID"]
        self._encryption = headers
        return headers

    def check_access(self) -> None:
        super().check_access()
        self.encryption()

    def _write(self, name: str, file: str, data: bytes) -> None:
        import botocore.exceptions

        key = self.key(name, file)
        content_type = CONTENT_TYPES.get(Path(file).suffix, "application/octet-stream")
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, **self.encryption())
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            raise self._failure("s3:PutObject", key, error) from None

    def _delete(self, name: str, files: Sequence[str]) -> None:
        import botocore.exceptions

        for file in files:
            key = self.key(name, file)
            try:
                self.client.delete_object(Bucket=self.bucket, Key=key)
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
                raise self._failure("s3:DeleteObject", key, error) from None


def parse_s3_location(location: str) -> tuple[str, str]:
    """``(bucket, prefix)`` of ``s3://bucket/prefix``; UsageError naming what is wrong."""
    rest = location[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    if not BUCKET_NAME.match(bucket) or ".." in bucket:
        raise UsageError(f"--history {safe_text(location, 200)!r}: {safe_text(bucket, 80)!r} is not an S3 bucket name")
    if len(prefix) > 512 or any(ord(c) < 32 for c in prefix) or "//" in prefix:
        raise UsageError(f"--history {safe_text(location, 200)!r}: the prefix must be printable, without '//', at most 512 characters")
    return bucket, prefix


def validate_history_options(location: str | None, keep: int | None, kms_key: str | None) -> None:
    """Nothing, or a UsageError for the history options (checked with the other options, before anything runs)."""
    if location is None:
        if keep is not None or kms_key is not None:
            raise UsageError("--history-keep and --history-kms-key need --history")
        return
    if not location:
        raise UsageError("--history: give a directory or s3://bucket/prefix")
    if location.startswith("s3://"):
        parse_s3_location(location)
    elif kms_key is not None:
        raise UsageError("--history-kms-key applies to an s3:// history only")
    if keep is not None and not 1 <= keep <= 100_000:
        raise UsageError(f"--history-keep must be between 1 and 100000, not {keep}")
    if kms_key is not None and not KMS_KEY.match(kms_key):
        raise UsageError(f"--history-kms-key {safe_text(kms_key, 80)!r}: not a KMS key id, alias or ARN")


def open_history(location: str, *, kms_key: str | None = None, profile: str | None = None,
                 region: str | None = None) -> HistoryStore:
    """The store at ``location`` (a directory or ``s3://bucket/prefix``); UsageError when it cannot be one."""
    validate_history_options(location, None, kms_key)
    if location.startswith("s3://"):
        bucket, prefix = parse_s3_location(location)
        return S3History(bucket, prefix, kms_key=kms_key, profile=profile, region=region)
    return LocalHistory(Path(location))


def history_resources(location: str, kms_key: str | None, partition: str = "aws") -> list[dict[str, Any]]:
    """IAM policy statements for the scanner principal on the history at ``location`` (S3 only; a directory needs none)."""
    if not location.startswith("s3://"):
        return []
    bucket, prefix = parse_s3_location(location)
    prefix = prefix.strip("/")
    objects = f"arn:{partition}:s3:::{bucket}/{prefix + '/' if prefix else ''}*"
    list_statement: dict[str, Any] = {"Sid": "OrgscanHistoryList", "Effect": "Allow", "Action": ["s3:ListBucket"],
                                      "Resource": f"arn:{partition}:s3:::{bucket}"}
    if prefix:
        list_statement["Condition"] = {"StringLike": {"s3:prefix": [f"{prefix}/*", prefix, f"{prefix}/"]}}
    statements = [
        list_statement,
        {"Sid": "OrgscanHistoryObjects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": objects},
        {"Sid": "OrgscanHistoryEncryption", "Effect": "Allow", "Action": ["s3:GetEncryptionConfiguration"],
         "Resource": f"arn:{partition}:s3:::{bucket}"},
    ]
    if kms_key:
        kms: dict[str, Any] = {"Sid": "OrgscanHistoryKms", "Effect": "Allow", "Action": list(KMS_ACTIONS)}
        alias = kms_key.split(":", 5)[-1] if kms_key.startswith("arn:") else kms_key
        if alias.startswith("alias/"):
            # A policy names keys, not aliases; kms:ResourceAliases limits it to the key behind the alias.
            kms["Resource"] = f"arn:{partition}:kms:*:*:key/*"
            kms["Condition"] = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": alias}}
        else:
            kms["Resource"] = kms_key if kms_key.startswith("arn:") else f"arn:{partition}:kms:*:*:key/{kms_key}"
        statements.append(kms)
    return statements
