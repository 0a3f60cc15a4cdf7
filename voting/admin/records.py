"""Read-only records of the voting app: one-time codes, voters, published boards and
recount results, with the stage dashboard (``voting.admin.dashboard_views``)."""

from functools import partial

from django.contrib import admin
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import path
from django.utils.translation import gettext_lazy as _

from campaigns.admin.links import StageAdminLink, register_stage_admin_link
from staff.admin_pages import ReadOnlyAdminMixin
from staff.admin_phone_search import PhoneSearchMixin
from voting.admin import dashboard_views
from voting.admin.base import StageFilter
from voting.models import LeaderboardSnapshot, OtpChallenge, RecountCheck, Vote, Voter


@admin.register(OtpChallenge)
class OtpChallengeAdmin(PhoneSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
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
class VoterAdmin(PhoneSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Voters: a key, the masked number of their latest vote, and how many votes."""

    phone_hash_field = "voter_hash"

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


# A mainland mobile number inside free text (a voter may text someone's number): shown
# masked like every other number in the admin. Digits may be split by spaces or dashes.
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
                    partial(dashboard_views.dashboard_view, model_admin=self)
                ),
                name="voting_stage_dashboard",
            ),
            path(
                "dashboard/<int:stage_id>/recount/",
                self.admin_site.admin_view(partial(dashboard_views.recount_view, model_admin=self)),
                name="voting_stage_recount",
            ),
        ]
        return extra + super().get_urls()


# The dashboard is about one stage: the stage's own admin page links to it.
register_stage_admin_link(
    StageAdminLink(
        label=_("Stage dashboard"),
        url_name="admin:voting_stage_dashboard",
        permission=dashboard_views.VIEW_PERMISSION,
    )
)


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
