"""A plugin that interrupts the scan (as Ctrl-C would) at the first judged result: deterministic, no signal, no timing.

Results of accounts that cannot be scanned (ERROR) are recorded before the targets run; the first
PASS or FAIL comes from a running target, where the scan handles an interrupt.
"""
from __future__ import annotations

from typing import Any, Mapping

from scanner import hookimpl


@hookimpl
def orgscan_result(result: Mapping[str, Any]) -> None:
    if result["status"] not in ("PASS", "FAIL"):
        return
    # KeyboardInterrupt is not an Exception: the host's notification guard lets it through, as it lets Ctrl-C.
    raise KeyboardInterrupt
