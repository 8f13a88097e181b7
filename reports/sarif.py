"""The ``sarif`` format: SARIF 2.1.0 for GitHub code scanning and other dashboards (``results.sarif``).

One rule per check, one result per FAIL (and per PASS with ``sarif-with-pass``),
ERROR results as tool execution notifications. AWS resources have no source
file, so each result points at a relative pseudo path
``aws/<account>/<region>/<service>/<resource-id>`` (line 1), which GitHub
accepts, and names the resource's ARN as a logical location.

GitHub rejects a file with more than 20 runs, a run with more than 25,000
results, or a file over 10 MB gzipped. Past a limit the output is split, by
account, then region, then check, into several runs with distinct, stable
categories (``automationDetails.id``) and as many files as needed
(``results-001.sarif``, ``results-002.sarif``, ...). Nothing is truncated.
"""
from __future__ import annotations

import gzip
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence
from urllib.parse import quote

from scanner import hookimpl
from scanner.reporting import ReportFormat, write_private_file

from reports.overview import check_catalogue, displayable, result_sort_key, text

LOG = logging.getLogger("orgscan.reports.sarif")

SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
#: File name stems: ``results.sarif`` / ``results-001.sarif``; with PASS results, ``results-with-pass.sarif`` / ...
STEM = "results"
STEM_WITH_PASS = "results-with-pass"
FINGERPRINT_KEY = "orgscanFingerprint/v1"

# GitHub's scale: critical >= 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "informational": "0.1"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "informational": "note"}
MAX_TAGS_PER_RULE = 20


@dataclass(frozen=True)
class GitHubLimits:
    """GitHub code scanning's hard limits on one uploaded SARIF file."""

    results_per_run: int = 25_000
    runs_per_file: int = 20
    #: 10 MB gzipped; counted in decimal megabytes to stay on the safe side.
    gzipped_bytes_per_file: int = 10_000_000


GITHUB_LIMITS = GitHubLimits()

# How a run too large for GitHub is split, coarsest first. The last level
# cuts the results of one (account, region, check) into numbered parts.
_SPLIT_LEVELS = ("account", "region", "check", "part")


@dataclass
class _RunGroup:
    """The results of one run and the path of keys that selected them, e.g. ``("111122223333", "eu-west-1")``."""

    keys: tuple[str, ...]
    results: list[Mapping[str, Any]]
    notes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def level(self) -> int:
        return len(self.keys)


@dataclass(frozen=True)
class SarifOutput:
    """The files one document renders to: their names and contents, and why it was split (if it was)."""

    files: list[tuple[str, bytes]]
    run_count: int
    split_reason: str | None

    @property
    def split(self) -> bool:
        return len(self.files) > 1 or self.split_reason is not None


def fits_one_file(document: Mapping[str, Any], include_pass: bool = False, limits: GitHubLimits | None = None) -> bool:
    """Whether the document certainly renders to a single file, decided without rendering it.

    A SARIF result repeats its record's data at most about four times (the
    location, the logical location, the properties) plus a fixed envelope, and
    gzip never makes data much larger, so a small enough upper bound on the
    uncompressed size settles it. ``False`` means "render it to find out".
    """
    limits = limits or GITHUB_LIMITS
    reported = {"FAIL", "ERROR", "PASS"} if include_pass else {"FAIL", "ERROR"}
    selected = [r for r in document["results"] if r["status"] in reported] + list(document.get("fixed") or [])
    if sum(1 for r in selected if r["status"] != "ERROR") > limits.results_per_run:
        return False
    bound = 1_000_000 + sum(1_000 + 4 * len(json.dumps(r, ensure_ascii=False)) for r in selected)
    return bound < limits.gzipped_bytes_per_file


