"""Scan settings: defaults, the TOML config file (``--config``) and the command line, in that order of precedence.

The config file holds the same options as the command line (long option names,
dashes or underscores), plus a ``[checks]`` table: ``include``/``exclude``
lists and one sub-table of options per check id (``[checks.tags_no_sensitive_data]``).
An unknown key is an error that names it.
"""
from __future__ import annotations

import difflib
import math
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10
    import tomli as tomllib

from scanner.errors import UsageError
from scanner.model import Severity

FAIL_ON_CHOICES = tuple(s.value for s in Severity) + ("none",)
EXECUTORS = ("local", "dask")

#: Upper bounds of the numeric options: far above what any scan needs, low enough not to hang start-up
#: (each unit of concurrency is a thread and a pooled connection) or overflow a timer.
MAX_CONCURRENCY = 1024
MAX_CHECK_TIMEOUT = 7 * 24 * 3600

# IAM's own rules (ASCII only: ``\w`` of ``re.ASCII`` is ``[A-Za-z0-9_]``), from the IAM API reference:
# CreateRole RoleName, AssumeRole RoleSessionName and ExternalId.
ACCOUNT_ID_PATTERN = re.compile(r"[0-9]{12}", re.ASCII)
ROLE_NAME_PATTERN = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
ROLE_SESSION_NAME_PATTERN = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
EXTERNAL_ID_PATTERN = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)

#: The role AWS Organizations creates in every account it creates (CreateAccount's RoleName default).
DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"
DEFAULT_ROLE_SESSION_NAME = "orgscan"


@dataclass(frozen=True)
class RoleSettings:
    """How every account but the caller's is reached: ``sts:AssumeRole`` into this role."""

    name: str = DEFAULT_ROLE_NAME
    external_id: str | None = None
    session_name: str = DEFAULT_ROLE_SESSION_NAME


@dataclass
class ScanSettings:
    """Everything a scan needs; plain data, so it can be stored in the spool and sent to Dask workers."""

    profile: str | None = None
    org: bool = False
    ou: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    exclude_accounts: list[str] = field(default_factory=list)
    role_name: str = DEFAULT_ROLE_NAME
    external_id: str | None = None
    role_session_name: str = DEFAULT_ROLE_SESSION_NAME
    regions: list[str] = field(default_factory=list)  # empty: the session's default region; ["all"]: enabled regions
    checks: list[str] = field(default_factory=list)
    exclude_checks: list[str] = field(default_factory=list)
    concurrency: int = 32
    check_timeout: float = 300.0
    output_dir: str = "orgscan-out"
    format: list[str] = field(default_factory=list)
    fail_on: str = "low"
    #: Exit code 5 when any result is ERROR because AWS could not be asked (transport, throttling, 5xx).
    fail_on_incomplete: bool = False
    #: Accepted risks (scanner/suppressions.py); a relative path in the config file is relative to that file.
    suppressions: str | None = None
    #: How far ahead a suppression's expiry date may lie, in days from the day it is read.
    suppressions_max_days: int = 365
    #: An earlier results.json to compare with (``scanner.baseline``).
    baseline: str | None = None
    #: Exit code 1 only for FAILs that are new since the baseline.
    fail_on_new: bool = False
    #: Where complete scans are kept and the baseline is found (``scanner.history``): a directory or s3://bucket/prefix.
    history: str | None = None
    #: Keep only this many most recent scans of the same scope in the history.
    history_keep: int | None = None
    #: SSE-KMS key for the S3 history's objects (else the bucket's default encryption).
    history_kms_key: str | None = None
    quiet: bool = False
    log_level: str = "warning"
    plugin: list[str] = field(default_factory=list)
    disable_plugin: list[str] = field(default_factory=list)
    executor: str = "local"
    scheduler: str | None = None
    check_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The file ``check_options`` were read from (``--config``; ``plan.json`` when resuming): named in their errors.
    config: str | None = None
    plugin_options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def role(self) -> RoleSettings:
        return RoleSettings(self.role_name, self.external_id, self.role_session_name)

    @property
    def first_named_region(self) -> str | None:
        """The first of ``--regions`` when regions are named, else ``None``.

        The scan's default region (account-wide checks' calls, the organization's
        reads, the history's bucket); without named regions it is the profile's,
        else us-east-1 (:class:`scanner.sessions.AccountSessions`).
        """
        return self.regions[0] if self.regions and self.regions != ["all"] else None

    def options(self) -> dict[str, Any]:
        """The mapping plugins receive in ``orgscan_register_checks``: every setting plus plugin options."""
        merged = {k: v for k, v in self.to_dict().items() if k != "plugin_options"}
        merged.update(self.plugin_options)
        return merged


