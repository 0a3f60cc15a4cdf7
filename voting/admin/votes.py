"""The HR admin's fraud review: the vote ledger (read-only, filterable, suspicious patterns
flagged) with bulk invalidate and restore.

Nothing here writes a vote directly: invalidation and restoration go through the
intermediate page of ``voting.admin.fraud_views`` (preview by candidate, reason) to
``voting.fraud.jobs``, which calls ``voting.ledger.corrections`` (and writes the audit
events). Phone numbers appear only masked.
"""

from functools import partial
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from campaigns.models import Contestant
from staff.admin_pages import ReadOnlyAdminMixin
from staff.admin_paging import BigTableAdminMixin
from staff.admin_phone_search import PhoneSearchMixin
from voting.admin import fraud_views
from voting.admin.base import CSS, StageFilter
from voting.fraud import filters, patterns
from voting.fraud.jobs import INVALIDATE, RESTORE
from voting.models import (
    Vote,
)


class CandidateFilter(admin.SimpleListFilter):
    """The candidates of the chosen stage (all candidates at once would be unusable)."""

    title = _("candidate")
    parameter_name = filters.CANDIDATE_PARAM

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        stage_id = request.GET.get(filters.STAGE_PARAM, "")
        chosen = self.value()
        if stage_id.isdigit():
            contestants = Contestant.objects.filter(stage_id=stage_id)
        elif chosen and chosen.isdigit():
            contestants = Contestant.objects.filter(pk=chosen)
        else:
            return []
        contestants = contestants.select_related("staff_member").order_by(
            "staff_member__employee_no"
        )
        return [
            (str(c.pk), f"{c.staff_member.employee_no} {c.staff_member.name}") for c in contestants
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(contestant_id=value) if value and value.isdigit() else queryset


class HourFilter(admin.SimpleListFilter):
    """The hour of the day the vote was cast, in the campaign's time zone."""

    title = _("hour (Asia/Shanghai)")
    parameter_name = filters.HOUR_PARAM

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(hour), f"{hour:02d}:00-{hour:02d}:59") for hour in range(24)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value and value.isdigit() and int(value) < 24:
            return queryset.filter(cast_at__hour=int(value))
        return queryset


class SuspiciousFilter(admin.SimpleListFilter):
    """Votes in a suspicious cluster (``voting.fraud.patterns``): by pattern, or one cluster."""

    title = _("suspicious")
    parameter_name = filters.SUSPICIOUS_PARAM

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        choices = [(name, str(patterns.PATTERN_LABELS[name])) for name in patterns.patterns()]
        choices.append((patterns.PATTERN_ANY, str(patterns.PATTERN_LABELS[patterns.PATTERN_ANY])))
        value = self.value()
        if value and patterns.parse_cluster_key(value) is not None:
            choices.append((value, str(_("This cluster"))))
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        base = filters.VoteFilter(
            params={filters.STAGE_PARAM: request.GET.get(filters.STAGE_PARAM, "")}
        ).base()
        return patterns.suspicious_votes(queryset, value, base=base)


@admin.register(Vote)
class VoteAdmin(PhoneSearchMixin, BigTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The vote ledger for fraud review. Read-only; bulk invalidate/restore via actions.
    Searched by phone through the hashed lookup (``staff.admin_phone_search``)."""

    phone_hash_field = "voter_hash"

    change_list_template = "admin/voting/vote/change_list.html"
    list_display = (
        "cast_at",
        "stage",
        "candidate",
        "channel",
        "phone_masked",
        "ip_prefix",
        "is_served",
        "status",
        "receipt_code",
    )
    list_display_links = ("cast_at", "receipt_code")
    list_filter = (
        StageFilter,
        CandidateFilter,
        "channel",
        "status",
        ("cast_at", admin.DateFieldListFilter),
        HourFilter,
        SuspiciousFilter,
    )
    # Ids grow with cast_at (the ledger is appended to): the primary key's index pages the
    # list newest first without sorting a million rows.
    ordering = ("-id",)
    # Searched by ``get_search_results``: receipt code, employee number, masked phone.
    search_fields = ("receipt_code",)
    search_help_text = _("Receipt code, employee number, or a masked phone (138****5678).")
    list_select_related = ("stage__campaign", "contestant__staff_member")
    raw_id_fields = ("stage", "contestant", "invalidated_by")
    fields = (
        "receipt_code",
        "stage",
        "candidate",
        "channel",
        "cast_at",
        "local_day",
        "phone_masked",
        "ip_prefix",
        "user_agent_prefix",
        "is_served",
        "status",
        "invalidated_reason",
        "invalidated_by",
        "invalidated_at",
    )
    readonly_fields = fields
    list_per_page = 100
    actions = ("invalidate_selected", "restore_selected")

    class Media:
        css = {"all": (CSS,)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Vote]:
        return super().get_queryset(request).select_related(*self.list_select_related)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        return filters.search_votes(queryset, search_term), False

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_invalidate_permission(self, request: HttpRequest) -> bool:
        """Invalidating is the one write of the fraud review: the model's change right."""
        return request.user.has_perm("voting.change_vote")

    @admin.display(description=_("candidate"), ordering="contestant__staff_member__employee_no")
    def candidate(self, obj: Vote) -> str:
        member = obj.contestant.staff_member
        return f"{member.name} ({member.employee_no})"

    @admin.display(description=_("IP key"))
    def ip_prefix(self, obj: Vote) -> str:
        return obj.ip_hash[:8] or "—"

    @admin.display(description=_("browser key"))
    def user_agent_prefix(self, obj: Vote) -> str:
        return obj.user_agent_hash[:8] or "—"

    @admin.action(description=_("Invalidate selected votes…"), permissions=["invalidate"])
    def invalidate_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return fraud_views.bulk_change_action(self, request, queryset, action=INVALIDATE)

    @admin.action(description=_("Restore selected votes…"), permissions=["invalidate"])
    def restore_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return fraud_views.bulk_change_action(self, request, queryset, action=RESTORE)

    def get_urls(self) -> list:
        extra = [
            path(
                "clusters/",
                self.admin_site.admin_view(partial(fraud_views.clusters_view, model_admin=self)),
                name="voting_vote_clusters",
            ),
            path(
                "jobs/<str:job_id>/",
                self.admin_site.admin_view(partial(fraud_views.job_view, model_admin=self)),
                name="voting_vote_job",
            ),
        ]
        return extra + super().get_urls()
