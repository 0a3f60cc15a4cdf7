"""Read functions of SMS messaging."""

from collections.abc import Iterable

from django.db import connection
from django.db.models import QuerySet

from campaigns.messaging.choices import SmsStatus
from campaigns.messaging.models import OutboundSms
from campaigns.messaging.templates import language_source_keys
from staff.sql import quoted_columns, quoted_table


def outbox_messages(*, phone_hash: str | None = None, last: int = 20) -> QuerySet[OutboundSms]:
    """The newest ``last`` outbound messages, optionally of one phone (by its hash)."""
    messages = OutboundSms.objects.all()
    if phone_hash is not None:
        messages = messages.filter(phone_hash=phone_hash)
    return messages.order_by("-created_at", "-pk")[:last]


def reply_languages(phone_hashes: Iterable[str]) -> dict[str, str]:
    """Each phone's reply language: the language of its newest message of a
    ``language_source`` template (a one-time code asked for on the web page), in one query.
    Phones without such a message are absent."""
    hashes = set(phone_hashes)
    if not hashes:
        return {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(reply_languages_sql(), [list(hashes), list(language_source_keys())])
            return dict(cursor.fetchall())
    rows = (
        OutboundSms.objects.filter(phone_hash__among=hashes, template__in=language_source_keys())
        .order_by("phone_hash", "created_at", "pk")
        .values_list("phone_hash", "language")
    )
    return dict(rows)  # the newest row of each phone comes last and wins


def reply_languages_sql() -> str:
    """``reply_languages`` on PostgreSQL: per phone, the newest language-source message,
    found walking back that phone's messages on ``outboundsms_phone`` (``LIMIT 1`` in a
    ``LATERAL`` subquery). Asked as one ``phone_hash = ANY(…)``, the planner read the whole
    outbox whenever the table had no statistics yet (a young table: a campaign's first
    minutes, every benchmark run), and every message of each phone, receipts included,
    when it had (docs/benchmarks.md, "Vote paths, issue 12, fourth session")."""
    phone, language, template, created, pk = quoted_columns(
        OutboundSms, "phone_hash", "language", "template", "created_at", "id"
    )
    # Names from _meta: no user input in the text; the values travel as parameters.
    return (
        f"SELECT k.phone, o.{language} FROM unnest(%s::text[]) AS k(phone) "  # noqa: S608
        f"CROSS JOIN LATERAL (SELECT {language} FROM {quoted_table(OutboundSms)} "
        f"WHERE {phone} = k.phone AND {template} = ANY(%s::text[]) "
        f"ORDER BY {created} DESC, {pk} DESC LIMIT 1) AS o"
    )


def unknown_outcome_messages() -> QuerySet[OutboundSms]:
    """Outbound messages whose outcome is unknown, oldest first: to be reconciled."""
    return OutboundSms.objects.filter(status=SmsStatus.UNKNOWN).order_by("created_at", "pk")
