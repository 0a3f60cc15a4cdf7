"""The database clock: the one clock that decides stage windows, day limits and code expiry.

Web processes and workers may disagree about the time by seconds or minutes; PostgreSQL
is one clock shared by all of them. Each service reads it once with
``db_now()`` and uses that value for every decision and timestamp of its transaction.

On PostgreSQL ``db_now()`` is ``now()``: the start time of the current transaction. A
vote is therefore decided at the moment its transaction began, before any wait for the
voter's row lock, and every row it writes carries that same time.

On SQLite (the embedded default) the database runs inside this process, so its clock is
the process clock, read through Django; tests may move it with time-machine.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone


def db_now() -> dt.datetime:
    """The database's current time (aware, UTC). One query on PostgreSQL, none on SQLite."""
    if connection.vendor != "postgresql":
        return timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        (now,) = cursor.fetchone()
    return now


def local_day(moment: dt.datetime) -> dt.date:
    """The calendar day of ``moment`` in the campaign's time zone (``TIME_ZONE``,
    Asia/Shanghai): a voter's daily allowance renews at local midnight, not UTC midnight."""
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).date()
