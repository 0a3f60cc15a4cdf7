"""Fixtures shared by every test package."""

import importlib
import os
import shutil
from pathlib import Path

import pytest
from django.utils import translation

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT_DIR = Path(__file__).parent / "e2e" / "screenshots"
GROUPS_MIGRATION = "staff.migrations.0005_hr_admin_and_judge_groups"


@pytest.fixture(autouse=True)
def _english_outside_requests():
    """Messages produced outside a request (services, commands) are compared in English.

    Requests still choose their language through LocaleMiddleware (Chinese by default), and
    the tests of pages assert the Chinese text.
    """
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_throttle_counts() -> None:
    """The courtesy throttles count in the process as well as in the cache: each test
    starts with none counted here (tests that count clear the cache too)."""
    from voting.api.throttles import forget_counts  # imported after Django is set up

    forget_counts()


@pytest.fixture
def migrated_groups(db) -> None:
    """The groups of the data migration. A transactional test's flush empties every table,
    data migrations' rows included, so they are rebuilt by the migration's own function
    when missing (it is idempotent)."""
    from django.apps import apps
    from django.contrib.auth.models import Group

    if Group.objects.filter(name__in=["HR admins", "Judges"]).count() < 2:
        importlib.import_module(GROUPS_MIGRATION).create_groups(apps, None)


@pytest.fixture
def admin_user(db):
    """An HR admin as deployed: staff, in the HR admins' group, not a superuser."""
    from tests.factories.staff import UserFactory

    return UserFactory(username="hr", in_hr_admins=True)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture(scope="session")
def browser():
    """A headless Debian Chromium driven by Playwright; skipped when Chromium is missing."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip(
            "Browser tests skipped: Debian's Chromium is not installed "
            "(apt-get install -y chromium). Nothing is downloaded in its place."
        )
    # Django's live server runs in a thread; Playwright's sync API runs an event loop in it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR


@pytest.fixture
def sent_wakeups(settings, monkeypatch):
    """The names of the tasks that ``staff.wakeups`` publishes, in order, instead of talking
    to a broker (the broker itself is exercised by tests/staff/test_wakeups.py and the
    real-worker tests). Wake-ups are switched on, with a fresh debounce state."""
    from staff import wakeups

    settings.WAKEUPS_ENABLED = True
    settings.CELERY_BROKER_URL = "memory://"
    wakeups.reset_wakeups()
    names: list[str] = []

    def record(name, kwargs=None, connection=None, **options):
        names.append(name)

    monkeypatch.setattr(wakeups.current_app, "send_task", record)
    yield names
    wakeups.reset_wakeups()