def build_sarif(
    document: Mapping[str, Any], include_pass: bool = False, limits: GitHubLimits | None = None
) -> SarifOutput:
    """Render the document as one or more SARIF 2.1.0 files that each fit within GitHub's ``limits``."""
    limits = limits or GITHUB_LIMITS
    document = displayable(document)
    catalogue = check_catalogue(document)
    rule_ids = sorted(catalogue)
    rules = [_rule(catalogue[check_id]) for check_id in rule_ids]
    rule_index = {check_id: index for index, check_id in enumerate(rule_ids)}
    builder = _RunBuilder(document, rules, rule_index, include_pass)

    reported = {"FAIL", "ERROR", "PASS"} if include_pass else {"FAIL", "ERROR"}
    # Fixed findings (``--baseline``) are reported too, as results with baselineState "absent"; with PASS
    # results, one that passes now is that PASS result (baselineState "updated", same fingerprint).
    fixed = [f for f in document.get("fixed") or [] if not (include_pass and f.get("fixed_reason") == "passes")]
    selected = sorted([*(r for r in document["results"] if r["status"] in reported), *fixed], key=result_sort_key)
    whole = _RunGroup(keys=(), results=selected, notes=_account_notes(document))

    runs: list[dict[str, Any]] = []
    reasons: set[str] = set()
    pending = [whole]
    while pending:
        group = pending.pop(0)
        run, reason = _run_within_limits(group, builder, limits)
        if run is not None:
            runs.append(run)
            continue
        reasons.add(reason)
        pending[0:0] = _split(group, limits)

    files = _pack_runs(runs, builder, limits, reasons)
    split_reason = "; ".join(sorted(reasons)) if reasons else None
    stem = STEM_WITH_PASS if include_pass else STEM
    if len(files) == 1 and split_reason is None:
        named = [(f"{stem}.sarif", files[0])]
    else:
        named = [(f"{stem}-{number:03d}.sarif", content) for number, content in enumerate(files, start=1)]
    return SarifOutput(files=named, run_count=len(runs), split_reason=split_reason)


def _run_within_limits(
    group: _RunGroup, builder: "_RunBuilder", limits: GitHubLimits
) -> tuple[dict[str, Any] | None, str]:
    """``group`` as one run, or ``None`` and the reason it is too large for one (too many results, too many bytes)."""
    counted = sum(1 for result in group.results if result["status"] != "ERROR")
    if counted > limits.results_per_run:
        return None, f"more than {limits.results_per_run:,} results in one run"
    run = builder.run(group)
    if len(group.results) > 1 and builder.gzipped_size(run) > limits.gzipped_bytes_per_file:
        return None, f"a run larger than {limits.gzipped_bytes_per_file:,} bytes gzipped"
    return run, ""


