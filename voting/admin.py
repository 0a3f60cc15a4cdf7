"""The HR admin's fraud review: the vote ledger (read-only, filterable, suspicious patterns
flagged), bulk invalidate and restore with a reason, and the read-only one-time codes and
voters (the SMS outbox and inbound log are ``campaigns.messaging.admin``); the read-only published boards and recount results, with the
stage dashboard (``voting.admin_dashboard``).

Nothing here writes a vote directly: invalidation and restoration go through the
intermediate page of ``voting.admin_views`` (preview by candidate, reason) to
``voting.bulk``, which calls ``voting.services`` (and writes the audit events). Phone
numbers appear only masked; one-time code hashes never appear.
"""

from functools import partial
from typing import Any

from django.contrib import admin
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from campaigns.models import Contestant, Stage
from voting import admin_dashboard, admin_views, fraud
from voting.bulk import INVALIDATE, RESTORE
from voting.models import LeaderboardSnapshot, OtpChallenge, RecountCheck, Vote, Voter

CSS = "admin_extra/voting.css"


class ReadOnlyAdminMixin:
    """Ledgers and logs: readable and filterable, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StageFilter(admin.SimpleListFilter):
    """Stages by campaign, in one query."""

    title = _("stage")
    parameter_name = fraud.STAGE_PARAM

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        stages = Stage.objects.select_related("campaign").order_by("-campaign_id", "order")
        return [(str(stage.pk), str(stage)) for stage in stages]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(stage_id=value) if value and value.isdigit() else queryset


class CandidateFilter(admin.SimpleListFilter):
    """The candidates of the chosen stage (all candidates at once would be unusable)."""

    title = _("candidate")
    parameter_name = fraud.CANDIDATE_PARAM

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        stage_id = request.GET.get(fraud.STAGE_PARAM, "")
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
    parameter_name = fraud.HOUR_PARAM

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(hour), f"{hour:02d}:00-{hour:02d}:59") for hour in range(24)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value and value.isdigit() and int(value) < 24:
            return queryset.filter(cast_at__hour=int(value))
        return queryset


class SuspiciousFilter(admin.SimpleListFilter):
    """Votes in a suspicious cluster (``voting.fraud``): by pattern, or one cluster."""

    title = _("suspicious")
    parameter_name = fraud.SUSPICIOUS_PARAM

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        choices = [(name, str(fraud.PATTERN_LABELS[name])) for name in fraud.patterns()]
        choices.append((fraud.PATTERN_ANY, str(fraud.PATTERN_LABELS[fraud.PATTERN_ANY])))
        value = self.value()
        if value and fraud.parse_cluster_key(value) is not None:
            choices.append((value, str(_("This cluster"))))
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        base = fraud.VoteFilter(
            params={fraud.STAGE_PARAM: request.GET.get(fraud.STAGE_PARAM, "")}
        ).base()
        return fraud.suspicious_votes(queryset, value, base=base)


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The vote ledger for fraud review. Read-only; bulk invalidate/restore via actions."""

    change_list_template = "admin/voting/vote/change_list.html"
    list_display = (
        "cast_at",
        "stage",
        "candidate",
        "channel",
        "phone_masked",
        "ip_prefix",
        "status",
        "receipt_code",
    )
    list_display_links = ("cast_at", "receipt_code")
    list_filter = (
        StageFilter,
        CandidateFilter,
        "channel",
        "status",
        HourFilter,
        SuspiciousFilter,
    )
    date_hierarchy = "cast_at"
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
        "status",
        "invalidated_reason",
        "invalidated_by",
        "invalidated_at",
    )
    readonly_fields = fields
    list_per_page = 100
    # No COUNT(*) over the whole ledger on every page view.
    show_full_result_count = False
    actions = ("invalidate_selected", "restore_selected")

    class Media:
        css = {"all": (CSS,)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Vote]:
        return super().get_queryset(request).select_related(*self.list_select_related)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        return fraud.search_votes(queryset, search_term), False

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
        return admin_views.bulk_change_action(self, request, queryset, action=INVALIDATE)

    @admin.action(description=_("Restore selected votes…"), permissions=["invalidate"])
    def restore_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return admin_views.bulk_change_action(self, request, queryset, action=RESTORE)

    def get_urls(self) -> list:
        extra = [
            path(
                "clusters/",
                self.admin_site.admin_view(partial(admin_views.clusters_view, model_admin=self)),
                name="voting_vote_clusters",
            ),
            path(
                "jobs/<str:job_id>/",
                self.admin_site.admin_view(partial(admin_views.job_view, model_admin=self)),
                name="voting_vote_job",
            ),
        ]
        return extra + super().get_urls()


