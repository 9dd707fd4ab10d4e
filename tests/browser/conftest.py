"""Playwright against Debian's Chromium (no browser download), headless and offline.

One browser for the whole session (pytest-playwright's session-scoped `browser`), a fresh
context per test, and generous timeouts everywhere (see tests/browser/__init__.py).
"""

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser import ACTION_TIMEOUT_MS, NAVIGATION_TIMEOUT_MS, patient

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        # Starting Chromium on a loaded machine can take far longer than the 30 s default.
        "timeout": NAVIGATION_TIMEOUT_MS,
        "args": [
            # No sandbox inside containers.
            "--no-sandbox",
            "--disable-gpu",
            # No background traffic, since sites may be offline.
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            # Containers often have a tiny /dev/shm; renderers that run out of it crash,
            # which Playwright reports as the page (or browser) having been closed.
            "--disable-dev-shm-usage",
            # Headless pages count as hidden: under CPU pressure Chromium would throttle
            # their timers (the centre's polling, Leaflet's redraws) and deprioritise
            # their renderers, so a waited-for change arrives late or not at all.
            "--disable-renderer-backgrounding",
            "--disable-background-timer-throttling",
            "--disable-backgrounding-occluded-windows",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # A Chinese-language desktop, as at a street command centre; reduced motion makes the
    # map jump instead of animate, so a test can click right after it moves.
    return {
        **browser_context_args,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "viewport": {"width": 1280, "height": 800},
        "reduced_motion": "reduce",
    }


@pytest.fixture(scope="session", autouse=True)
def _patient_expect() -> Iterator[None]:
    """`expect` waits up to 5 s by default: far too short beside a demo on two cores."""
    expect.set_options(timeout=ACTION_TIMEOUT_MS)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture
def context(context: BrowserContext) -> BrowserContext:
    """pytest-playwright's per-test context, with the suite's timeouts."""
    return patient(context)
