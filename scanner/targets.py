"""Which accounts and regions a scan covers.

Single-account mode scans the caller's account (or ``--accounts`` through role
assumption). Organization mode lists the organization's accounts (paginated)
from the management account or a delegated administrator; suspended or closed
accounts are listed as skipped, never dropped silently.
"""
from __future__ import annotations

import concurrent.futures
import logging
import re
from dataclasses import dataclass, field

from scanner.aws import AwsReader
from scanner.config import validate_account_ids  # noqa: F401 - its home is config; kept importable from here
from scanner.errors import AccessDenied, AwsError, UsageError
from scanner.sanitizer import safe_text
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


@dataclass
class PlannedAccount:
    """An account of the plan: ``scanned`` unless skipped (suspended) or, later, ``error``."""

    id: str
    name: str = ""
    status: str = "scanned"
    error: str | None = None
    regions: list[str] = field(default_factory=list)
    #: The OUs above the account, root first, as ``{"id", "name"}``; ``None`` when not read (account
    #: mode) or unknown (the organization would not say: a warning was logged).
    ou_path: list[dict[str, str]] | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "status": self.status, "error": self.error, "ou_path": self.ou_path}


@dataclass
class AccountPlan:
    mode: str
    organization_id: str | None
    management_account_id: str | None
    accounts: list[PlannedAccount]


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
    planned = []
    for account in sorted(listed, key=lambda a: a["Id"]):
        if account["Id"] in set(exclude_accounts):
            continue
        state = account.get("State") or account.get("Status") or "ACTIVE"
        entry = PlannedAccount(account["Id"], account.get("Name", ""))
        if state != "ACTIVE":
            entry.status = "skipped"
            entry.error = f"account is {state.lower()}"
        planned.append(entry)
    paths = read_ou_paths(reader, [entry.id for entry in planned], concurrency)
    for entry in planned:
        entry.ou_path = paths[entry.id]
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
