"""``orgscan suppressions import-prowler``: a Prowler mute list (YAML) as an orgscan suppression file (TOML).

Prowler's format (docs/tutorials/mutelist.md and prowler/config/aws_mutelist_example.yaml in
prowler-cloud/prowler)::

    Mutelist:                      # "Mute List" in Prowler 4.0 and 4.1
      Accounts:
        "123456789012":            # or "*"
          Checks:
            "iam_user_hardware_mfa_enabled":   # a check name, "*" or a regex
              Regions: ["us-east-1"]           # regexes, "*" for any
              Resources: ["user-1"]            # regexes, "*" for any
              Tags: ["environment=dev"]        # optional, "key=value" regexes, ANDed
              Exceptions: {...}                # optional
              Description: "..."               # optional

How Prowler matches (``prowler/lib/mutelist/mutelist.py``): every pattern is a
Python regex *searched* in the value (``re.search``), so ``user-1`` also mutes
``user-10``, ``*`` means anything. Each entry becomes one ``[[suppression]]``,
translated without ever widening what it matches:

* a literal pattern becomes the glob ``*literal*`` (the same substring match);
  ``.*`` becomes ``*``, ``.+`` ``?*``, ``.`` ``?``, ``\\.`` a literal dot, and
  ``^``/``$`` anchor the glob; a trailing ``x*`` or ``x?`` (which may match
  nothing) is dropped. Any other regex (alternation ``|``, classes, groups,
  counted repeats, ``\\d``...) cannot be a glob and is refused, naming it.
* check names become orgscan's bridged ids: ``prowler.`` + the check glob
  (results of the Prowler bridge, docs/prowler.md); ``lambda`` is read as
  ``awslambda`` as Prowler does.
* ``Tags`` items ``key=value`` become ``tags = {key = "value*"}``: the key
  exact, narrower than Prowler's search over ``key=value`` text. They match only
  results that carry ``resource_tags`` (docs/suppressions.md).
* ``Exceptions`` have no orgscan equivalent: such an entry is refused (or,
  with ``--skip-unsupported``, left out and named on stderr: leaving an entry out
  suppresses less, never more).
* Prowler has no expiry, justification or owner: every entry gets the
  ``--expires`` date, the ``--owner``, and a justification naming its place in
  the mute list (plus Prowler's ``Description``).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Sequence

from scanner.arguments import UsageErrorParser
from scanner.errors import UsageError
from scanner.sanitizer import safe_text
from scanner.suppressions import DEFAULT_MAX_DAYS, parse_suppressions, today_utc, validate_max_days
from scanner.user_files import read_bounded

MAX_FILE_BYTES = 8 * 1024**2
#: Without ``--expires``, imported entries last this long: long enough to review them, short enough to be reviewed.
DEFAULT_IMPORT_DAYS = 90
_ACCOUNT = re.compile(r"[0-9]{12}")
_REGEX_SPECIAL = set("|()[]{}+?*^$\\.")


class Unrepresentable(Exception):
    """A mute list entry (or one of its patterns) that an orgscan suppression cannot express without widening it."""


@dataclass
class ImportOutcome:
    toml: str
    imported: int
    skipped: list[str]


def prowler_pattern_to_glob(pattern: str) -> str:
    """The glob matching exactly the values Prowler's ``re.search(pattern, value)`` matches; Unrepresentable otherwise."""
    if pattern == "*":
        return "*"
    body = pattern
    anchored_start = body.startswith("^")
    if anchored_start:
        body = body[1:]
    anchored_end = body.endswith("$") and not body.endswith("\\$")
    if anchored_end:
        body = body[:-1]
    glob: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        following = body[index + 1] if index + 1 < len(body) else ""
        if char == "\\":
            if following and not following.isalnum():
                if following in "*?[]":
                    raise Unrepresentable(f"the escaped {following!r} in {pattern!r} cannot be written in a glob")
                glob.append(following)
                index += 2
                continue
            escape = "\\" + following
            raise Unrepresentable(f"the class {escape!r} in {pattern!r} has no glob equivalent")
        if char == ".":
            if following == "*":
                glob.append("*")
                index += 2
                continue
            if following == "+":
                glob.append("?*")
                index += 2
                continue
            if following in ("?", "{"):
                raise Unrepresentable(f"{pattern!r}: an optional or counted '.' has no glob equivalent")
            glob.append("?")
            index += 1
            continue
        if following in ("*", "?", "+") and char not in _REGEX_SPECIAL:
            at_end = index + 2 == len(body)
            if at_end and not anchored_end:
                # re.search needs only a match of the part before: "x*" and "x?" may match nothing, "x+" one x.
                if following == "+":
                    glob.append(char)
                index += 2
                continue
            raise Unrepresentable(f"the repetition {char + following!r} in {pattern!r} has no glob equivalent")
        if char in _REGEX_SPECIAL:
            raise Unrepresentable(f"the regex syntax {char!r} in {pattern!r} has no glob equivalent")
        glob.append(char)
        index += 1
    text = ("" if anchored_start else "*") + "".join(glob) + ("" if anchored_end else "*")
    return re.sub(r"\*+", "*", text)


