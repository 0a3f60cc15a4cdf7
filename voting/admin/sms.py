"""The read-only outbox and inbound SMS pages (moving to ``campaigns.messaging`` with the
models). Phone numbers appear only masked; outbox destinations never appear."""

import re

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from voting.admin.base import ReadOnlyAdminMixin
from voting.ledger.receipts import normalize_receipt_code
from voting.models import InboundSms, OutboundSms


@admin.register(OutboundSms)
class OutboundSmsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The outbox: what was (or will be) sent, to a masked number. Never the destination."""

    list_display = (
        "created_at",
        "phone_masked",
        "template",
        "language",
        "status",
        "attempts",
        "sent_at",
    )
    list_filter = ("status", "template", "language")
    search_fields = ("phone_masked", "=provider_message_id")
    date_hierarchy = "created_at"
    fields = (
        "phone_masked",
        "template",
        "language",
        "body",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "last_error",
        "provider_message_id",
        "created_at",
        "sent_at",
    )
    readonly_fields = fields
    list_per_page = 100
    show_full_result_count = False


_NUMBER_IN_TEXT = re.compile(r"(?<![0-9])(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})(?![0-9])")
INBOUND_TEXT_SHOWN = 40


def mask_numbers_in_text(text: str) -> str:
    """``text`` with every mainland mobile number in it masked (``138****5678``)."""
    return _NUMBER_IN_TEXT.sub(lambda m: f"{m[1]}****{m[3]}", text)


@admin.register(InboundSms)
class InboundSmsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Inbound SMS as the gateways delivered them: sender masked, outcome, linked vote.

    Read-only (a log, like the ledger). The sender is stored only as a key and a mask;
    numbers a voter typed into the text are masked on display too.
    """

    list_display = (
        "received_at",
        "provider",
        "phone_masked",
        "short_text",
        "status",
        "code",
        "vote_receipt",
    )
    list_filter = ("provider", "status", "code")
    list_select_related = ("vote",)
    search_fields = ("=message_id", "phone_masked")
    search_help_text = _("A provider message id, a masked number (138****5678) or a receipt code.")
    date_hierarchy = "created_at"
    fields = (
        "provider",
        "message_id",
        "phone_masked",
        "to_number",
        "shown_text",
        "received_at",
        "created_at",
        "status",
        "code",
        "reply",
        "vote_receipt",
    )
    readonly_fields = fields
    list_per_page = 100
    show_full_result_count = False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        receipt = normalize_receipt_code(search_term)
        if receipt is not None:
            # A receipt code typed loosely (lower case, O for 0) finds its message as well.
            found = queryset.filter(Q(pk__in=found.values("pk")) | Q(vote__receipt_code=receipt))
        return found, may_have_duplicates

    @admin.display(description=_("text"))
    def short_text(self, obj: InboundSms) -> str:
        text = mask_numbers_in_text(obj.text)
        return text if len(text) <= INBOUND_TEXT_SHOWN else f"{text[:INBOUND_TEXT_SHOWN]}…"

    @admin.display(description=_("text"))
    def shown_text(self, obj: InboundSms) -> str:
        return mask_numbers_in_text(obj.text)

    @admin.display(description=_("receipt code"), ordering="vote__receipt_code")
    def vote_receipt(self, obj: InboundSms) -> str:
        return obj.vote.receipt_code if obj.vote_id else "—"
