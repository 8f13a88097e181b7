"""Which accounts and regions a scan covers: the one place the scan plan is made (:func:`plan_scan`).

Single-account mode scans the caller's account (or ``--accounts`` through role
assumption). Organization mode lists the organization's accounts (paginated)
from the management account or a delegated administrator; suspended or closed
accounts are listed as skipped, never dropped silently. ``--regions`` is
decided here too: named regions, every enabled region of each account
(``all``), or the default region.
"""
from __future__ import annotations

import concurrent.futures
import logging
import re
from dataclasses import dataclass, replace
from typing import Iterable

from scanner.aws import AwsReader
from scanner.config import ScanSettings
from scanner.document import MAX_NAME, new_scan_id, utc_now
from scanner.errors import AccessDenied, AwsError, UsageError
from scanner.plan import OrganizationalUnit, PlannedAccount, ScanPlan
from scanner.sanitizer import safe_optional_text, safe_text
from scanner.sessions import AccountSessions

log = logging.getLogger(__name__)

OU_ID = re.compile(r"(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})", re.ASCII)
ENABLED_OPT_IN = {"opt-in-not-required", "opted-in"}
#: What AWS Organizations names every root (ListRoots answers ``"Name": "Root"``); orgscan does not ask.
ROOT_NAME = "Root"
#: OU names are at most 128 characters (CreateOrganizationalUnit, Name); longer answers are cut.
MAX_OU_NAME = 128
#: A root and at most five levels of OUs (AWS Organizations quotas): anything deeper is a cycle or a lying answer.
MAX_OU_DEPTH = 6
#: An account's error in the plan is one line of at most this many characters.
MAX_ACCOUNT_ERROR = 500


@dataclass
class AccountPlan:
    mode: str
    organization_id: str | None
    management_account_id: str | None
    accounts: list[PlannedAccount]


def plan_scan(sessions: AccountSessions, settings: ScanSettings, check_ids: Iterable[str]) -> ScanPlan:
    """The scan's plan: its accounts, each one's regions (its role assumed once), its checks.

    A bad selection (``--regions``, ``--ou``, ``--accounts``, an organization
    that cannot be read) is a UsageError; an account whose role cannot be
    assumed is planned as ``error`` and the scan goes on.
    """
    regions = requested_regions(settings.regions, sessions)
    account_plan = plan_accounts(
        sessions,
        organization=settings.org,
        ous=settings.ou,
        accounts=settings.accounts,
        exclude_accounts=settings.exclude_accounts,
        concurrency=settings.concurrency,
    )
    if not account_plan.accounts:
        raise UsageError("no accounts to scan (check --ou, --accounts and --exclude-accounts)")
    fallback_regions = regions
    if regions is None:
        caller_reader = AwsReader(sessions.target_cache(sessions.caller_account_id), sessions.default_region)
        fallback_regions = _enabled_regions(sessions, caller_reader)

    def prepared(account: PlannedAccount) -> PlannedAccount:
        return _prepare_account(sessions, account, regions, fallback_regions) if account.status == "scanned" else account

    with concurrent.futures.ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
        accounts = list(pool.map(prepared, account_plan.accounts))
    all_regions = sorted({r for a in accounts for r in a.regions} or set(fallback_regions or []))
    return ScanPlan(
        scan_id=new_scan_id(),
        started_at=utc_now(),
        mode=account_plan.mode,
        organization_id=safe_optional_text(account_plan.organization_id, MAX_NAME),
        management_account_id=account_plan.management_account_id,
        caller_account_id=sessions.caller_account_id,
        partition=sessions.partition,
        regions=tuple(all_regions),
        checks=tuple(check_ids),
        # Account names and errors come from AWS (the account's owner names it): made safe here, once.
        accounts=tuple(replace(a, name=safe_text(a.name, MAX_NAME), error=safe_optional_text(a.error, MAX_NAME)) for a in accounts),
        role=settings.role,
        default_region=sessions.default_region,
    )


