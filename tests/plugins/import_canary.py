"""A plugin that leaves a trace each time a plugin manager loads it: proves which plugins a command really loaded.

The trace goes to the file named by ``ORGSCAN_TEST_CANARY`` (one line per load).
"""
from __future__ import annotations

import os

from scanner import hookimpl


@hookimpl
def orgscan_register_checks(options):
    trace = os.environ.get("ORGSCAN_TEST_CANARY")
    if trace:
        with open(trace, "a", encoding="utf-8") as handle:
            handle.write("loaded\n")
    return []
