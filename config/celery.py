"""The Celery application. Settings come from Django settings (``CELERY_*``)."""

import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

# The embedded default's broker: kombu's filesystem transport with atomic writes.
TRANSPORT_ALIASES.setdefault("atomicfs", "config.celery_fs:Transport")

app = Celery("service_star")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
