"""What every report needs from the result document: orderings and summary counts.

Reports are pure functions of ``results.json`` (schema version 1). A writer
trusts the document it is handed: one read from disk was validated against the
shipped schema (:mod:`scanner.results_schema`), and one a scan built conforms
by construction, so validating it again per writer would only cost time. This
module still reads optional parts defensively: checks contributed by a bridge
(e.g. Prowler) may appear in ``results`` without full metadata in
``scan.checks``, and optional fields may be missing or ``null``.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

# Shared with the uploads (scanner/integrations), so their home is the host; report writers import them from here.
from scanner.document_view import check_catalogue, text

#: Most severe first.
SEVERITIES = ("critical", "high", "medium", "low", "informational")
#: Worst first: what a cell of the accounts x checks matrix shows when several results meet.
STATUSES = ("FAIL", "ERROR", "PASS", "NOT_APPLICABLE")

_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}
_STATUS_RANK = {status: rank for rank, status in enumerate(STATUSES)}


def severity_rank(severity: str | None) -> int:
    """0 for critical up to 4 for informational; unknown severities sort last."""
    return _SEVERITY_RANK.get((severity or "").lower(), len(SEVERITIES))


def status_rank(status: str | None) -> int:
    """0 for FAIL (worst) up to 3 for NOT_APPLICABLE."""
    return _STATUS_RANK.get(status or "", len(STATUSES))


def worst_status(statuses: Iterable[str]) -> str | None:
    """The worst of ``statuses`` (FAIL, then ERROR, PASS, NOT_APPLICABLE), or ``None`` for none."""
    ranked = sorted(statuses, key=status_rank)
    return ranked[0] if ranked else None


def result_sort_key(result: Mapping[str, Any]) -> tuple:
    """Worst first, then most severe, then by account, region, check and resource: a stable, readable order."""
    return (
        status_rank(result.get("status")),
        severity_rank(result.get("severity")),
        str(result.get("account_id") or ""),
        str(result.get("region") or ""),
        str(result.get("check_id") or ""),
        str(result.get("resource_id") or ""),
        str(result.get("fingerprint") or ""),
    )


#: Unicode bidirectional formatting characters (embeddings, overrides, isolates, marks): in a report they
#: can reorder what a reader sees ("Trojan Source", CVE-2021-42574), so a hostile account name could make
#: ``evil`` read as something else. Reports show each one as a visible ``<U+XXXX>``.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI_CONTROL = re.compile(f"[{BIDI_CONTROLS}]")


def show_bidi_controls(value: str) -> str:
    """``value`` with every bidirectional control character replaced by its visible name, e.g. ``<U+202E>``."""
    if not _BIDI_CONTROL.search(value):
        return value
    return _BIDI_CONTROL.sub(lambda match: f"<U+{ord(match.group()):04X}>", value)


def displayable(value: Any) -> Any:
    """``value`` (a document or any part of it) with bidi controls made visible in every string, keys included.

    Parts without such characters are returned as they are (no copy), so a
    clean document costs one scan of its strings.
    """
    if isinstance(value, str):
        return show_bidi_controls(value)
    if isinstance(value, Mapping):
        items = [(displayable(key), displayable(item)) for key, item in value.items()]
        if all(new_key is key and new_item is item for (new_key, new_item), (key, item) in zip(items, value.items())):
            return value
        return dict(items)
    if isinstance(value, (list, tuple)):
        converted = [displayable(item) for item in value]
        if all(new is old for new, old in zip(converted, value)):
            return value
        return converted
    return value


def ou_path_of(value: Any) -> list[dict[str, str]] | None:
    """A document's ``ou_path`` as a clean list of ``{"id", "name"}`` strings, or ``None`` when absent or unknown."""
    if not isinstance(value, list):
        return None
    path = [{"id": text(unit.get("id")), "name": text(unit.get("name"))} for unit in value if isinstance(unit, Mapping)]
    return path if path and all(unit["id"] for unit in path) else None


