"""Settings of the vote ingest benchmark's gunicorn: production settings plus the
bench-only ceiling app and its URL conf. Never used outside ``bench/``.

Needs the production environment (``DATABASE_URL``, ``SECRET_KEY``, ``PHONE_HASH_KEY``,
``ALLOWED_HOSTS``); ``bench/vote_ingest.py`` sets it. The API's courtesy throttles count
per IP and every bench request comes from 127.0.0.1, so their rate is raised (they still
run, cache work included); the database limits are the stage's, set by the bench.
"""

from config.settings.production import *  # noqa: F403 -- settings layering

INSTALLED_APPS = [*INSTALLED_APPS, "bench.ceiling_app"]  # noqa: F405
ROOT_URLCONF = "bench.ceiling_app.urls"
# Every bench request comes from 127.0.0.1: a rate no run reaches, so that the throttle
# counts (in the process, sent to Redis every ten requests, as production's far from its
# limits) without refusing.
VOTING_API_THROTTLE_RATES = {"otp": "30/min", "votes": "1000000/s", "receipts": "120/min"}
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
