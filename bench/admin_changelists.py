"""Benchmark: the HR admin's big change lists on the demo data (issue 14 item 6).

Run against a database seeded by ``manage.py seed_demo`` (a million votes):

      DATABASE_URL=postgres://postgres@127.0.0.1:5432/<demo database> \\
      .venv/bin/python bench/admin_changelists.py

Opens each list's first page as a superuser through Django's test client (the whole
request: middleware, queries, template), once to warm up and then three times, and prints
one markdown table: the best of the three, the number of queries, and the table's size as
the planner estimates it. Reads only.
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

LISTS = (
    ("voting", "vote"),
    ("campaigns", "outboundsms"),
    ("campaigns", "inboundsms"),
    ("staff", "auditevent"),
    ("evaluations", "rating"),
    ("evaluations", "servicetransaction"),
    ("evaluations", "ratinginvitation"),
)
RUNS = 3


def main() -> None:
    import django

    django.setup()
    from django.apps import apps
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from staff.admin_paging import estimated_row_count

    settings.ALLOWED_HOSTS = ["*"]
    client = Client()
    client.force_login(get_user_model().objects.filter(is_superuser=True).first())
    print("| change list | rows (estimate) | best of 3, ms | queries |")
    print("|---|---:|---:|---:|")
    for app_label, model_name in LISTS:
        model = apps.get_model(app_label, model_name)
        url = f"/admin/{app_label}/{model_name}/"
        client.get(url)
        times = []
        for _run in range(RUNS):
            start = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            times.append(time.perf_counter() - start)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
        estimate = estimated_row_count(model.objects.all())
        rows = "—" if estimate is None else f"{estimate:,}"
        print(f"| {url} | {rows} | {min(times) * 1000:.0f} | {len(queries)} |")


if __name__ == "__main__":
    main()
