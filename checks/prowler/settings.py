"""The Prowler bridge's settings, from the command line or the config file.

Each setting has a command-line option ``--prowler-<name>`` and the same
top-level key in the config file (``prowler-bin = "..."``); the host merges
them into the ``options`` mapping as ``prowler_<name>``, the command line
winning. The bridge is off unless ``prowler_bin`` is set.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Any, Mapping

from scanner.errors import UsageError

DEFAULT_CONCURRENCY = 2
#: One Prowler run over every service of one account takes minutes on real AWS;
#: an hour leaves room for large accounts while still ending a hung run.
DEFAULT_TIMEOUT_SECONDS = 3600.0

SETTING_NAMES = ("bin", "checks", "services", "compliance", "concurrency", "timeout")


@dataclass(frozen=True)
class ProwlerSettings:
    """What to run: the Prowler executable, the selection handed to it, and how many runs at once."""

    executable: str
    checks: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    compliance: tuple[str, ...] = ()
    concurrency: int = DEFAULT_CONCURRENCY
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS


def add_options(group: Any) -> None:
    """Add ``--prowler-*`` options to the "plugin options" argparse group.

    Defaults are ``None`` so that a value from the config file is not
    overridden by an argparse default the user never typed.
    """
    group.add_argument(
        "--prowler-bin",
        metavar="PATH",
        default=None,
        help="run Prowler's AWS checks for every account through this prowler executable "
        "(installed in its own virtual environment); the Prowler bridge is off without it",
    )
    group.add_argument(
        "--prowler-checks",
        metavar="ID,ID",
        default=None,
        help="comma-separated Prowler check ids to run (prowler --checks)",
    )
    group.add_argument(
        "--prowler-services",
        metavar="SVC,SVC",
        default=None,
        help="comma-separated Prowler services to run (prowler --services)",
    )
    group.add_argument(
        "--prowler-compliance",
        metavar="FRAMEWORK,FRAMEWORK",
        default=None,
        help="comma-separated Prowler compliance frameworks, e.g. cis_4.0_aws (prowler --compliance)",
    )
    group.add_argument(
        "--prowler-concurrency",
        metavar="N",
        default=None,
        help=f"Prowler runs at the same time, apart from orgscan's own --concurrency (default {DEFAULT_CONCURRENCY}; "
        "each run needs about 370 MB and one CPU)",
    )
    group.add_argument(
        "--prowler-timeout",
        metavar="SECONDS",
        default=None,
        help=f"stop a Prowler run after this long and report ERROR for its account (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )


def read_settings(options: Mapping[str, Any]) -> ProwlerSettings | None:
    """The bridge's settings from the scan options, or ``None`` when ``--prowler-bin`` is not set.

    Raises :class:`UsageError` (one line naming the option) for a bad value.
    """
    raw = {name: options.get(f"prowler_{name}") for name in SETTING_NAMES}
    if raw["bin"] in (None, ""):
        return None
    selection = {name: _names(name, raw[name]) for name in ("checks", "services", "compliance")}
    chosen = [f"--prowler-{name}" for name, names in selection.items() if names]
    if len(chosen) > 1:
        # Prowler's own argument parser accepts only one of them.
        raise UsageError(f"{' and '.join(chosen)} cannot be combined: Prowler runs one selection at a time")
    return ProwlerSettings(
        executable=_executable(raw["bin"]),
        checks=selection["checks"],
        services=selection["services"],
        compliance=selection["compliance"],
        concurrency=_positive_int("concurrency", raw["concurrency"], DEFAULT_CONCURRENCY),
        timeout_seconds=_positive_seconds("timeout", raw["timeout"], DEFAULT_TIMEOUT_SECONDS),
    )


def _executable(value: Any) -> str:
    if not isinstance(value, str):
        raise UsageError(f"--prowler-bin: expected a path, got {value!r}")
    path = shutil.which(value) if os.sep not in value else value
    if path is None or not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise UsageError(f"--prowler-bin {value}: not an executable file")
    return os.path.abspath(path)


def _names(name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        items = list(value)
    else:
        raise UsageError(f"--prowler-{name}: expected a comma-separated list of names, got {value!r}")
    names = tuple(item.strip() for item in items if item.strip())
    for item in names:
        # Names become separate argv entries; anything looking like an option would change the command.
        if item.startswith("-") or any(ch.isspace() for ch in item):
            raise UsageError(f"--prowler-{name}: {item!r} is not a valid Prowler name")
    return names


def _positive_int(name: str, value: Any, default: int) -> int:
    if value is None:
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise UsageError(f"--prowler-{name}: expected a whole number of at least 1, got {value!r}") from None
    if number < 1:
        raise UsageError(f"--prowler-{name}: expected a whole number of at least 1, got {value!r}")
    return number


def _positive_seconds(name: str, value: Any, default: float) -> float:
    if value is None:
        return default
    try:
        seconds = float(str(value).strip())
    except ValueError:
        raise UsageError(f"--prowler-{name}: expected a number of seconds, got {value!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise UsageError(f"--prowler-{name}: expected a positive number of seconds, got {value!r}")
    return seconds
