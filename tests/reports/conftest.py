"""Fixtures shared by the report tests."""
from __future__ import annotations

import os

import pytest

from report_browser import CHROMIUM_ARGS, chromium_path


@pytest.fixture(scope="session")
def chromium_browser():
    """A headless Chromium (``CHROMIUM_PATH`` or Debian's ``chromium``) driven by playwright; skips without one."""
    executable = chromium_path()
    if executable is None:
        where = os.environ.get("CHROMIUM_PATH") or "chromium on PATH or /usr/bin/chromium"
        pytest.skip(f"no Chromium binary found ({where}); install Debian's chromium or set CHROMIUM_PATH")
    # playwright is part of the test extra: its absence is an error, not a reason to skip.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
