"""The HR admin's SMS pages: the read-only outbox and inbound log, registered under the
campaigns app (``CampaignsConfig.ready`` imports this module).

Both are logs: readable and filterable, never added, changed or deleted here; the one
write is the outbox's reconcile action for messages of unknown outcome
(``admin_reconcile``). Phone
numbers appear only masked; outbox destinations never appear, and numbers a customer typed
into an inbound text are masked on display too.
"""

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from campaigns.messaging.admin_reconcile import reconcile_action
from campaigns.messaging.inbound.router import outcome_label_for_search
from campaigns.messaging.models import InboundSms, OutboundSms
from campaigns.messaging.templates import registered_templates, template_label
from staff.admin_pages import ReadOnlyAdminMixin
from staff.admin_paging import BigTableAdminMixin, RecentValuesFilter
from staff.admin_phone_search import PhoneSearchMixin
from staff.phone_masking import mask_phone_numbers

INBOUND_TEXT_SHOWN = 40


class ReadOnlyLogAdmin(BigTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """A log: no add, change or delete permission; paged without counting the whole table,
    newest first by the primary key (ids grow with ``created_at``)."""

    list_per_page = 100
    ordering = ("-id",)


class TemplateFilter(admin.SimpleListFilter):
    """Templates by their registered, translated labels."""

    title = _("template")
    parameter_name = "template"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(item.key, str(item.label)) for item in registered_templates()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(template=self.value()) if self.value() else queryset


@admin.register(OutboundSms)
class OutboundSmsAdmin(PhoneSearchMixin, ReadOnlyLogAdmin):
    """The outbox: what was (or will be) sent, to a masked number. Never the destination."""

    list_display = (
        "created_at",
        "phone_masked",
        "template_name",
        "language",
        "status",
        "attempts",
        "sent_at",
    )
    list_filter = (
        "status",
        TemplateFilter,
        ("language", RecentValuesFilter),
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("phone_masked", "=provider_message_id")
    fields = (
        "phone_masked",
        "template_name",
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
    actions = ("reconcile_selected",)

    @admin.display(description=_("template"), ordering="template")
    def template_name(self, obj: OutboundSms) -> str:
        return template_label(obj.template)

    def has_reconcile_permission(self, request: HttpRequest) -> bool:
        # Reconciling changes a message's status: the model's change permission, though
        # the log itself stays read-only.
        return request.user.has_perm("campaigns.change_outboundsms")

    @admin.action(
        description=_("Reconcile selected messages of unknown outcome…"),
        permissions=["reconcile"],
    )
    def reconcile_selected(
        self, request: HttpRequest, queryset: QuerySet[OutboundSms]
    ) -> HttpResponse | None:
        return reconcile_action(self, request, queryset)


@admin.register(InboundSms)
class InboundSmsAdmin(PhoneSearchMixin, ReadOnlyLogAdmin):
    """Inbound SMS as the gateways delivered them: sender masked, outcome, its reference.

    The sender is stored only as a key and a mask; numbers a customer typed into the text
    are masked on display too. ``outcome_label`` is the handler's short reference (a
    vote's receipt code), searchable as the handler normalises it.
    """

    list_display = (
        "received_at",
        "provider",
        "phone_masked",
        "short_text",
        "status",
        "code",
        "outcome",
    )
    list_filter = (
        ("provider", RecentValuesFilter),
        "status",
        ("code", RecentValuesFilter),
        ("handled_by", RecentValuesFilter),
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("=message_id", "phone_masked")
    search_help_text = _("A provider message id, a masked number (138****5678) or a receipt code.")
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
        "handled_by",
        "outcome",
    )
    readonly_fields = fields

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        labels = outcome_label_for_search(search_term)
        if labels:
            # A reference typed loosely (a receipt code in lower case, O for 0) finds its
            # message as well.
            found = queryset.filter(Q(pk__in=found.values("pk")) | Q(outcome_label__in=labels))
        return found, may_have_duplicates

    @admin.display(description=_("text"))
    def short_text(self, obj: InboundSms) -> str:
        text = mask_phone_numbers(obj.text)
        return text if len(text) <= INBOUND_TEXT_SHOWN else f"{text[:INBOUND_TEXT_SHOWN]}…"

    @admin.display(description=_("text"))
    def shown_text(self, obj: InboundSms) -> str:
        return mask_phone_numbers(obj.text)

    @admin.display(description=_("outcome reference"), ordering="outcome_label")
    def outcome(self, obj: InboundSms) -> str:
        return obj.outcome_label or "—"
