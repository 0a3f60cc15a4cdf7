"""Campaigns in the admin: the list, the change form with its stages, and the page that
creates the three-stage campaign from the template."""

from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminDateWidget
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _

from campaigns.admin.base import CSS, NOT_WITHDRAWN, require
from campaigns.choices import StageStatus
from campaigns.models import Campaign, Stage
from campaigns.services.campaign_template import create_campaign_from_template
from staff.admin_pages import admin_page_context
from staff.exceptions import DomainError


class StageInline(admin.TabularInline):
    """The campaign's stages as a read-only summary linking to each stage's page."""

    model = Stage
    extra = 0
    can_delete = False
    show_change_link = True
    fields = (
        "order",
        "name",
        "kind",
        "status",
        "opens_at",
        "closes_at",
        "quota",
        "contestant_count",
        "results_link",
    )
    readonly_fields = fields
    ordering = ("order",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Stage]:
        return (
            super()
            .get_queryset(request)
            .select_related("campaign")
            .annotate(contestant_count=Count("contestants", filter=NOT_WITHDRAWN))
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("contestants"))
    def contestant_count(self, obj: Stage) -> int:
        return obj.contestant_count

    @admin.display(description=_("results"))
    def results_link(self, obj: Stage) -> str:
        if obj.status not in (StageStatus.PREVIEWED, StageStatus.FINALIZED):
            return "—"
        url = reverse("admin:campaigns_stage_results", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Results"))


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ("name", "description", "banner", "starts_on", "ends_on")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    change_list_template = "admin/campaigns/campaign/change_list.html"
    list_display = ("name", "status", "starts_on", "ends_on", "stage_count", "created_at")
    list_filter = ("status", ("starts_on", admin.DateFieldListFilter))
    search_fields = ("name", "description")
    readonly_fields = ("status", "created_at")
    date_hierarchy = "starts_on"
    inlines = (StageInline,)
    fieldsets = (
        (None, {"fields": ("name", "status", "starts_on", "ends_on")}),
        (_("Public page"), {"fields": ("description", "banner")}),
        (_("Record"), {"fields": ("created_at",)}),
    )

    class Media:
        css = {"all": (CSS,)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        return super().get_queryset(request).annotate(stage_total=Count("stages"))

    @admin.display(description=_("stages"), ordering="stage_total")
    def stage_count(self, obj: Campaign) -> int:
        return obj.stage_total

    def has_delete_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        # A campaign that has started carries results and an audit trail: never deleted.
        if obj is not None and obj.stages.exclude(status=StageStatus.DRAFT).exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_urls(self) -> list:
        extra = [
            path(
                "from-template/",
                self.admin_site.admin_view(partial(campaign_from_template_view, model_admin=self)),
                name="campaigns_campaign_from_template",
            ),
        ]
        return extra + super().get_urls()


class CampaignFromTemplateForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("name"),
        max_length=Campaign._meta.get_field("name").max_length,
        initial=gettext_lazy("Satisfied-100 Service Star"),
    )
    starts_on = forms.DateField(label=gettext_lazy("starts on"), widget=AdminDateWidget)
    description = forms.CharField(
        label=gettext_lazy("description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=gettext_lazy("Leave empty for the template's description."),
    )


def campaign_from_template_view(
    request: HttpRequest, *, model_admin: admin.ModelAdmin
) -> HttpResponse:
    """Create the three-stage Satisfied-100 campaign (70 → 23 → 10) as drafts."""
    require(model_admin.has_add_permission(request))
    form = CampaignFromTemplateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = create_campaign_from_template(
                name=data["name"],
                starts_on=data["starts_on"],
                description=data["description"],
                actor=request.user,
            )
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(
                request,
                gettext("“%(name)s” was created with three draft stages.")
                % {"name": campaign.name},
            )
            return redirect("admin:campaigns_campaign_change", campaign.pk)
    context = admin_page_context(
        request,
        model_admin,
        gettext("New campaign from template"),
        form=form,
        media=model_admin.media + form.media,
    )
    return TemplateResponse(request, "admin/campaigns/campaign_from_template.html", context)
