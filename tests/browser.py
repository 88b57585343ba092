"""Debian's Chromium, driven by Playwright (no browser download works here)."""
import os
from contextlib import contextmanager

import pytest

from tests.conftest import IN_CI

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling hosts this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def need_chromium():
    """Skip when a newcomer has no Chromium; in CI a missing one is a failure."""
    if os.access(CHROMIUM, os.X_OK):
        return
    reason = f"{CHROMIUM} is missing: the browser tests need Debian's chromium (apt-get install chromium)"
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


@contextmanager
def chromium():
    """Start it only after the fixtures that touch the database: while Playwright's sync API
    runs, an event loop runs in this thread and Django refuses ORM calls."""
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
