"""Scan settings: defaults, the TOML config file (``--config``) and the command line, in that order of precedence.

The config file holds the same options as the command line (long option names,
dashes or underscores), plus a ``[checks]`` table: ``include``/``exclude``
lists and one sub-table of options per check id (``[checks.tags_no_sensitive_data]``).
An unknown key is an error that names it.
"""
from __future__ import annotations

import difflib
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


@dataclass
class ScanSettings:
    """Everything a scan needs; plain data, so it can be stored in the spool and sent to Dask workers."""

    profile: str | None = None
    org: bool = False
    ou: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    exclude_accounts: list[str] = field(default_factory=list)
    role_name: str = "OrganizationAccountAccessRole"
    external_id: str | None = None
    role_session_name: str = "orgscan"
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
    quiet: bool = False
    log_level: str = "warning"
    plugin: list[str] = field(default_factory=list)
    disable_plugin: list[str] = field(default_factory=list)
    executor: str = "local"
    scheduler: str | None = None
    check_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    plugin_options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

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
    known = {f for f in ScanSettings.__dataclass_fields__ if f not in {"check_options", "plugin_options"}}
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
    expected = {"org": bool, "quiet": bool, "fail_on_incomplete": bool, "concurrency": int, "check_timeout": (int, float)}.get(key, str)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        kind = {bool: "true or false", int: "an integer", str: "a string"}.get(expected, "a number")  # type: ignore[arg-type]
        raise UsageError(f"{path}: {raw_key!r} must be {kind}, not {type(value).__name__}")
    return value


#: IAM's rule for a role name: 1 to 64 of letters, digits and ``+=,.@_-``
#: (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html, RoleName).
ROLE_NAME_PATTERN = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)


def validate_role_name(name: str, option: str = "--role-name") -> None:
    """Raise UsageError unless ``name`` is a valid IAM role name."""
    if not isinstance(name, str) or not ROLE_NAME_PATTERN.fullmatch(name):
        # repr: a hostile name with control characters stays on one line.
        raise UsageError(f"{option} {str(name)[:80]!r}: an IAM role name is 1 to 64 letters, digits or +=,.@_- characters")


def validate(settings: ScanSettings) -> None:
    """Range and choice checks shared by the command line and the config file."""
    validate_role_name(settings.role_name)
    if settings.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if settings.check_timeout <= 0:
        raise UsageError("--check-timeout must be positive")
    if settings.fail_on not in FAIL_ON_CHOICES:
        raise UsageError(f"--fail-on must be one of {', '.join(FAIL_ON_CHOICES)}, not {settings.fail_on!r}")
    if settings.executor not in EXECUTORS:
        raise UsageError(f"--executor must be one of {', '.join(EXECUTORS)}, not {settings.executor!r}")
    if settings.executor == "dask" and not settings.scheduler:
        raise UsageError("--executor dask needs --scheduler tcp://HOST:PORT")
    if settings.log_level.lower() not in ("debug", "info", "warning", "error", "critical"):
        raise UsageError(f"--log-level must be debug, info, warning, error or critical, not {settings.log_level!r}")
    if settings.ou and not settings.org:
        raise UsageError("--ou needs --org")
