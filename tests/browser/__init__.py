"""Browser tests. Timeouts are generous on purpose: they bound how long a broken page is
waited on, not how fast a working one must be, and a shared two-core machine running a demo
beside the tests can take tens of seconds for what usually takes one."""

from playwright.sync_api import BrowserContext

# Any single action or `expect` (Playwright's own defaults: 30 s and 5 s).
ACTION_TIMEOUT_MS = 60_000
# page.goto, wait_for_url and clicks that navigate: a page load under load, with its assets.
NAVIGATION_TIMEOUT_MS = 90_000


def patient(context: BrowserContext) -> BrowserContext:
    """The context with the suite's timeouts, for contexts a test makes itself."""
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    return context