def _globs(values: Any, where: str) -> list[str] | None:
    """The globs of a Regions/Resources list; ``None`` for "anything"; Unrepresentable or UsageError otherwise."""
    if not isinstance(values, list):
        raise UsageError(f"{where}: must be a list")
    if not values:
        # Prowler matches nothing against an empty list.
        raise _MatchesNothing()
    patterns = []
    for value in values:
        if not isinstance(value, str):
            raise UsageError(f"{where}: {value!r} is not a string")
        if value in ("*", ".*", ""):
            return None  # re.search of "" or ".*" finds every value
        patterns.append(prowler_pattern_to_glob(value))
    return patterns


class _MatchesNothing(Exception):
    pass


def _tags(values: Any, where: str) -> dict[str, str] | None:
    if values is None or values == [] or values == "":
        return None  # Prowler: no tags means any tags
    if not isinstance(values, list):
        raise UsageError(f"{where}: must be a list")
    tags: dict[str, str] = {}
    for value in values:
        if not isinstance(value, str):
            raise UsageError(f"{where}: {value!r} is not a string")
        if value in ("*", ".*"):
            return None
        key, equals, pattern = value.partition("=")
        if not equals or not key or any(c in _REGEX_SPECIAL for c in key):
            raise Unrepresentable(f"the tag pattern {value!r} is not a plain key=value")
        if key in tags:
            raise Unrepresentable(f"the tag key {key!r} appears twice")
        try:
            # The value follows the "=" right away, so its pattern is anchored at the start.
            tags[key] = prowler_pattern_to_glob("^" + pattern) if pattern else "*"
        except Unrepresentable:
            raise Unrepresentable(f"the tag pattern {value!r} is not a plain key=value (regex syntax)") from None
    return tags


