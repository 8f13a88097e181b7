"""A plugin that tells the test when a scan process has its first result (loaded with --plugin).

``orgscan_result`` fires once a target's results are in the spool: the first one
writes a byte to the pipe whose descriptor the test passes in ``ORGSCAN_TEST_RESULT_FD``,
so the test blocks on that pipe instead of polling the spool with sleeps.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Mapping

from scanner import hookimpl

ENVIRONMENT_VARIABLE = "ORGSCAN_TEST_RESULT_FD"
_signalled = threading.Event()
_lock = threading.Lock()


@hookimpl
def orgscan_result(result: Mapping[str, Any]) -> None:
    descriptor = os.environ.get(ENVIRONMENT_VARIABLE)
    if descriptor is None:
        return
    with _lock:
        if not _signalled.is_set():
            _signalled.set()
            os.write(int(descriptor), b"1")