def ou_names(path: list[dict[str, str]] | None) -> str:
    """The OU path's names joined by ``/``, root first (``Root/Workloads/Prod``); empty when unknown.

    An OU name may itself contain ``/``: :func:`ou_ids` is the unambiguous form.
    """
    return "/".join(unit["name"] or unit["id"] for unit in path) if path else ""


def ou_ids(path: list[dict[str, str]] | None) -> str:
    """The OU path's ids joined by ``/``, root first (``r-ab12/ou-ab12-11111111``); empty when unknown."""
    return "/".join(unit["id"] for unit in path) if path else ""


@dataclass
class AccountRow:
    id: str
    name: str
    status: str
    error: str
    counts: Counter = field(default_factory=Counter)
    #: Root first; ``None``: not read (account mode) or unknown.
    ou_path: list[dict[str, str]] | None = None

    @property
    def pass_rate(self) -> float | None:
        return _pass_rate(self.counts)


@dataclass
class CheckRow:
    id: str
    title: str
    severity: str
    service: str
    counts: Counter = field(default_factory=Counter)

    @property
    def pass_rate(self) -> float | None:
        return _pass_rate(self.counts)


def _pass_rate(counts: Mapping[str, int]) -> float | None:
    judged = counts.get("PASS", 0) + counts.get("FAIL", 0)
    return None if judged == 0 else counts.get("PASS", 0) / judged


@dataclass
class OuGroup:
    """The accounts directly in one OU (the last unit of ``path``), or those whose OU is unknown (``path`` None)."""

    path: list[dict[str, str]] | None
    accounts: list[AccountRow]
    counts: Counter = field(default_factory=Counter)

    @property
    def key(self) -> str:
        """The OU's id (``unknown`` for accounts whose OU path the organization did not give)."""
        return self.path[-1]["id"] if self.path else "unknown"

    @property
    def label(self) -> str:
        return ou_names(self.path) if self.path else "OU unknown"

    @property
    def pass_rate(self) -> float | None:
        return _pass_rate(self.counts)


def ou_groups(accounts: Sequence[AccountRow]) -> list[OuGroup]:
    """Accounts grouped by the OU they sit in, in path order (parents before children), unknown paths last."""
    groups: dict[str, OuGroup] = {}
    for row in accounts:
        key = ou_ids(row.ou_path) or "unknown"
        group = groups.setdefault(key, OuGroup(row.ou_path, []))
        group.accounts.append(row)
        group.counts.update(row.counts)
    return sorted(groups.values(), key=lambda g: (g.path is None, [(u["name"].lower(), u["id"]) for u in g.path or []]))


def ou_memberships(row: AccountRow) -> list[str]:
    """The ids of every OU (and root) an account is under, for filtering by OU; ``["unknown"]`` when unknown."""
    return [unit["id"] for unit in row.ou_path] if row.ou_path else ["unknown"]


def ou_choices(accounts: Sequence[AccountRow]) -> list[tuple[str, str]]:
    """Every OU above some account as (id, label), parents before children; ``("unknown", ...)`` last if any."""
    seen: dict[str, list[dict[str, str]]] = {}
    unknown = False
    for row in accounts:
        if not row.ou_path:
            unknown = True
            continue
        for depth in range(1, len(row.ou_path) + 1):
            seen.setdefault(row.ou_path[depth - 1]["id"], row.ou_path[:depth])
    choices = sorted(seen.values(), key=lambda path: [(u["name"].lower(), u["id"]) for u in path])
    result = [(path[-1]["id"], ou_names(path)) for path in choices]
    return result + ([("unknown", "OU unknown")] if unknown else [])