def requested_regions(requested: list[str], sessions: AccountSessions) -> list[str] | None:
    """``--regions`` decided: the named regions (validated), ``None`` for ``all`` (each account's enabled regions), or the default region."""
    if requested == ["all"]:
        return None
    if not requested:
        return [sessions.default_region]
    if "all" in requested:
        raise UsageError("--regions: 'all' cannot be combined with named regions")
    return validate_regions(requested, sessions.known_regions())


def _enabled_regions(sessions: AccountSessions, reader: AwsReader) -> list[str]:
    try:
        return enabled_regions(reader, sessions.known_regions())
    except AwsError as error:
        raise UsageError(f"--regions all: cannot list the enabled regions: {error}") from None


def _prepare_account(sessions: AccountSessions, account: PlannedAccount, regions: list[str] | None,
                     fallback: list[str] | None) -> PlannedAccount:
    """The account with its regions, its role assumed once; a failure makes the account ``error``."""
    account = replace(account, regions=tuple(regions or fallback or ()))
    try:
        sessions.verify_access(account.id)
        if regions is None:
            reader = AwsReader(sessions.target_cache(account.id), sessions.default_region)
            account = replace(account, regions=tuple(enabled_regions(reader, sessions.known_regions())))
    except AwsError as error:
        if error.action == "sts:AssumeRole":
            reason = f"cannot assume {sessions.role_arn(account.id)}: {error.code}: {error.detail}"
        else:
            reason = f"{error.action} failed: {error.code}: {error.detail}"
        return replace(account, status="error", error=reason[:MAX_ACCOUNT_ERROR])
    return account


def validate_regions(requested: list[str], known: set[str]) -> list[str]:
    """Explicit regions, each known to botocore for the caller's partition."""
    for region in requested:
        if region not in known:
            raise UsageError(f"--regions: unknown region {region!r} (not a region of this partition)")
    return list(dict.fromkeys(requested))


def plan_accounts(
    sessions: AccountSessions,
    *,
    organization: bool,
    ous: list[str],
    accounts: list[str],
    exclude_accounts: list[str],
    concurrency: int = 1,
) -> AccountPlan:
    """The accounts to scan; in organization mode, read from AWS Organizations."""
    caller = sessions.caller_account_id
    if not organization:
        ids = accounts or [caller]
        return AccountPlan(
            "account",
            None,
            None,
            [PlannedAccount(i) for i in ids if i not in set(exclude_accounts)],
        )
    reader = AwsReader(sessions.target_cache(caller), sessions.default_region)
    try:
        org = reader.call("organizations", "describe_organization")["Organization"]
        listed = reader.collect("organizations", "list_accounts", "Accounts")
        if ous:
            in_ous = set()
            for ou in ous:
                in_ous |= _accounts_under(reader, ou)
            listed = [a for a in listed if a["Id"] in in_ous]
    except AccessDenied as error:
        raise UsageError(
            f"--org: the caller ({caller}) may not read the organization ({error.action} denied); "
            "run from the management account or a delegated administrator"
        ) from None
    except AwsError as error:
        if error.code == "AWSOrganizationsNotInUseException":
            raise UsageError(f"--org: account {caller} is not a member of an AWS Organization") from None
        if error.code in {"ParentNotFoundException", "InvalidInputException", "TargetNotFoundException"}:
            raise UsageError(f"--ou: {error.detail or error.code}") from None
        raise UsageError(f"--org: cannot list the organization's accounts: {error}") from None
    if accounts:
        known = {a["Id"] for a in listed}
        unknown = [a for a in accounts if a not in known]
        if unknown and not ous:
            raise UsageError(f"--accounts: {unknown[0]} is not an account of organization {org['Id']}")
        listed = [a for a in listed if a["Id"] in set(accounts)]
    chosen = [account for account in sorted(listed, key=lambda a: a["Id"]) if account["Id"] not in set(exclude_accounts)]
    paths = read_ou_paths(reader, [account["Id"] for account in chosen], concurrency)
    planned = []
    for account in chosen:
        state = account.get("State") or account.get("Status") or "ACTIVE"
        path = paths[account["Id"]]
        planned.append(PlannedAccount(
            account["Id"],
            account.get("Name", ""),
            status="scanned" if state == "ACTIVE" else "skipped",
            error=None if state == "ACTIVE" else f"account is {state.lower()}",
            ou_path=None if path is None else tuple(OrganizationalUnit(unit["id"], unit["name"]) for unit in path),
        ))
    return AccountPlan("organization", org["Id"], org.get("MasterAccountId"), planned)


