"""Month arguments of the measurement commands (``2026-05``)."""

import datetime as dt

from django.core.management.base import CommandError


def parse_month(text: str) -> dt.date:
    try:
        year, month = (int(part) for part in text.split("-"))
        return dt.date(year, month, 1)
    except ValueError as exc:
        raise CommandError(f"Month must look like 2026-05, not {text!r}.") from exc