@dataclass
class Overview:
    """Counts every summary-style report shows, computed once from the document.

    The pass rate is PASS / (PASS + FAIL): ERROR and NOT_APPLICABLE results
    say nothing about compliance and are counted separately.
    """

    status_counts: Counter
    failed_by_severity: Counter
    accounts: list[AccountRow]
    checks: list[CheckRow]
    #: (account id, check id) -> Counter of statuses
    matrix: dict[tuple[str, str], Counter]

    @property
    def pass_rate(self) -> float | None:
        return _pass_rate(self.status_counts)

    @property
    def total(self) -> int:
        return sum(self.status_counts.values())

    def worst(self, account_id: str, check_id: str) -> str | None:
        counts = self.matrix.get((account_id, check_id))
        return worst_status(counts) if counts else None

    @property
    def errored_accounts(self) -> list[AccountRow]:
        return [row for row in self.accounts if row.status == "error"]

    @property
    def skipped_accounts(self) -> list[AccountRow]:
        return [row for row in self.accounts if row.status == "skipped"]

    @property
    def has_ou_paths(self) -> bool:
        """Whether any account's OU path is known (an organization scan that read them)."""
        return any(row.ou_path for row in self.accounts)


def build_overview(document: Mapping[str, Any]) -> Overview:
    """Count the document's results by status, severity, account, check and (account, check)."""
    catalogue = check_catalogue(document)
    status_counts: Counter = Counter()
    failed_by_severity: Counter = Counter()
    per_account: dict[str, Counter] = defaultdict(Counter)
    per_check: dict[str, Counter] = defaultdict(Counter)
    matrix: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for result in document.get("results") or []:
        status = result["status"]
        status_counts[status] += 1
        if status == "FAIL":
            failed_by_severity[text(result.get("severity")).lower() or "informational"] += 1
        per_account[result["account_id"]][status] += 1
        per_check[result["check_id"]][status] += 1
        matrix[(result["account_id"], result["check_id"])][status] += 1

    accounts: list[AccountRow] = []
    listed: set[str] = set()
    result_paths = {r["account_id"]: r.get("ou_path") for r in document.get("results") or [] if r.get("ou_path")}
    for entry in document.get("scan", {}).get("accounts") or []:
        account_id = text(entry.get("id"))
        listed.add(account_id)
        accounts.append(
            AccountRow(
                id=account_id,
                name=text(entry.get("name")),
                status=text(entry.get("status")) or "scanned",
                error=text(entry.get("error")),
                counts=per_account.get(account_id, Counter()),
                ou_path=ou_path_of(entry.get("ou_path", result_paths.get(account_id))),
            )
        )
    for account_id in sorted(set(per_account) - listed):
        accounts.append(AccountRow(id=account_id, name="", status="scanned", error="", counts=per_account[account_id],
                                   ou_path=ou_path_of(result_paths.get(account_id))))
    accounts.sort(key=lambda row: (row.name.lower() or "\uffff", row.id))

    checks = [
        CheckRow(id=meta["id"], title=meta["title"], severity=meta["severity"], service=meta["service"],
                 counts=per_check.get(meta["id"], Counter()))
        for meta in catalogue.values()
    ]
    checks.sort(key=lambda row: (severity_rank(row.severity), row.id))
    return Overview(
        status_counts=status_counts,
        failed_by_severity=failed_by_severity,
        accounts=accounts,
        checks=checks,
        matrix=dict(matrix),
    )


def compliance_of(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The per-control summary (``summary.compliance``), recomputed from ``scan.frameworks`` when the summary lacks it."""
    from scanner.frameworks import compliance_summary

    summary = (document.get("summary") or {}).get("compliance")
    if isinstance(summary, list):
        return [entry for entry in summary if isinstance(entry, Mapping)]
    frameworks = [f for f in document.get("scan", {}).get("frameworks") or [] if isinstance(f, Mapping)]
    return compliance_summary(frameworks, document.get("results") or []) if frameworks else []


def percent(rate: float | None) -> str:
    """A pass rate for people: ``"87.5%"``, or ``"n/a"`` when nothing was judged."""
    return "n/a" if rate is None else f"{rate * 100:.1f}%"


def ordered_statuses(counts: Mapping[str, int]) -> Sequence[tuple[str, int]]:
    """``counts`` as (status, count) pairs in the canonical order, zeros included."""
    return [(status, counts.get(status, 0)) for status in STATUSES]