@admin.register(OtpChallenge)
class OtpChallengeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """One-time codes: when, how many tries, used or not. The code's hash is not shown."""

    list_display = ("created_at", "phone_key", "purpose", "expires_at", "attempts", "used_at")
    list_filter = ("purpose", ("used_at", admin.EmptyFieldListFilter))
    search_fields = ("=phone_hash",)
    search_help_text = _("The full phone key (as shown on a voter's page).")
    date_hierarchy = "created_at"
    fields = ("created_at", "phone_key", "purpose", "expires_at", "attempts", "used_at")
    readonly_fields = fields
    list_per_page = 100
    show_full_result_count = False

    @admin.display(description=_("phone key"))
    def phone_key(self, obj: OtpChallenge) -> str:
        return obj.phone_hash[:12]


@admin.register(Voter)
class VoterAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Voters: a key, the masked number of their latest vote, and how many votes."""

    list_display = ("voter_key", "phone_masked", "vote_count", "created_at")
    list_filter = (("created_at", admin.DateFieldListFilter),)
    search_fields = ("=voter_hash",)
    search_help_text = _("The full voter key.")
    fields = ("voter_hash", "phone_masked", "vote_count", "created_at")
    readonly_fields = fields
    list_per_page = 100
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Voter]:
        votes = Vote.objects.filter(voter_hash=OuterRef("voter_hash"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                masked=Subquery(votes.order_by("-cast_at", "-pk").values("phone_masked")[:1]),
                votes_cast=Subquery(
                    votes.order_by().values("voter_hash").annotate(n=Count("pk")).values("n")
                ),
            )
        )

    @admin.display(description=_("voter key"), ordering="voter_hash")
    def voter_key(self, obj: Voter) -> str:
        return obj.voter_hash[:12]

    @admin.display(description=_("phone"))
    def phone_masked(self, obj: Voter) -> str:
        return obj.masked or "—"

    @admin.display(description=_("votes"), ordering="votes_cast")
    def vote_count(self, obj: Voter) -> int:
        return obj.votes_cast or 0


@admin.register(LeaderboardSnapshot)
class LeaderboardSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Published boards (the digest chain), read-only; home of the stage dashboard's URLs."""

    change_list_template = "admin/voting/leaderboardsnapshot/change_list.html"
    list_display = ("published_at", "stage", "valid_votes", "digest_prefix", "is_final")
    list_filter = (StageFilter, "is_final")
    list_select_related = ("stage__campaign",)
    search_fields = ("=digest",)
    search_help_text = _("The full digest.")
    date_hierarchy = "published_at"
    fields = (
        "stage",
        "published_at",
        "is_final",
        "valid_votes",
        "digest",
        "previous",
        "counts",
        "entries",
    )
    readonly_fields = fields
    list_per_page = 100
    show_full_result_count = False

    @admin.display(description=_("digest"), ordering="digest")
    def digest_prefix(self, obj: LeaderboardSnapshot) -> str:
        return obj.digest[:12]

    def get_urls(self) -> list:
        extra = [
            path(
                "dashboard/",
                self.admin_site.admin_view(
                    partial(admin_dashboard.dashboard_view, model_admin=self)
                ),
                name="voting_stage_dashboard",
            ),
            path(
                "dashboard/<int:stage_id>/recount/",
                self.admin_site.admin_view(partial(admin_dashboard.recount_view, model_admin=self)),
                name="voting_stage_recount",
            ),
        ]
        return extra + super().get_urls()


@admin.register(RecountCheck)
class RecountCheckAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Results of recounts (``manage.py recount``, the nightly run, the dashboard)."""

    change_list_template = "admin/voting/recountcheck/change_list.html"
    list_display = ("checked_at", "stage", "ok", "repaired", "valid_votes", "duration")
    list_filter = (StageFilter, "ok", "repaired")
    list_select_related = ("stage__campaign",)
    date_hierarchy = "checked_at"
    fields = ("stage", "checked_at", "ok", "repaired", "valid_votes", "duration", "differences")
    readonly_fields = fields
    list_per_page = 100
    show_full_result_count = False
