"""Driving report.html in a real headless Chromium (Debian's chromium) through playwright."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    """``CHROMIUM_PATH`` if set (``None`` when it does not exist), else the chromium on PATH or /usr/bin/chromium."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if Path(configured).exists() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def open_report(browser, path: Path, **context_options):
    """(context, page, problems): the report loaded and ready; ``problems`` collects console errors and warnings,
    page errors and any request that leaves the file (there must be none)."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("request", lambda request: problems.append(f"request: {request.url}")
            if not request.url.startswith(("file:", "data:")) else None)
    page.goto(path.as_uri())
    page.wait_for_selector("html[data-ready=true]", timeout=20_000)
    return context, page, problems


def wait_until(page, expression: str, timeout: float = 10.0) -> None:
    """Poll ``expression`` from outside the page (page.wait_for_function would need 'unsafe-eval', which the CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        page.wait_for_timeout(25)


def visible_rows(page) -> int:
    """Finding rows on the current page of the table."""
    return page.locator("#findings-body tr.finding").count()


