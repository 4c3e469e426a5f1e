"""Browser tests: Playwright (sync API) driving Debian's Chromium against
pytest-django's `live_server`.

Chromium is never downloaded: the tests use /usr/bin/chromium (`apt-get install
chromium`). Without it they are skipped, unless REQUIRE_BROWSER=1 (CI), which
turns a missing browser into a failure. Screenshots go to test-output/screenshots/
at the repository root (git-ignored).
"""

import importlib
import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
HERE = Path(__file__).resolve().parent


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "browser: drives Chromium with Playwright (skipped without /usr/bin/chromium "
        "unless REQUIRE_BROWSER=1)",
    )


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if REQUIRE_BROWSER:
            pytest.fail(f"REQUIRE_BROWSER=1 but there is no Chromium at {CHROMIUM}")
        pytest.skip("needs Chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in the test thread; Django would
    # refuse the tests' own database work there without this (while a browser runs).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    """A fresh browser tab (own cookies) in English, failing fast on a missing element."""
    context = browser.new_context(locale="en-US", viewport={"width": 1920, "height": 1080})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def moderators_group(transactional_db):
    """The Moderators group of the data migration. Transactional tests empty the
    database after them (migration data included), so it is put back here from the
    migration's own list of permissions if an earlier test has flushed it."""
    from django.contrib.auth.models import Group, Permission

    migration = importlib.import_module("livestreams.migrations.0003_moderators_group")
    group, _created = Group.objects.get_or_create(name="Moderators")
    for app_label, codenames in migration.MODERATOR_PERMISSIONS.items():
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )
    return group