def read_ou_paths(reader: AwsReader, account_ids: list[str], concurrency: int = 1) -> dict[str, list[dict[str, str]] | None]:
    """Each account's OU path (root first, ``{"id", "name"}``), or ``None`` where the organization would not say.

    One ``ListParents`` per account, then one ``ListParents`` and one
    ``DescribeOrganizationalUnit`` per OU on the way up: the reader caches
    answers (and errors) per call, so an OU shared by many accounts is asked
    about once. A failure (a denied call, a parent that vanished) makes that
    account's path unknown, with a warning; it never stops the scan.
    """
    def path_of(account_id: str) -> list[dict[str, str]] | None:
        try:
            return _path_above(reader, account_id)
        except AwsError as error:
            log.warning("account %s: its OU path is unknown: %s", account_id, error)
            return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return dict(zip(account_ids, pool.map(path_of, account_ids)))


def _path_above(reader: AwsReader, child_id: str) -> list[dict[str, str]]:
    """The root and OUs above ``child_id``, root first (AwsError when a call fails or an answer makes no sense)."""
    path: list[dict[str, str]] = []
    for _ in range(MAX_OU_DEPTH):
        parents = reader.call("organizations", "list_parents", ChildId=child_id).get("Parents") or []
        if len(parents) != 1 or not isinstance(parents[0], dict):
            raise AwsError("organizations:ListParents", "UnexpectedAnswer", f"{len(parents)} parents of {child_id}")
        parent_id = parents[0].get("Id")
        if not isinstance(parent_id, str) or not OU_ID.fullmatch(parent_id):
            raise AwsError("organizations:ListParents", "UnexpectedAnswer", f"a parent of {child_id} is not an OU or root id")
        if parents[0].get("Type") == "ROOT":
            path.append({"id": parent_id, "name": ROOT_NAME})
            return path[::-1]
        unit = reader.call("organizations", "describe_organizational_unit", OrganizationalUnitId=parent_id)
        name = (unit.get("OrganizationalUnit") or {}).get("Name")
        # The OU's name is chosen by whoever administers the organization: made safe here, once.
        path.append({"id": parent_id, "name": safe_text(name if isinstance(name, str) else "", MAX_OU_NAME)})
        child_id = parent_id
    raise AwsError("organizations:ListParents", "UnexpectedAnswer", f"more than {MAX_OU_DEPTH} levels above the account")


def _accounts_under(reader: AwsReader, parent_id: str) -> set[str]:
    """Account ids under an OU (or root), recursively."""
    if not OU_ID.fullmatch(parent_id):
        raise UsageError(f"--ou: {parent_id!r} is not an OU id (ou-xxxx-xxxxxxxx) or root id (r-xxxx)")
    ids = {a["Id"] for a in reader.collect("organizations", "list_accounts_for_parent", "Accounts", ParentId=parent_id)}
    for child in reader.collect("organizations", "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent_id):
        ids |= _accounts_under(reader, child["Id"])
    return ids


def enabled_regions(reader: AwsReader, partition_regions: set[str]) -> list[str]:
    """The account's enabled regions of the caller's partition (opt-in state respected)."""
    regions = reader.collect("ec2", "describe_regions", "Regions")
    return sorted(
        r["RegionName"]
        for r in regions
        if r.get("OptInStatus", "opt-in-not-required") in ENABLED_OPT_IN and r["RegionName"] in partition_regions
    )
