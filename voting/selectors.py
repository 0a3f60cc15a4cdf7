"""Read functions of the SMS outbox (moving to ``campaigns.messaging`` with the outbox)."""

from django.db.models import QuerySet

from voting.models import OutboundSms


def outbox_messages(*, phone_hash: str | None = None, last: int = 20) -> QuerySet[OutboundSms]:
    """The newest ``last`` outbound messages, optionally of one phone (by its hash)."""
    messages = OutboundSms.objects.all()
    if phone_hash is not None:
        messages = messages.filter(phone_hash=phone_hash)
    return messages.order_by("-created_at", "-pk")[:last]
