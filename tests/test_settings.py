"""Settings come from the environment; production refuses to start without its secrets."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "p7Vq-2xR9mZ!cK4wL8nT#hY6jB3fD1sG5aE0uI7oP2qW9eR4tY8uI3oP6aS1dF5g",
    "PHONE_HASH_KEY": "production-phone-hash-key",
    "DATABASE_URL": "postgres://app@db.internal:5432/service_star",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "ALLOWED_HOSTS": "stars.example.com",
}


# Variables the test run itself sets (the browser tests need DJANGO_ALLOW_ASYNC_UNSAFE),
# which a production process would not have.
NOT_INHERITED = {*PRODUCTION_ENV, "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_passes_with_production_variables():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "PHONE_HASH_KEY", "DATABASE_URL"])
def test_production_refuses_to_start_without_a_required_variable(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}

    result = _manage("check", env=env)

    assert result.returncode != 0
    assert missing in result.stderr


def test_embedded_default_needs_no_environment():
    code = (
        "import django; from django.conf import settings; django.setup();"
        "print(settings.DATABASES['default']['ENGINE']);"
        "print(settings.CELERY_BROKER_URL);"
        "print(settings.CACHES['default']['BACKEND']);"
        "print(settings.TIME_ZONE, settings.LANGUAGE_CODE, settings.DEBUG)"
    )
    clean = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env = {**clean, "DJANGO_SETTINGS_MODULE": "config.settings.local"}

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout.split("\n")[:4] == [
        "django.db.backends.sqlite3",
        "atomicfs://",
        "django.core.cache.backends.filebased.FileBasedCache",
        "Asia/Shanghai zh-hans True",
    ]


def test_a_venue_server_on_plain_http_keeps_its_sessions():
    code = (
        "import django; from django.conf import settings; django.setup();"
        "print(settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE,"
        " settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS)"
    )
    clean = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    base = {**clean, **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "config.settings.production"}

    def run(extra: dict[str, str]) -> str:
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**base, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()

    assert run({}) == "True True True 31536000"
    assert run({"VENUE_PLAIN_HTTP": "true"}) == "False False False 0"
