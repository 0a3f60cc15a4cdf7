"""What every admin page of the voting app shares."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from campaigns.models import Stage
from voting.fraud import filters

CSS = "admin_extra/voting.css"


class StageFilter(admin.SimpleListFilter):
    """Stages by campaign, in one query."""

    title = _("stage")
    parameter_name = filters.STAGE_PARAM

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        stages = Stage.objects.select_related("campaign").order_by("-campaign_id", "order")
        return [(str(stage.pk), str(stage)) for stage in stages]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(stage_id=value) if value and value.isdigit() else queryset
