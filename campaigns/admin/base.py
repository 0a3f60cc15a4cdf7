"""What the campaigns admin pages share: the stylesheet, the staff avatar, read-only
model admins, the stage filter and the intermediate pages' context and guards."""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from campaigns.choices import ContestantStatus
from campaigns.models import Stage

CSS = "admin_extra/campaigns.css"
NOT_WITHDRAWN = ~Q(contestants__status=ContestantStatus.WITHDRAWN)


def staff_avatar(member: Any) -> str:
    """A staff member's thumbnail, or the first character of the name in a circle."""
    if member.thumbnail:
        return format_html(
            '<img class="staff-thumb" src="{}" alt="" width="40" height="40">',
            member.thumbnail.url,
        )
    return format_html(
        '<span class="staff-avatar" aria-hidden="true">{}</span>', (member.name or "?")[:1]
    )


class StageListFilter(admin.SimpleListFilter):
    """Stages by campaign, in one query (the stock filter would load each campaign)."""

    title = _("stage")
    parameter_name = "stage__id__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        stages = Stage.objects.select_related("campaign").order_by("-campaign_id", "order")
        return [(str(stage.pk), str(stage)) for stage in stages]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(stage_id=value)
        return queryset


def stage_or_404(pk: int) -> Stage:
    """The stage with its campaign, or a 404."""
    return get_object_or_404(Stage.objects.select_related("campaign"), pk=pk)


def require(allowed: bool) -> None:
    """Refuse the request (403) unless ``allowed``: the page's permission check."""
    if not allowed:
        raise PermissionDenied
