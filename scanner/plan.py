"""The scan plan: which accounts, which regions of each, which checks, and how accounts are reached.

Made once, by :func:`scanner.targets.plan_scan`, before any check runs, and
immutable from then on: every executor (local threads, Dask workers) and
``--resume`` work from the same :class:`ScanPlan`, so the document can account
for every planned (account, region, check). It is stored in the spool as
``plan.json`` (:meth:`ScanPlan.to_dict`, with the scan's settings beside it) and
read back, validated, by :meth:`ScanPlan.from_dict`.

A target is one account and one region (or ``global`` for account-wide
checks); its checks run one after another and share the account's answer cache.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from scanner.config import ACCOUNT_ID_PATTERN, RoleSettings
from scanner.errors import UsageError
from scanner.model import GLOBAL_REGION, Check, Scope

ACCOUNT_STATUSES = ("scanned", "error", "skipped")
MODES = ("organization", "account")


@dataclass(frozen=True)
class OrganizationalUnit:
    """An OU (or the root) above an account: its id and its name as the organization gave it (made safe)."""

    id: str
    name: str


@dataclass(frozen=True)
class PlannedAccount:
    """An account of the plan: ``scanned``, ``skipped`` (suspended, closed) or ``error`` (its role could not be assumed).

    ``regions`` are the account's regions to scan, in order; ``ou_path`` the OUs
    above it, root first, ``None`` when not read (account mode) or unknown.
    """

    id: str
    name: str = ""
    status: str = "scanned"
    error: str | None = None
    regions: tuple[str, ...] = ()
    ou_path: tuple[OrganizationalUnit, ...] | None = None

    def ou_path_dicts(self) -> list[dict[str, str]] | None:
        """The OU path as results.json writes it: ``[{"id", "name"}, ...]`` or ``None``."""
        return None if self.ou_path is None else [{"id": unit.id, "name": unit.name} for unit in self.ou_path]


@dataclass(frozen=True)
class Target:
    account_id: str
    region: str  # a region, or "global" for account-wide checks


#: Targets and the checks planned for each: what an executor runs.
Work = list[tuple[Target, list[str]]]


@dataclass(frozen=True)
class ScanPlan:
    """What one scan covers, fixed before any check runs.

    ``regions`` is the union of the accounts' regions. ``default_region`` is
    where account-wide and organization-wide calls go when an account has no
    planned region; it and ``role`` come from the settings (decided once, by
    the driver) and are not part of ``plan.json``, whose ``settings`` hold them.
    """

    scan_id: str
    started_at: str
    mode: str
    organization_id: str | None
    management_account_id: str | None
    caller_account_id: str
    partition: str
    regions: tuple[str, ...]
    checks: tuple[str, ...]
    accounts: tuple[PlannedAccount, ...]
    role: RoleSettings
    default_region: str

    def to_dict(self) -> dict[str, Any]:
        """The plan as ``plan.json`` stores it (without ``settings``, which the scan adds)."""
        return {
            "scan_id": self.scan_id,
            "started_at": self.started_at,
            "mode": self.mode,
            "organization_id": self.organization_id,
            "management_account_id": self.management_account_id,
            "caller_account_id": self.caller_account_id,
            "partition": self.partition,
            "regions": list(self.regions),
            "checks": list(self.checks),
            "accounts": [
                {"id": a.id, "name": a.name, "status": a.status, "error": a.error, "regions": list(a.regions),
                 "ou_path": a.ou_path_dicts()}
                for a in self.accounts
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str, *, role: RoleSettings, default_region: str) -> "ScanPlan":
        """A stored plan (``plan.json``), validated; a one-line UsageError naming ``source`` and the key otherwise."""
        validate_plan(data, source)
        return cls(
            scan_id=data["scan_id"],
            started_at=data["started_at"],
            mode=data["mode"],
            organization_id=data.get("organization_id"),
            management_account_id=data.get("management_account_id"),
            caller_account_id=data["caller_account_id"],
            partition=data["partition"],
            regions=tuple(data["regions"]),
            checks=tuple(data["checks"]),
            accounts=tuple(
                PlannedAccount(
                    id=a["id"], name=a["name"], status=a["status"], error=a.get("error"), regions=tuple(a["regions"]),
                    ou_path=None if a.get("ou_path") is None else tuple(OrganizationalUnit(u["id"], u["name"]) for u in a["ou_path"]),
                )
                for a in data["accounts"]
            ),
            role=role,
            default_region=default_region,
        )


def planned_targets(account: PlannedAccount, checks: Mapping[str, Check]) -> Work:
    """The account's targets and the checks planned for each."""
    regional = [c.id for c in checks.values() if c.metadata.scope is Scope.REGIONAL]
    account_wide = [c.id for c in checks.values() if c.metadata.scope is Scope.ACCOUNT]
    targets: Work = []
    if account_wide:
        targets.append((Target(account.id, GLOBAL_REGION), account_wide))
    if regional:
        targets.extend((Target(account.id, region), regional) for region in account.regions)
    return targets


def targets_per_account(work: Iterable[tuple[Target, list[str]]]) -> Counter[str]:
    """How many targets of the work belong to each account (to know when an account is done)."""
    return Counter(target.account_id for target, _ in work)


def validate_plan(plan: Mapping[str, Any], source: str) -> None:
    """Nothing, or a UsageError naming what in a stored plan is not what a scan writes."""

    def fail(where: str, what: str) -> None:
        raise UsageError(f"{source}: {where}: {what}")

    for key, kind in (("scan_id", str), ("started_at", str), ("mode", str), ("partition", str), ("caller_account_id", str),
                      ("regions", list), ("checks", list), ("accounts", list), ("settings", dict)):
        if not isinstance(plan.get(key), kind):
            fail(key, f"missing or not {'a string' if kind is str else 'an array' if kind is list else 'an object'}")
    if plan["mode"] not in MODES:
        fail("mode", "must be organization or account")
    for key in ("organization_id", "management_account_id"):
        if plan.get(key) is not None and not isinstance(plan[key], str):
            fail(key, "must be a string or null")
    if not ACCOUNT_ID_PATTERN.fullmatch(plan["caller_account_id"]):
        fail("caller_account_id", "not a 12-digit account id")
    if not all(isinstance(c, str) for c in plan["checks"]) or not plan["checks"]:
        fail("checks", "must be a non-empty array of check ids")
    for index, account in enumerate(plan["accounts"]):
        where = f"accounts[{index}]"
        if not isinstance(account, dict):
            fail(where, "not an object")
        if not isinstance(account.get("id"), str) or not ACCOUNT_ID_PATTERN.fullmatch(account["id"]):
            fail(f"{where}.id", "not a 12-digit account id")
        if account.get("status") not in ACCOUNT_STATUSES:
            fail(f"{where}.status", "must be scanned, error or skipped")
        if not isinstance(account.get("name"), str) or not (account.get("error") is None or isinstance(account["error"], str)):
            fail(where, "name must be a string and error a string or null")
        ou_path = account.get("ou_path")
        if ou_path is not None and not (isinstance(ou_path, list) and all(
                isinstance(unit, dict) and isinstance(unit.get("id"), str) and isinstance(unit.get("name"), str) for unit in ou_path)):
            fail(f"{where}.ou_path", "must be null or an array of {id, name} strings")
        regions = account.get("regions")
        if not isinstance(regions, list) or not all(isinstance(r, str) and r in plan["regions"] for r in regions):
            fail(f"{where}.regions", "must be regions of the plan")
    if not all(isinstance(r, str) and r for r in plan["regions"]):
        fail("regions", "must be region names")
