"""WSGI entry point (gunicorn config.wsgi)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()

# What is loaded by now (Django, the apps, their modules) lives as long as the process:
# freezing it keeps the cycle collector from walking it again on every full collection,
# and a higher first threshold lets a request's short-lived objects (an SMS batch makes a
# hundred thousand) die young without a collection every 700 allocations. Measured in
# docs/benchmarks.md ("Vote paths, issue 12").
gc.freeze()
gc.set_threshold(50_000, 20, 20)