def convert_mutelist(raw: Any, source: str, *, owner: str, expires: date, skip_unsupported: bool = False) -> ImportOutcome:
    """The suppression file (TOML text) for a parsed mute list; UsageError naming the account, check and field."""
    if not isinstance(raw, dict):
        raise UsageError(f"{source}: not a Prowler mute list (expected a mapping with a 'Mutelist' key)")
    key = "Mutelist" if "Mutelist" in raw else "Mute List" if "Mute List" in raw else None
    if key is None:
        raise UsageError(f"{source}: not a Prowler mute list: no 'Mutelist' (or 'Mute List') key")
    accounts = raw[key].get("Accounts") if isinstance(raw[key], dict) else None
    if not isinstance(accounts, dict):
        raise UsageError(f"{source}: {key}.Accounts must be a mapping of account ids (or \"*\") to checks")
    entries: list[dict[str, Any]] = []
    skipped: list[str] = []
    name = Path(source).name
    for account, account_table in accounts.items():
        account = str(account)
        checks = account_table.get("Checks") if isinstance(account_table, dict) else None
        if not isinstance(checks, dict):
            raise UsageError(f"{source}: Accounts.{account}.Checks must be a mapping of check names to entries")
        if account != "*" and not _ACCOUNT.fullmatch(account):
            raise UsageError(f"{source}: Accounts: {safe_text(account, 80)!r} is neither a 12-digit account id nor \"*\"")
        for check, rule in checks.items():
            check = str(check)
            where = f"{source}: Accounts.{safe_text(account, 80)}.Checks.{safe_text(check, 200)}"
            if not isinstance(rule, dict):
                raise UsageError(f"{where}: must be a mapping with Regions and Resources")
            unknown = sorted(set(rule) - {"Regions", "Resources", "Tags", "Exceptions", "Description"})
            if unknown:
                raise UsageError(f"{where}: unknown field {safe_text(str(unknown[0]), 80)!r}")
            for required in ("Regions", "Resources"):
                if required not in rule:
                    raise UsageError(f"{where}: field {required!r}: missing (Prowler requires it)")
            try:
                if rule.get("Exceptions"):
                    raise Unrepresentable("Exceptions cannot be represented (an orgscan suppression has no exceptions); "
                                          "split the entry into ones without exceptions")
                check_glob = "*" if check in ("*", ".*") else prowler_pattern_to_glob(re.sub("^lambda", "awslambda", check))
                # The Prowler bridge names its results prowler.<CheckID> (docs/prowler.md).
                entry: dict[str, Any] = {"checks": ["prowler." + check_glob]}
                if account != "*":
                    entry["accounts"] = [account]
                regions = _globs(rule["Regions"], f"{where}.Regions")
                if regions:
                    entry["regions"] = regions
                resources = _globs(rule["Resources"], f"{where}.Resources")
                if resources:
                    entry["resources"] = resources
                tags = _tags(rule.get("Tags"), f"{where}.Tags")
                if tags:
                    entry["tags"] = tags
            except _MatchesNothing:
                skipped.append(f"{where}: an empty Regions or Resources list mutes nothing in Prowler; left out")
                continue
            except Unrepresentable as problem:
                if not skip_unsupported:
                    raise UsageError(f"{where}: {problem} (--skip-unsupported leaves such entries out)") from None
                skipped.append(f"{where}: {problem}; left out")
                continue
            description = rule.get("Description")
            justification = f"Imported from the Prowler mute list {name}: account {account}, check {check}"
            if isinstance(description, str) and description.strip():
                justification += f": {description.strip()}"
            entry["justification"] = safe_text(" ".join(justification.split()), 1024)
            entry["owner"] = owner
            entry["expires"] = expires
            entries.append(entry)
    return ImportOutcome(render_suppressions(entries, source), len(entries), skipped)


def render_suppressions(entries: Sequence[dict[str, Any]], source: str) -> str:
    """A suppression file (TOML) for ``entries``: one ``[[suppression]]`` table each, ids ``prowler-1``, ``prowler-2``...

    Written by hand rather than with a TOML writer (none is among orgscan's
    dependencies): the shapes are fixed (strings, lists of strings, one inline
    table of strings, a date) and the text is parsed back and validated before
    anyone sees it.
    """
    lines = [f"# Accepted risks imported from the Prowler mute list {_comment(source)} by `orgscan suppressions import-prowler`.",
             "# Review each entry: the justification, owner and expiry were set on import (docs/suppressions.md).", ""]
    for number, entry in enumerate(entries, start=1):
        lines.append("[[suppression]]")
        lines.append(f'id = "prowler-{number}"')
        for field in ("checks", "accounts", "regions", "resources"):
            if field in entry:
                lines.append(f"{field} = [{', '.join(_toml_string(v) for v in entry[field])}]")
        if "tags" in entry:
            lines.append("tags = {" + ", ".join(f"{_toml_string(k)} = {_toml_string(v)}" for k, v in entry["tags"].items()) + "}")
        lines.append(f"justification = {_toml_string(entry['justification'])}")
        lines.append(f"owner = {_toml_string(entry['owner'])}")
        lines.append(f"expires = {entry['expires'].isoformat()}")
        lines.append("")
    return "\n".join(lines)


def _toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, except that TOML also forbids a raw DEL."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _comment(value: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in value)


