"""Accepted risks: the suppression file (``--suppressions FILE``), its validation, and applying it to a result document.

A suppression file is TOML, one ``[[suppression]]`` table per accepted risk::

    [[suppression]]
    id = "legacy-kms-keys"                 # optional, unique: names the entry in reports and errors
    checks = ["kms_key_policy_*"]          # required: check id globs ("*" for every check)
    accounts = ["111111111111"]            # optional: account ids ...
    ous = ["ou-ab12-cd34ef56"]             # ... and/or OU (or root) ids: the account is listed OR lies under one
    regions = ["eu-*"]                     # optional: region globs ("global" for account-wide results)
    resources = ["arn:aws:kms:*:key/1234*"]  # optional: globs over the resource ARN or id
    tags = {environment = "sandbox"}       # optional: every key must carry a value matching the glob
    justification = "Keys retire with the legacy platform (RISK-42)"
    owner = "platform-team@example.com"
    expires = 2027-03-31                   # required: a TOML date or "YYYY-MM-DD"

An entry applies to a FAIL when every field it gives matches (a field left out
matches anything). Only FAILs are suppressed: a PASS needs nothing and an
ERROR was not judged. A suppressed FAIL keeps its status and gains a
``suppression`` object; it does not count toward the exit code. An entry whose
``expires`` date has passed applies to nothing and is listed (and warned about)
as expired; an entry that matched no FAIL is listed as unused.

Matching on OU ids reads the result's ``ou_path`` (a list of ``{"id", "name"}``
objects, the account's parents from the root down); a result without it matches
no entry that names OUs. Matching on tags reads the result's ``resource_tags``
(an object of tag key to value); no built-in check records resource tags today
(tags can hold secrets, which results never carry unmasked), so an entry with
``tags`` matches only results of checks that do.

This module is the one home of those rules: the scan and ``orgscan report``
call :func:`load_suppressions` and :func:`apply_suppressions`.
"""
from __future__ import annotations

import fnmatch
import logging
import re
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

import jsonschema

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10
    import tomli as tomllib

from scanner.errors import UsageError
from scanner.sanitizer import safe_text
from scanner.user_files import read_bounded

log = logging.getLogger(__name__)

#: The longest an accepted risk may last, from the day it is read, unless ``--suppressions-max-days`` says otherwise.
DEFAULT_MAX_DAYS = 365
#: Upper bound of ``--suppressions-max-days``: ten years is already "forever" for an accepted risk.
MAX_MAX_DAYS = 3650
MAX_FILE_BYTES = 8 * 1024**2

_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_GLOBS = {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1, "maxLength": 2048}}

#: The structure of a suppression file; dates and uniqueness of ids are checked after it.
SUPPRESSION_FILE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "suppression": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["checks", "justification", "owner", "expires"],
                "properties": {
                    "id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$"},
                    "checks": _GLOBS,
                    "accounts": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^[0-9]{12}$"}},
                    # organizations ListParents: Parents[].Id (botocore model pattern)
                    "ous": {"type": "array", "minItems": 1,
                            "items": {"type": "string", "pattern": "^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"}},
                    "regions": _GLOBS,
                    "resources": _GLOBS,
                    "tags": {"type": "object", "minProperties": 1,
                             "additionalProperties": {"type": "string", "maxLength": 256}},
                    "justification": {"type": "string", "minLength": 1, "maxLength": 1024, "pattern": "\\S"},
                    "owner": {"type": "string", "minLength": 1, "maxLength": 256, "pattern": "\\S"},
                    "expires": {"type": "string", "pattern": _DATE},
                },
            },
        }
    },
}


