"""Test settings: fast hashing, plain static storage, deterministic keys."""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-8c2f0e4d1b9a7c6e5f3d")
os.environ.setdefault("PHONE_HASH_KEY", "test-phone-hash-key")
os.environ.setdefault("SMS_INBOUND_SECRET", "test-sms-inbound-secret")

from .base import *

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The manifest storage needs collectstatic first; CI checks collectstatic separately.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "test-media"
# One test process: without Redis, an in-memory cache keeps tests apart from each other and
# from a demo's cache folder (tests that run several processes set CACHE_FOLDER themselves).
if not REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_ALWAYS_EAGER = False
# Test clients log in without a request (client.login), which axes refuses; the lockout
# tests switch it on with override_settings(AXES_ENABLED=True).
AXES_ENABLED = False
LOGGING["root"]["level"] = "WARNING"
# whitenoise warns about a missing STATIC_ROOT; tests serve from the finders instead.
STATIC_ROOT = VAR_DIR / "test-static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