LIST_KEYS = {"ou", "accounts", "exclude_accounts", "regions", "checks", "exclude_checks", "format", "plugin", "disable_plugin"}


def split_list(value: Any) -> list[str]:
    """``"a,b"`` or ``["a", "b"]`` as a list of stripped, non-empty strings."""
    if isinstance(value, str):
        value = value.split(",")
    return [str(item).strip() for item in value if str(item).strip()]


def read_config(path: str | Path, plugin_keys: set[str], lenient: bool = False) -> dict[str, Any]:
    """The config file as ScanSettings keyword arguments; UsageError naming the file and key otherwise.

    ``lenient`` ignores unknown keys: used once before plugins are loaded, to
    find the plugins the file asks for (their options are not known yet).
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--config {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"--config {path}: cannot read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: invalid TOML: {error}") from None
    options = options_from_mapping(raw, str(path), plugin_keys, lenient)
    if isinstance(options.get("suppressions"), str) and not Path(options["suppressions"]).is_absolute():
        # The suppression file usually sits next to the config file that names it.
        options["suppressions"] = str(path.parent / options["suppressions"])
    return options


def options_from_mapping(raw: Mapping[str, Any], source: str, plugin_keys: set[str], lenient: bool = False) -> dict[str, Any]:
    """A config file's (or a stored plan's) options as ScanSettings keyword arguments; UsageError naming the key."""
    path = Path(source)
    known = {f for f in ScanSettings.__dataclass_fields__ if f not in {"check_options", "plugin_options", "config"}}
    settings: dict[str, Any] = {}
    plugin_options: dict[str, Any] = {}
    for raw_key, value in raw.items():
        key = raw_key.replace("-", "_")
        if key == "checks" and isinstance(value, dict):
            _read_checks_table(path, value, settings)
            continue
        if key in plugin_keys:
            plugin_options[key] = value
            continue
        if key not in known:
            if lenient:
                continue
            suggestion = difflib.get_close_matches(key, sorted(known | plugin_keys), n=1)
            hint = f" (did you mean {suggestion[0].replace('_', '-')!r}?)" if suggestion else ""
            raise UsageError(f"{path}: unknown key {raw_key!r}{hint}")
        settings[key] = _coerce(path, raw_key, key, value)
    if plugin_options:
        settings["plugin_options"] = plugin_options
    return settings


def settings_from_plan(stored: Any, source: str) -> ScanSettings:
    """The settings a plan stored, through the same checks as the config file and the command line (then :func:`validate`).

    ``--resume`` reads them from ``plan.json``, which sits in the output directory:
    it gets no more trust than a config file.
    """
    if not isinstance(stored, dict):
        raise UsageError(f"{source}: settings must be an object")
    stored = dict(stored)
    check_options = stored.pop("check_options", {})
    plugin_options = stored.pop("plugin_options", {})
    # The check options are read from the plan now, whichever file they first came from.
    stored.pop("config", None)
    defaults = {name: f.default for name, f in ScanSettings.__dataclass_fields__.items()}
    # Optional settings are stored as null; a config file simply leaves them out.
    present = {k: v for k, v in stored.items() if not (v is None and defaults.get(k.replace("-", "_")) is None)}
    options = options_from_mapping(present, source, plugin_keys=set())
    if not isinstance(check_options, dict) or not all(isinstance(k, str) and isinstance(v, dict) for k, v in check_options.items()):
        raise UsageError(f"{source}: settings.check_options must map check ids to tables of options")
    if not isinstance(plugin_options, dict) or not all(isinstance(k, str) for k in plugin_options):
        raise UsageError(f"{source}: settings.plugin_options must be an object")
    settings = ScanSettings(**options, check_options=check_options, plugin_options=plugin_options, config=source)
    validate(settings)
    return settings


def _read_checks_table(path: Path, table: Mapping[str, Any], settings: dict[str, Any]) -> None:
    check_options: dict[str, dict[str, Any]] = {}
    for key, value in table.items():
        if key in ("include", "exclude"):
            if not isinstance(value, (list, str)):
                raise UsageError(f"{path}: checks.{key} must be a list of check ids")
            settings["checks" if key == "include" else "exclude_checks"] = split_list(value)
        elif isinstance(value, dict):
            # Option names follow the rest of the file: dashes or underscores.
            check_options[key] = {name.replace("-", "_"): option for name, option in value.items()}
        else:
            raise UsageError(f"{path}: checks.{key} must be a table of options for check {key!r}, or include/exclude")
    settings["check_options"] = check_options


def _coerce(path: Path, raw_key: str, key: str, value: Any) -> Any:
    if key in LIST_KEYS:
        if not isinstance(value, (list, str)) or (isinstance(value, list) and not all(isinstance(v, str) for v in value)):
            raise UsageError(f"{path}: {raw_key!r} must be a list of strings or a comma-separated string")
        return split_list(value)
    expected = {"org": bool, "quiet": bool, "fail_on_incomplete": bool, "fail_on_new": bool, "history_keep": int,
                "concurrency": int, "suppressions_max_days": int, "check_timeout": (int, float)}.get(key, str)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        kind = {bool: "true or false", int: "an integer", str: "a string"}.get(expected, "a number")  # type: ignore[arg-type]
        raise UsageError(f"{path}: {raw_key!r} must be {kind}, not {type(value).__name__}")
    return value


def validate(settings: ScanSettings) -> None:
    """Range, choice and name checks shared by the command line, the config file and ``--resume``'s stored plan.

    Creates nothing: the output directory is checked, not made.
    """
    from scanner.output_dir import check_output_dir

    if not 1 <= settings.concurrency <= MAX_CONCURRENCY:
        raise UsageError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}, not {settings.concurrency}")
    if not (math.isfinite(settings.check_timeout) and 0 < settings.check_timeout <= MAX_CHECK_TIMEOUT):
        raise UsageError(f"--check-timeout must be a number of seconds above 0 and at most {MAX_CHECK_TIMEOUT}, not {settings.check_timeout!r}")
    validate_role_name(settings.role_name, "--role-name")
    if not ROLE_SESSION_NAME_PATTERN.fullmatch(settings.role_session_name):
        raise UsageError(f"--role-session-name {settings.role_session_name!r}: 2 to 64 of the characters A-Z a-z 0-9 _ + = , . @ -")
    if settings.external_id is not None and not EXTERNAL_ID_PATTERN.fullmatch(settings.external_id):
        raise UsageError("--external-id: 2 to 1224 of the characters A-Z a-z 0-9 _ + = , . @ : / -")
    validate_account_ids(settings.accounts, "--accounts")
    validate_account_ids(settings.exclude_accounts, "--exclude-accounts")
    check_output_dir(settings.output_dir)
    if settings.fail_on not in FAIL_ON_CHOICES:
        raise UsageError(f"--fail-on must be one of {', '.join(FAIL_ON_CHOICES)}, not {settings.fail_on!r}")
    if settings.executor not in EXECUTORS:
        raise UsageError(f"--executor must be one of {', '.join(EXECUTORS)}, not {settings.executor!r}")
    if settings.executor == "dask" and not settings.scheduler:
        raise UsageError("--executor dask needs --scheduler tcp://HOST:PORT")
    if settings.log_level.lower() not in ("debug", "info", "warning", "error", "critical"):
        raise UsageError(f"--log-level must be debug, info, warning, error or critical, not {settings.log_level!r}")
    from scanner.suppressions import validate_max_days

    validate_max_days(settings.suppressions_max_days)
    if settings.fail_on_new and not (settings.baseline or settings.history):
        raise UsageError("--fail-on-new needs --baseline or --history (an earlier scan to tell new FAILs from known ones)")
    from scanner.history import validate_history_options

    validate_history_options(settings.history, settings.history_keep, settings.history_kms_key)
    if settings.ou and not settings.org:
        raise UsageError("--ou needs --org")


def validate_role_name(value: str, option: str = "--role-name") -> str:
    """``value`` if it is a valid IAM role name (1 to 64 of ``A-Za-z0-9_+=,.@-``); UsageError naming ``option`` otherwise.

    The one home of the rule (IAM API reference, CreateRole, RoleName):
    scanning, uploading and ``orgscan iam-policy`` use it.
    """
    if not isinstance(value, str) or not ROLE_NAME_PATTERN.fullmatch(value):
        # Bounded repr: a hostile value stays one short line.
        raise UsageError(f"{option} {str(value)[:80]!r}: not an IAM role name (1 to 64 of the characters A-Z a-z 0-9 _ + = , . @ -)")
    return value


def validate_account_ids(values: Any, option: str) -> list[str]:
    """The ids, or a UsageError naming the malformed one (exactly 12 ASCII digits)."""
    ids = []
    for value in values:
        value = value.strip() if isinstance(value, str) else value
        if not isinstance(value, str) or not ACCOUNT_ID_PATTERN.fullmatch(value):
            raise UsageError(f"{option}: {value!r} is not a 12-digit AWS account id")
        ids.append(value)
    return ids