@dataclass(frozen=True)
class Suppression:
    """One validated entry of a suppression file; ``index`` is its place in the file (0-based)."""

    index: int
    id: str | None
    checks: tuple[str, ...]
    justification: str
    owner: str
    expires: date
    accounts: frozenset[str] = frozenset()
    ous: frozenset[str] = frozenset()
    regions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    _patterns: dict[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("checks", "regions", "resources"):
            self._patterns[name] = tuple(re.compile(fnmatch.translate(glob)) for glob in getattr(self, name))
        self._patterns["tags"] = tuple(re.compile(fnmatch.translate(value)) for _, value in self.tags)

    def label(self) -> str:
        """``suppression[3]`` or ``suppression[3] (id 'legacy-kms')``: how messages name the entry."""
        return f"suppression[{self.index}]" + (f" (id {self.id!r})" if self.id else "")

    def expired_on(self, today: date) -> bool:
        """Whether the entry no longer applies on ``today`` (it applies through its ``expires`` day)."""
        return today > self.expires

    def matches(self, result: Mapping[str, Any]) -> bool:
        """Whether every field the entry gives matches ``result`` (globs are case-sensitive, ``*`` crosses ``/``)."""
        if not _any_match(self._patterns["checks"], result.get("check_id")):
            return False
        if self.accounts or self.ous:
            in_accounts = result.get("account_id") in self.accounts
            if not in_accounts and not (self.ous and self.ous & _ou_ids(result)):
                return False
        if self.regions and not _any_match(self._patterns["regions"], result.get("region")):
            return False
        if self.resources and not (_any_match(self._patterns["resources"], result.get("resource_arn"))
                                   or _any_match(self._patterns["resources"], result.get("resource_id"))):
            return False
        if self.tags:
            tags = result.get("resource_tags")
            if not isinstance(tags, Mapping):
                return False
            for (key, _), pattern in zip(self.tags, self._patterns["tags"]):
                value = tags.get(key)
                if not isinstance(value, str) or not pattern.fullmatch(value):
                    return False
        return True

    def summary(self) -> dict[str, Any]:
        """The entry as the document lists it under ``suppressions.expired`` / ``suppressions.unused``."""
        return {"index": self.index, "id": self.id, "owner": self.owner, "expires": self.expires.isoformat(),
                "justification": self.justification, "checks": list(self.checks)}


@dataclass(frozen=True)
class SuppressionFile:
    """A validated suppression file: where it came from and its entries in file order."""

    source: str
    entries: tuple[Suppression, ...]


def _any_match(patterns: Sequence[re.Pattern[str]], value: Any) -> bool:
    return isinstance(value, str) and any(pattern.fullmatch(value) for pattern in patterns)


def _ou_ids(result: Mapping[str, Any]) -> set[str]:
    path = result.get("ou_path")
    if not isinstance(path, list):
        return set()
    return {item["id"] for item in path if isinstance(item, Mapping) and isinstance(item.get("id"), str)}


def today_utc() -> date:
    """Today's date in UTC: the day expiry dates are judged against."""
    return datetime.now(timezone.utc).date()


def validate_max_days(value: Any, option: str = "--suppressions-max-days") -> int:
    """``value`` if it is a whole number of days from 1 to :data:`MAX_MAX_DAYS`; UsageError naming ``option`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MAX_DAYS:
        raise UsageError(f"{option} must be a whole number of days from 1 to {MAX_MAX_DAYS}, not {value!r}")
    return value


def load_suppressions(path: str | Path, *, max_days: int = DEFAULT_MAX_DAYS, today: date | None = None) -> SuppressionFile:
    """The validated file; UsageError (one line naming the file, the entry and the field) for anything wrong in it."""
    path = Path(path)
    data = read_bounded(path, MAX_FILE_BYTES, f"--suppressions {path}")
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: invalid TOML: {error}") from None
    return parse_suppressions(raw, str(path), max_days=max_days, today=today)


def parse_suppressions(raw: Any, source: str, *, max_days: int = DEFAULT_MAX_DAYS, today: date | None = None) -> SuppressionFile:
    """Validate a parsed suppression file (``jsonschema``, then dates and ids); UsageError naming file, entry and field."""
    today = today or today_utc()
    raw = _dates_as_text(raw)
    validator = jsonschema.Draft202012Validator(SUPPRESSION_FILE_SCHEMA)
    error = jsonschema.exceptions.best_match(validator.iter_errors(raw))
    if error is not None:
        raise UsageError(_schema_problem(source, raw, error))
    latest = today + timedelta(days=max_days)
    entries: list[Suppression] = []
    seen_ids: dict[str, int] = {}
    for index, entry in enumerate(raw.get("suppression", [])):
        where = f"{source}: suppression[{index}]" + (f" (id {entry['id']!r})" if "id" in entry else "")
        try:
            expires = date.fromisoformat(entry["expires"])
        except ValueError:
            raise UsageError(f"{where}: field 'expires': {entry['expires']!r} is not a calendar date (YYYY-MM-DD)") from None
        if expires > latest:
            raise UsageError(f"{where}: field 'expires': {expires.isoformat()} is more than {max_days} days away "
                             f"(latest allowed {latest.isoformat()}; see --suppressions-max-days)")
        if "id" in entry:
            if entry["id"] in seen_ids:
                raise UsageError(f"{where}: field 'id': also the id of suppression[{seen_ids[entry['id']]}]")
            seen_ids[entry["id"]] = index
        entries.append(Suppression(
            index=index,
            id=entry.get("id"),
            checks=tuple(entry["checks"]),
            # The file is the user's, but it reaches every report: made as safe as AWS's strings.
            justification=safe_text(entry["justification"], 1024),
            owner=safe_text(entry["owner"], 256),
            expires=expires,
            accounts=frozenset(entry.get("accounts", ())),
            ous=frozenset(entry.get("ous", ())),
            regions=tuple(entry.get("regions", ())),
            resources=tuple(entry.get("resources", ())),
            tags=tuple(sorted(entry.get("tags", {}).items())),
        ))
    return SuppressionFile(source, tuple(entries))


def _dates_as_text(value: Any) -> Any:
    """TOML dates (``expires = 2027-03-31``) as ISO text, so one schema covers both spellings; date-times stay as they are."""
    if isinstance(value, dict):
        return {key: _dates_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(item) for item in value]
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return value


def _schema_problem(source: str, raw: Any, error: jsonschema.ValidationError) -> str:
    """One line: the file, the entry (index and id), the field, and what is wrong with it."""
    path = list(error.absolute_path)
    where = source
    if path[:1] == ["suppression"] and len(path) >= 2:
        index = path[1]
        where += f": suppression[{index}]"
        entry = raw["suppression"][index]
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            where += f" (id {safe_text(entry['id'], 128)!r})"
        field_path = path[2:]
    else:
        field_path = path
    if error.validator == "required":
        missing = next((name for name in error.validator_value if name not in error.instance), "?")
        return f"{where}: field {missing!r}: missing (required: checks, justification, owner, expires)"
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        if field_path or path[:1] == ["suppression"]:
            known = ", ".join(SUPPRESSION_FILE_SCHEMA["properties"]["suppression"]["items"]["properties"])
            return f"{where}: field {safe_text(str(extra[0]), 80)!r}: unknown (known fields: {known})"
        return f"{where}: unknown key {safe_text(str(extra[0]), 80)!r} (a suppression file holds [[suppression]] tables)"
    name = ".".join(str(part) for part in field_path) if field_path else "suppression"
    field_name = str(field_path[0]) if field_path else name
    reason = _REASONS.get((field_name, str(error.validator)))
    if reason is None:
        reason = safe_text(error.message, 200)
    return f"{where}: field {name!r}: {reason}"


_REASONS = {
    ("expires", "pattern"): "must be a date, YYYY-MM-DD (a TOML date or a string)",
    ("expires", "type"): "must be a date, YYYY-MM-DD (a TOML date or a string), not a date-time",
    ("accounts", "pattern"): "must hold 12-digit account ids",
    ("ous", "pattern"): "must hold OU ids (ou-xxxx-xxxxxxxx) or root ids (r-xxxx)",
    ("id", "pattern"): "1 to 128 of the characters A-Z a-z 0-9 _ . : / - (starting with a letter or digit)",
    ("justification", "pattern"): "must say why the risk is accepted (not blank)",
    ("owner", "pattern"): "must name who accepted the risk (not blank)",
    ("justification", "minLength"): "must say why the risk is accepted (not blank)",
    ("owner", "minLength"): "must name who accepted the risk (not blank)",
    ("checks", "minItems"): "must list at least one check id glob (\"*\" for every check)",
    ("tags", "minProperties"): "must give at least one tag key",
}


def strip_suppressions(document: Mapping[str, Any]) -> dict[str, Any]:
    """``document`` without any suppression data (a copy): what a suppression file is applied to."""
    stripped = dict(document)
    stripped.pop("suppressions", None)
    stripped["results"] = [{k: v for k, v in r.items() if k != "suppression"} if "suppression" in r else r
                           for r in document["results"]]
    return stripped


def apply_suppressions(document: Mapping[str, Any], suppressions: SuppressionFile, today: date | None = None) -> dict[str, Any]:
    """A copy of ``document`` whose suppressed FAILs carry a ``suppression`` object, with ``suppressions`` listing expired and unused entries.

    The first entry (in file order) that matches a FAIL suppresses it; an entry
    counts as used when it matches any FAIL. Expired entries apply to nothing.
    """
    today = today or today_utc()
    document = strip_suppressions(document)
    active = [entry for entry in suppressions.entries if not entry.expired_on(today)]
    expired = [entry for entry in suppressions.entries if entry.expired_on(today)]
    used: set[int] = set()
    suppressed = 0
    results = []
    for result in document["results"]:
        if result.get("status") == "FAIL" and active:
            matching = [entry for entry in active if entry.matches(result)]
            if matching:
                used.update(entry.index for entry in matching)
                first = matching[0]
                result = {**result, "suppression": {
                    "justification": first.justification,
                    "owner": first.owner,
                    "expires": first.expires.isoformat(),
                    "entry": {"index": first.index, "id": first.id},
                }}
                suppressed += 1
        results.append(result)
    document["results"] = results
    unused = [entry for entry in active if entry.index not in used]
    for entry in expired:
        log.warning("suppressions %s: %s (owner %s) expired on %s and no longer applies: its findings count again",
                    suppressions.source, entry.label(), entry.owner, entry.expires.isoformat())
    for entry in unused:
        log.info("suppressions %s: %s matched no FAIL result", suppressions.source, entry.label())
    document["suppressions"] = {
        "source": safe_text(suppressions.source, 1024),
        "evaluated_on": today.isoformat(),
        "entries": len(suppressions.entries),
        "suppressed": suppressed,
        "expired": [entry.summary() for entry in expired],
        "unused": [entry.summary() for entry in unused],
    }
    return document


def is_suppressed(result: Mapping[str, Any]) -> bool:
    """Whether a result is an accepted risk (a FAIL that an unexpired suppression entry matched)."""
    return isinstance(result.get("suppression"), Mapping)
