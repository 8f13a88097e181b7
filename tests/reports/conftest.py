"""Fixtures shared by the report tests."""
from __future__ import annotations

import pytest

from report_browser import CHROMIUM_ARGS, chromium_path


@pytest.fixture(scope="session")
def chromium_browser():
    """A headless Chromium (``CHROMIUM_PATH`` or Debian's ``chromium``) driven by playwright; skips without one."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium binary found (install Debian's chromium or set CHROMIUM_PATH)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
