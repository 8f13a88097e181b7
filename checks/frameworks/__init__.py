"""The built-in compliance framework files: which built-in checks implement which controls (data, not code).

Registered under the ``orgscan`` entry-point group like every plugin, and
shipped to the host through the same ``orgscan_register_frameworks`` hook that
third-party plugins use. ``docs/frameworks.md`` describes the format.
"""
from __future__ import annotations

from pathlib import Path

from scanner import hookimpl

FRAMEWORK_FILES = sorted(Path(__file__).parent.glob("*.toml"))


@hookimpl
def orgscan_register_frameworks() -> list[Path]:
    return list(FRAMEWORK_FILES)
