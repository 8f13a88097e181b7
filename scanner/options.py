"""Reading a check's options from its ``[checks.<id>]`` table: one way to name a wrong setting.

Until options are validated against a schema when the plan is made (issue 19), a
check reads them on each run and turns an :class:`OptionError` into an ERROR
result that names the setting.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence


class OptionError(ValueError):
    """A ``[checks.<id>]`` setting is wrong; the message names the table and the key."""


def known_options(check_id: str, options: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """``options`` with ``-`` in keys read as ``_`` (the config file allows both); OptionError naming an unknown key."""
    normalised = {str(key).replace("-", "_"): value for key, value in options.items()}
    unknown = sorted(set(normalised) - set(names))
    if unknown:
        raise OptionError(f"[checks.{check_id}]: unknown option {unknown[0]!r} (known: {', '.join(names)})")
    return normalised