def _load_yaml(path: Path) -> Any:
    import yaml

    class _UniqueKeyLoader(yaml.SafeLoader):
        """PyYAML keeps the last of two equal keys; Prowler reads the file the same way, silently losing the first."""

    def construct_mapping(loader: Any, node: Any, deep: bool = False) -> Any:
        seen = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise UsageError(f"{path}: line {key_node.start_mark.line + 1}: the key {safe_text(str(key), 80)!r} appears twice "
                                 "in one mapping (YAML keeps only the last one, so Prowler ignores the first): merge them")
            seen.add(key)
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    _UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    data = read_bounded(path, MAX_FILE_BYTES, str(path))
    try:
        return yaml.load(data, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or type(error).__name__
        raise UsageError(f"{path}:{where}: invalid YAML: {problem}") from None


def import_prowler(path: Path, *, owner: str, expires: date, max_days: int = DEFAULT_MAX_DAYS,
                   today: date | None = None, skip_unsupported: bool = False) -> ImportOutcome:
    """The suppression file for the mute list at ``path``, validated as ``--suppressions`` would read it."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    outcome = convert_mutelist(_load_yaml(path), str(path), owner=owner, expires=expires, skip_unsupported=skip_unsupported)
    # The same checks as `orgscan scan --suppressions` (expiry within the maximum, fields, ids).
    parse_suppressions(tomllib.loads(outcome.toml), f"{path} (converted)", max_days=max_days, today=today)
    return outcome


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``orgscan suppressions import-prowler`` (also used to check documented commands)."""
    parser = UsageErrorParser(prog="orgscan suppressions import-prowler",
                     description="Convert a Prowler mute list (YAML) into an orgscan suppression file (TOML).")
    parser.add_argument("mutelist", metavar="MUTELIST_YAML")
    parser.add_argument("--owner", help="who accepts the imported risks (required: every accepted risk names its owner)")
    parser.add_argument("--expires", metavar="YYYY-MM-DD",
                        help=f"expiry date of every imported entry (default: {DEFAULT_IMPORT_DAYS} days from today)")
    parser.add_argument("--suppressions-max-days", type=int, default=DEFAULT_MAX_DAYS, metavar="DAYS",
                        help="refuse an expiry more than DAYS days away (default 365)")
    parser.add_argument("-o", "--output", metavar="OUT_TOML", help="write here (default: standard output)")
    parser.add_argument("--skip-unsupported", action="store_true",
                        help="leave out (and list) entries orgscan cannot represent, instead of refusing the file")
    return parser


def main(argv: Sequence[str]) -> int:
    """``orgscan suppressions import-prowler MUTELIST [--owner ...] [--expires DATE] [-o OUT]``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(list(argv))
    max_days = validate_max_days(args.suppressions_max_days)
    if not args.owner or not args.owner.strip():
        raise UsageError("suppressions import-prowler: --owner is required: every accepted risk names who accepted it")
    today = today_utc()
    if args.expires is None:
        expires = today + timedelta(days=DEFAULT_IMPORT_DAYS)
    else:
        try:
            expires = date.fromisoformat(args.expires)
        except ValueError:
            raise UsageError(f"--expires {args.expires!r}: not a date (YYYY-MM-DD)") from None
        if expires < today:
            raise UsageError(f"--expires {expires.isoformat()}: already past")
    outcome = import_prowler(Path(args.mutelist), owner=safe_text(args.owner.strip(), 256), expires=expires, max_days=max_days,
                             today=today, skip_unsupported=args.skip_unsupported)
    for line in outcome.skipped:
        print(f"orgscan: skipped: {line}", file=sys.stderr)
    if args.output:
        from scanner.reporting import write_private_file

        write_private_file(Path(args.output), outcome.toml.encode("utf-8"))
        print(f"orgscan: wrote {outcome.imported} suppression(s) to {args.output} (expiring {expires.isoformat()}); "
              f"{len(outcome.skipped)} left out", file=sys.stderr)
    else:
        sys.stdout.write(outcome.toml)
    return 0