def _split(group: _RunGroup, limits: GitHubLimits) -> list[_RunGroup]:
    """``group`` cut along the next split level; account notes stay with the first part."""
    level = _SPLIT_LEVELS[min(group.level, len(_SPLIT_LEVELS) - 1)]
    if level == "part":
        size = max(1, min(limits.results_per_run, -(-len(group.results) // 2)))
        chunks = [group.results[start:start + size] for start in range(0, len(group.results), size)]
        if group.level < len(_SPLIT_LEVELS):
            labels = [f"part-{n:03d}" for n in range(1, len(chunks) + 1)]
            prefix = group.keys
        else:  # a part that is still too large is cut again: part-001 -> part-001.1, part-001.2
            labels = [f"{group.keys[-1]}.{n}" for n in range(1, len(chunks) + 1)]
            prefix = group.keys[:-1]
        parts = [_RunGroup(keys=prefix + (label,), results=chunk) for label, chunk in zip(labels, chunks)]
    else:
        field_name = {"account": "account_id", "region": "region", "check": "check_id"}[level]
        buckets: dict[str, list[Mapping[str, Any]]] = {}
        for result in group.results:
            buckets.setdefault(str(result[field_name]), []).append(result)
        parts = [_RunGroup(keys=group.keys + (key,), results=buckets[key]) for key in sorted(buckets)]
    if not parts:
        parts = [_RunGroup(keys=group.keys + ("-",), results=[])]
    parts[0].notes = group.notes + parts[0].notes
    return parts


def _pack_runs(
    runs: list[dict[str, Any]], builder: "_RunBuilder", limits: GitHubLimits, reasons: set[str]
) -> list[bytes]:
    """Runs packed in order into as few files as the limits allow (at most ``runs_per_file`` each, under the size limit).

    A file's gzipped size is estimated as the sum of its runs' gzipped sizes,
    which overestimates (runs compress better together), so a packed file never exceeds the limit.
    """
    files: list[bytes] = []
    current: list[dict[str, Any]] = []
    current_size = 0
    for run in runs:
        size = builder.gzipped_size(run)
        if current and len(current) + 1 > limits.runs_per_file:
            reasons.add(f"more than {limits.runs_per_file} runs per file")
        elif current and current_size + size > limits.gzipped_bytes_per_file:
            reasons.add(f"a file larger than {limits.gzipped_bytes_per_file:,} bytes gzipped")
        else:
            current.append(run)
            current_size += size
            continue
        files.append(builder.log(current))
        current, current_size = [run], size
    files.append(builder.log(current))
    return files


def _account_notes(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Notifications for accounts that were skipped or could not be reached (they have no findings to show)."""
    notes = []
    for account in document.get("scan", {}).get("accounts") or []:
        status = text(account.get("status"))
        if status not in ("skipped", "error"):
            continue
        account_id = text(account.get("id"))
        reason = text(account.get("error")) or ("not scanned" if status == "skipped" else "could not be scanned")
        notes.append(
            {
                "level": "error" if status == "error" else "note",
                "message": {"text": f"account {account_id} {'skipped' if status == 'skipped' else 'not scanned'}: {reason}"},
                "properties": {"account_id": account_id, "account_status": status},
            }
        )
    return notes


class _RunBuilder:
    """Turns groups of results into SARIF runs and runs into SARIF files, sharing the rules."""

    def __init__(self, document: Mapping[str, Any], rules: list[dict[str, Any]], rule_index: dict[str, int],
                 include_pass: bool) -> None:
        self.document = document
        self.rules = rules
        self.rule_index = rule_index
        self.include_pass = include_pass
        # id(run) -> (size, run); the run is kept so that its id is not reused.
        self._sizes: dict[int, tuple[int, dict[str, Any]]] = {}
        scan = document.get("scan", {})
        self.scan = scan
        self.scope = _analysis_scope(document)
        self.tool = {
            "driver": {
                "name": text(document.get("tool", {}).get("name")) or "orgscan",
                "version": text(document.get("tool", {}).get("version")) or "0",
                "rules": rules,
            }
        }
        version = text(document.get("tool", {}).get("version"))
        if re.match(r"^\d+\.\d+\.\d+", version):
            self.tool["driver"]["semanticVersion"] = version

    def log(self, runs: Sequence[dict[str, Any]]) -> bytes:
        """A SARIF file holding ``runs``: compact JSON with sorted keys, so the same document gives the same bytes."""
        content = {"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": list(runs)}
        return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def gzipped_size(self, run: dict[str, Any]) -> int:
        """Bytes of a file holding only ``run``, gzipped (what GitHub's 10 MB limit counts)."""
        key = id(run)
        if key not in self._sizes:
            self._sizes[key] = (len(gzip.compress(self.log([run]), compresslevel=6, mtime=0)), run)
        return self._sizes[key][0]

    def run(self, group: _RunGroup) -> dict[str, Any]:
        results = []
        notifications = list(group.notes)
        for result in group.results:
            if result["status"] == "ERROR":
                notifications.append(self._notification(result))
            else:
                results.append(self._result(result))
        category = "/".join(["orgscan", _category_segment(self.scope)] + [_category_segment(k) for k in group.keys])
        scan_id = _category_segment(text(self.scan.get("id")) or "scan")
        invocation: dict[str, Any] = {
            "executionSuccessful": not any(n["level"] == "error" for n in notifications),
            "toolExecutionNotifications": notifications,
        }
        for key, sarif_key in (("started_at", "startTimeUtc"), ("finished_at", "endTimeUtc")):
            if self.scan.get(key):
                invocation[sarif_key] = text(self.scan[key])
        properties: dict[str, Any] = {
            "scanId": text(self.scan.get("id")),
            "mode": text(self.scan.get("mode")),
            "organizationId": self.scan.get("organization_id"),
            "regions": list(self.scan.get("regions") or []),
            "includesPassResults": self.include_pass,
        }
        if group.keys:
            properties["splitBy"] = dict(zip(_SPLIT_LEVELS, group.keys))
        return {
            "tool": self.tool,
            "automationDetails": {
                "id": f"{category}/{scan_id}",
                "description": {"text": f"orgscan scan of {self.scope}" + (f" ({', '.join(group.keys)})" if group.keys else "")},
            },
            "invocations": [invocation],
            "results": results,
            "columnKind": "unicodeCodePoints",
            "properties": properties,
        }

    def _result(self, result: Mapping[str, Any]) -> dict[str, Any]:
        check_id = result["check_id"]
        rule = self.rules[self.rule_index[check_id]]
        severity = text(result.get("severity")).lower() or rule["properties"]["orgscan-severity"]
        # A fixed finding (baselineState "absent") carries the baseline's FAIL record, but nothing fails any more:
        # as kind "fail" a dashboard that reads only kind and level (GitHub code scanning) would keep its alert open.
        passed = result["status"] == "PASS" or baseline_state(result) == "absent"
        arn = text(result.get("resource_arn"))
        resource_id = text(result.get("resource_id")) or result["account_id"]
        location: dict[str, Any] = {
            "physicalLocation": {
                "artifactLocation": {"uri": resource_uri(result, rule["properties"]["orgscan-service"])},
                "region": {"startLine": 1},
            },
            "logicalLocations": [
                {"name": resource_id, "fullyQualifiedName": arn or resource_id, "kind": "resource"}
            ],
        }
        properties = {
            "account_id": result["account_id"],
            "region": result["region"],
            "resource_arn": arn or None,
            "resource_id": resource_id,
            "resource_type": text(result.get("resource_type")),
            "severity": severity,
            "evidence": result.get("evidence") or {},
        }
        sarif_result = {
            "ruleId": check_id,
            "ruleIndex": self.rule_index[check_id],
            "kind": "pass" if passed else "fail",
            "level": "none" if passed else LEVEL.get(severity, "warning"),
            "message": {"text": text(result.get("message")) or rule["shortDescription"]["text"]},
            "locations": [location],
            "partialFingerprints": {FINGERPRINT_KEY: text(result.get("fingerprint")) or _fallback_fingerprint(result)},
            "properties": properties,
        }
        suppressions = sarif_suppressions(result)
        if suppressions:
            sarif_result["suppressions"] = suppressions
        state = baseline_state(result)
        if state is not None:
            sarif_result["baselineState"] = state
            if state == "absent":
                properties["fixed_reason"] = text(result.get("fixed_reason"))
        return sarif_result

    def _notification(self, result: Mapping[str, Any]) -> dict[str, Any]:
        check_id = result["check_id"]
        where = f"{result['account_id']}/{result['region']}"
        return {
            "level": "error",
            "message": {"text": f"{check_id} could not judge {where}: {text(result.get('message')) or 'error'}"},
            "associatedRule": {"id": check_id, "index": self.rule_index[check_id]},
            "locations": [
                {"logicalLocations": [{"fullyQualifiedName": f"aws/{where}", "kind": "namespace"}]}
            ],
            "properties": {
                "account_id": result["account_id"],
                "region": result["region"],
                "resource_id": text(result.get("resource_id")),
            },
        }


def sarif_suppressions(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """SARIF 2.1.0 suppression objects (result.suppressions) for an accepted risk (empty for any other result).

    ``kind: external``: the decision is kept outside the scanned "code" (the
    suppression file); ``status: accepted``: it is in force. Code-scanning
    dashboards show such a result as dismissed.
    """
    suppression = result.get("suppression")
    if not isinstance(suppression, Mapping):
        return []
    entry = suppression.get("entry") if isinstance(suppression.get("entry"), Mapping) else {}
    return [{
        "kind": "external",
        "status": "accepted",
        "justification": text(suppression.get("justification")),
        "properties": {
            "owner": text(suppression.get("owner")),
            "expires": text(suppression.get("expires")),
            "entry": entry.get("index"),
            "entry_id": entry.get("id"),
        },
    }]
#: SARIF 2.1.0 section 3.27.24 (result.baselineState) for orgscan's ``change`` (scanner/baseline.py).
BASELINE_STATE = {"new": "new", "unchanged": "unchanged", "changed": "updated"}


def baseline_state(result: Mapping[str, Any]) -> str | None:
    """The result's SARIF ``baselineState``: ``absent`` for a fixed finding, else from its ``change``; ``None`` without a baseline."""
    if "fixed_reason" in result:
        return "absent"
    return BASELINE_STATE.get(text(result.get("change"))) if result.get("change") else None


def _analysis_scope(document: Mapping[str, Any]) -> str:
    """What was scanned, for ``automationDetails.id``: the organization id, else the (single) account id."""
    scan = document.get("scan", {})
    if scan.get("organization_id"):
        return text(scan["organization_id"])
    accounts = [text(a.get("id")) for a in scan.get("accounts") or [] if a.get("id")]
    if not accounts:
        accounts = sorted({r["account_id"] for r in document.get("results") or []})
    return accounts[0] if len(accounts) == 1 else "accounts"


def _category_segment(value: str) -> str:
    # automationDetails.id uses "/" to separate the category from the run id.
    return re.sub(r"[^A-Za-z0-9._-]", "_", value) or "_"


def _fallback_fingerprint(result: Mapping[str, Any]) -> str:
    from scanner.model import fingerprint

    return fingerprint(result["check_id"], result["account_id"], result["region"], text(result.get("resource_id")))


def resource_uri(result: Mapping[str, Any], service: str) -> str:
    """The pseudo path a result is shown at: ``aws/<account>/<region>/<service>/<resource-id>``, percent-encoded."""
    segments = [
        "aws",
        result["account_id"],
        result["region"],
        text(result.get("service")) or service or "aws",
        text(result.get("resource_id")) or result["account_id"],
    ]
    return "/".join(_uri_segment(segment) for segment in segments)


_UNRESERVED = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*")


def _uri_segment(segment: str) -> str:
    if _UNRESERVED.fullmatch(segment) and segment.strip("."):
        return segment  # nothing to encode (the common case, and quote() is slow)
    encoded = quote(segment, safe="")
    # "." and ".." would be resolved away as relative path steps.
    if encoded in (".", ".."):
        encoded = encoded.replace(".", "%2E")
    return encoded or "_"


def _rule(meta: Mapping[str, Any]) -> dict[str, Any]:
    severity = meta["severity"] if meta["severity"] in LEVEL else "informational"
    remediation = meta["remediation"]
    help_uri = next(
        (url for url in (remediation.get("url") or "", *meta["references"]) if url.startswith(("https://", "http://"))
         and not any(c.isspace() for c in url)), ""
    )
    tags = ["security"]
    if meta["service"]:
        tags.append(meta["service"])
    tags.extend(f"{item['framework']} {item['control']}".strip() for item in meta["compliance"])
    unique_tags = list(dict.fromkeys(tag for tag in tags if tag))[:MAX_TAGS_PER_RULE]
    rule: dict[str, Any] = {
        "id": meta["id"],
        "name": "".join(part.capitalize() for part in re.split(r"[_.]", meta["id"]) if part),
        "shortDescription": {"text": meta["title"]},
        "fullDescription": {"text": meta["rationale"] or meta["title"]},
        "help": {"text": _help_text(meta), "markdown": _help_markdown(meta)},
        "defaultConfiguration": {"level": LEVEL[severity]},
        "properties": {
            "tags": unique_tags,
            "security-severity": SECURITY_SEVERITY[severity],
            "precision": "high",
            "orgscan-severity": severity,
            "orgscan-service": meta["service"],
            "orgscan-resource-type": meta["resource_type"],
        },
    }
    if help_uri:
        rule["helpUri"] = help_uri
    return rule


def _help_text(meta: Mapping[str, Any]) -> str:
    remediation = meta["remediation"]
    parts = [meta["rationale"] or meta["title"], "Remediation: " + (remediation["text"] or "see the references.")]
    if remediation["cli"]:
        parts.append("CLI:\n" + remediation["cli"])
    if remediation["iac"]:
        parts.append("IaC:\n" + remediation["iac"])
    if meta["references"]:
        parts.append("References:\n" + "\n".join(meta["references"]))
    return "\n\n".join(parts)


def _fenced(code: str, language: str) -> str:
    fence = "```"
    while fence in code:
        fence += "`"
    return f"{fence}{language}\n{code}\n{fence}"


def _help_markdown(meta: Mapping[str, Any]) -> str:
    remediation = meta["remediation"]
    parts = [f"**{meta['title']}**", meta["rationale"] or "", "## Remediation", remediation["text"] or "See the references."]
    if remediation["cli"]:
        parts.append(_fenced(remediation["cli"], "sh"))
    if remediation["iac"]:
        parts.append(_fenced(remediation["iac"], "yaml"))
    if meta["compliance"]:
        parts.append("## Compliance\n" + "\n".join(f"- {c['framework']}: {c['control']}" for c in meta["compliance"]))
    if meta["references"]:
        parts.append("## References\n" + "\n".join(f"- <{ref}>" for ref in meta["references"]))
    return "\n\n".join(part for part in parts if part)


def write_sarif_files(document: Mapping[str, Any], output_dir: Path, include_pass: bool = False) -> list[Path]:
    """Write ``results.sarif`` (or, past GitHub's limits, ``results-NNN.sarif``) and remove stale parts.

    With ``include_pass`` the stem is ``results-with-pass``, so both variants can sit side by side.
    """
    output = build_sarif(document, include_pass=include_pass)
    output_dir = Path(output_dir)
    written = [write_private_file(output_dir / name, content) for name, content in output.files]
    names = {name for name, _ in output.files}
    ours = re.compile(rf"^{re.escape(STEM_WITH_PASS if include_pass else STEM)}(-\d{{3,}})?\.sarif$")
    # A previous render may have been split differently: a leftover part
    # would be uploaded with this one and report stale alerts.
    if output_dir.is_dir():
        for stale in output_dir.iterdir():
            if stale.name not in names and ours.match(stale.name):
                stale.unlink()
    if output.split:
        LOG.warning(
            "SARIF output split into %d files (%d runs) because of GitHub's limits (%s): upload each of %s",
            len(output.files), output.run_count, output.split_reason, ", ".join(name for name, _ in output.files),
        )
    return written


def _write_failures(document: Mapping[str, Any], output_dir: Path) -> list[Path]:
    return write_sarif_files(document, output_dir, include_pass=False)


def _write_with_pass(document: Mapping[str, Any], output_dir: Path) -> list[Path]:
    return write_sarif_files(document, output_dir, include_pass=True)


@hookimpl
def orgscan_register_report_formats() -> list[ReportFormat]:
    return [
        ReportFormat("sarif", "results.sarif (SARIF 2.1.0) for GitHub code scanning: FAIL results, errors as notifications",
                     _write_failures),
        ReportFormat("sarif-with-pass", "results-with-pass.sarif: like 'sarif', plus PASS results as kind 'pass'",
                     _write_with_pass),
    ]
