"""The Prowler bridge: Prowler's AWS checks, run in every account of the scan (see docs/prowler.md).

Enabled by configuration: without ``--prowler-bin`` (or the config file's top-level
``prowler-bin`` key, docs/configuration.md) it contributes no check. Prowler is never imported:
it runs as a separate program from its own virtual environment.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from checks.prowler.prowler_bridge import build_prowler_bridge
from checks.prowler.settings import add_options, read_settings
from scanner import hookimpl
from scanner.model import Check


@hookimpl
def orgscan_add_options(group: Any) -> None:
    add_options(group)


@hookimpl
def orgscan_register_checks(options: Mapping[str, Any]) -> Sequence[Check]:
    settings = read_settings(options)
    if settings is None:
        return []
    return [build_prowler_bridge(settings)]
