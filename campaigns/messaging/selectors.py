"""Read functions of SMS messaging."""

from collections.abc import Iterable

from django.db.models import QuerySet

from campaigns.messaging.choices import SmsStatus
from campaigns.messaging.models import OutboundSms
from campaigns.messaging.templates import language_source_keys


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
    rows = (
        OutboundSms.objects.filter(phone_hash__among=hashes, template__in=language_source_keys())
        .order_by("phone_hash", "created_at", "pk")
        .values_list("phone_hash", "language")
    )
    return dict(rows)  # the newest row of each phone comes last and wins


def unknown_outcome_messages() -> QuerySet[OutboundSms]:
    """Outbound messages whose outcome is unknown, oldest first: to be reconciled."""
    return OutboundSms.objects.filter(status=SmsStatus.UNKNOWN).order_by("created_at", "pk")
