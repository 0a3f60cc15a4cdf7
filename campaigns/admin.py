"""The HR admin's campaigns: campaigns, stages and their rules, contestants, results, ties.

Nothing here changes a status or a result directly. Stage moves, rule changes after a
stage has opened, enrolment, withdrawals, promotions and tie decisions go through
``campaigns.services`` from the intermediate pages in ``campaigns.admin_views`` (each shows
what will happen and asks for a reason); results and tie resolutions are read-only.
"""

from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns import admin_views
from campaigns.choices import (
    ENROLMENT_STATUSES,
    RULES_EDITABLE_STATUSES,
    ComponentKey,
    ContestantStatus,
    StageStatus,
)
from campaigns.forms import (
    PositionQuotasField,
    TieBreakOrderField,
    WeightsField,
    format_percent,
)
from campaigns.models import Campaign, Contestant, Stage, StageResult, TieResolution
from campaigns.services.contestants import withdraw_contestant
from campaigns.services.rules import RULE_FIELDS, update_stage_rules
from staff.exceptions import DomainError
from staff.models import OrgUnit, Position

CSS = "admin_extra/campaigns.css"
NOT_WITHDRAWN = ~Q(contestants__status=ContestantStatus.WITHDRAWN)


def _staff_avatar(member: Any) -> str:
    """A staff member's thumbnail, or the first character of the name in a circle."""
    if member.thumbnail:
        return format_html(
            '<img class="staff-thumb" src="{}" alt="" width="40" height="40">',
            member.thumbnail.url,
        )
    return format_html(
        '<span class="staff-avatar" aria-hidden="true">{}</span>', (member.name or "?")[:1]
    )


class ReadOnlyAdminMixin:
    """Ledger-like models: readable and filterable, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# Campaigns --------------------------------------------------------------------------------


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
                self.admin_site.admin_view(
                    partial(admin_views.campaign_from_template_view, model_admin=self)
                ),
                name="campaigns_campaign_from_template",
            ),
        ]
        return extra + super().get_urls()


# Stages -----------------------------------------------------------------------------------


# The JSON rules as the admin edits them, and how a read-only stage shows them.
JSON_RULE_SUMMARIES = {
    "weights": "weights_summary",
    "position_quotas": "position_quotas_summary",
    "tie_break_order": "tie_break_order_summary",
}


def _component_label(key: str) -> str:
    return str(ComponentKey(key).label) if key in ComponentKey.values else key


class StageForm(forms.ModelForm):
    """A stage's rules, plus the reason that a change to a started stage needs.

    Weights, per-position quotas and the tie-break order are typed as percentages, places
    per position and a few drop-downs (``campaigns.forms``); they clean to the JSON the
    model and ``update_stage_rules`` take, and ``Stage.clean`` checks them with
    the other rules (position quotas against the quota).
    """

    weights = WeightsField(
        label=capfirst(_("component weights")),
        help_text=_("The share of each score in the total, in percent (empty = 0); 100 in all."),
    )
    position_quotas = PositionQuotasField(
        positions=[],
        label=capfirst(_("per-position quotas")),
        help_text=_(
            "Leave all empty to rank everyone together. Otherwise the places of each position "
            "(empty = none), adding up to the quota."
        ),
    )
    tie_break_order = TieBreakOrderField(
        label=capfirst(_("tie-break order")),
        help_text=_(
            "Compared in this order between contestants with the same total; "
            "empty boxes are skipped."
        ),
    )
    reason = forms.CharField(
        label=_("Reason for the change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("Required once the stage has opened; recorded in the audit log."),
    )

    class Meta:
        model = Stage
        fields = (
            "campaign",
            "order",
            "name",
            "kind",
            "opens_at",
            "closes_at",
            "quota",
            "position_quotas",
            "weights",
            "tie_break_order",
            "allow_tie_overflow",
            "reserve_count",
            "votes_per_day",
            "votes_per_stage",
            "votes_per_candidate",
            "visibility",
            "hide_final_hours",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "position_quotas" in self.fields:
            declared = self.fields["position_quotas"]
            self.fields["position_quotas"] = PositionQuotasField(
                positions=self._quota_positions(),
                label=declared.label,
                help_text=declared.help_text,
            )

    def _quota_positions(self) -> list[tuple[str, str]]:
        """Active positions, plus any the stage already has a quota for (one query)."""
        current = self.instance.position_quotas or {}
        positions = list(
            Position.objects.filter(Q(is_active=True) | Q(code__in=list(current))).values_list(
                "code", "name"
            )
        )
        known = {code for code, _name in positions}
        return positions + [(code, code) for code in current if code not in known]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        stage = self.instance
        # Say so on the form rather than after the save: the service refuses it anyway.
        if (
            stage.pk
            and stage.status not in RULES_EDITABLE_STATUSES
            and self.has_changed()
            and set(self.changed_data) - {"reason"}
            and not (cleaned.get("reason") or "").strip()
        ):
            self.add_error(
                "reason",
                gettext(
                    "The stage has started: its rules change only with a reason, which is recorded."
                ),
            )
        return cleaned


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    form = StageForm
    change_form_template = "admin/campaigns/stage/change_form.html"
    list_display = (
        "campaign",
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
    list_display_links = ("order", "name")
    list_filter = ("campaign", "status", "kind")
    search_fields = ("name", "campaign__name")
    list_select_related = ("campaign",)
    autocomplete_fields = ("campaign",)
    readonly_fields = (
        "status",
        "contestant_count",
        "opened_at",
        "closed_at",
        "previewed_at",
        "finalized_at",
    )
    ordering = ("campaign", "order")
    fieldsets = (
        (None, {"fields": ("campaign", "order", "name", "kind", "status", "contestant_count")}),
        (_("Schedule"), {"fields": ("opens_at", "closes_at")}),
        (
            _("Scoring and advancement"),
            {
                "fields": (
                    "weights",
                    "tie_break_order",
                    "quota",
                    "position_quotas",
                    "allow_tie_overflow",
                    "reserve_count",
                )
            },
        ),
        (
            _("Votes and visibility"),
            {
                "fields": (
                    "votes_per_day",
                    "votes_per_stage",
                    "votes_per_candidate",
                    "visibility",
                    "hide_final_hours",
                )
            },
        ),
        (_("Reason"), {"fields": ("reason",)}),
        (_("Record"), {"fields": ("opened_at", "closed_at", "previewed_at", "finalized_at")}),
    )

    class Media:
        css = {"all": (CSS,)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Stage]:
        # One COUNT per page, in the same query as the rows.
        return (
            super()
            .get_queryset(request)
            .annotate(contestant_count=Count("contestants", filter=NOT_WITHDRAWN))
        )

    @admin.display(description=_("contestants"), ordering="contestant_count")
    def contestant_count(self, obj: Stage) -> int:
        return getattr(obj, "contestant_count", 0)

    @admin.display(description=_("results"))
    def results_link(self, obj: Stage) -> str:
        if obj.status not in (StageStatus.PREVIEWED, StageStatus.FINALIZED):
            return "—"
        url = reverse("admin:campaigns_stage_results", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Results"))

    def get_readonly_fields(self, request: HttpRequest, obj: Stage | None = None) -> tuple:
        if obj is None:
            return self.readonly_fields
        fixed = (*self.readonly_fields, "campaign", "order")
        if obj.status in (StageStatus.PREVIEWED, StageStatus.FINALIZED):
            # Previewed: discard the preview first; finalised: frozen for ever.
            # The JSON rules show as summaries (``get_fieldsets``); listing them too keeps
            # their declared form fields out of the form.
            rule_fields = tuple(f for f in StageForm.Meta.fields if f not in fixed)
            return (*fixed, *rule_fields, *JSON_RULE_SUMMARIES.values())
        return fixed

    def get_fieldsets(self, request: HttpRequest, obj: Stage | None = None) -> list:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None or obj.status in (StageStatus.PREVIEWED, StageStatus.FINALIZED):
            fieldsets = [fs for fs in fieldsets if fs[1]["fields"] != ("reason",)]
        if obj is None:
            fieldsets = [fs for fs in fieldsets if "opened_at" not in fs[1]["fields"]]
        if obj is not None and obj.status in (StageStatus.PREVIEWED, StageStatus.FINALIZED):
            # Read-only rules: the JSON ones in words rather than as JSON.
            fieldsets = [
                (
                    name,
                    {
                        **options,
                        "fields": tuple(JSON_RULE_SUMMARIES.get(f, f) for f in options["fields"]),
                    },
                )
                for name, options in fieldsets
            ]
        return fieldsets

    @admin.display(description=_("component weights"))
    def weights_summary(self, obj: Stage) -> str:
        # In the order of the form (PostgreSQL's jsonb keeps no key order).
        weights = obj.weights or {}
        keys = [k for k in ComponentKey.values if k in weights] + sorted(
            set(weights) - set(ComponentKey.values)
        )
        return " · ".join(
            f"{_component_label(key)} {format_percent(weights[key])} %" for key in keys
        )

    @admin.display(description=_("per-position quotas"))
    def position_quotas_summary(self, obj: Stage) -> str:
        quotas = obj.position_quotas or {}
        if not quotas:
            return "—"
        names = list(Position.objects.filter(code__in=list(quotas)).values_list("code", "name"))
        names += [(code, code) for code in sorted(set(quotas) - {code for code, _n in names})]
        return " · ".join(f"{name} {quotas[code]}" for code, name in names)

    @admin.display(description=_("tie-break order"))
    def tie_break_order_summary(self, obj: Stage) -> str:
        return " → ".join(_component_label(key) for key in obj.tie_break_order or []) or "—"

    def has_delete_permission(self, request: HttpRequest, obj: Stage | None = None) -> bool:
        if obj is not None and obj.status != StageStatus.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Stage, form: Any, change: bool) -> None:
        if not change:
            # A new draft stage has no history to protect; the form validated its rules.
            super().save_model(request, obj, form, change)
            return
        changes = {
            name: form.cleaned_data[name] for name in form.changed_data if name in RULE_FIELDS
        }
        try:
            update_stage_rules(
                obj, changes=changes, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            request._campaigns_refused = True  # read by response_change
            self.message_user(request, str(exc.message), level=messages.ERROR)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if getattr(request, "_campaigns_refused", False):
            return None
        return super().log_change(request, obj, message)

    def response_change(self, request: HttpRequest, obj: Stage) -> HttpResponse:
        if getattr(request, "_campaigns_refused", False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        stage = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if stage is not None:
            context["stage_moves"] = admin_views.moves_from(stage.status)
            context["can_enrol"] = stage.status in ENROLMENT_STATUSES
            context["has_results"] = stage.status in (
                StageStatus.PREVIEWED,
                StageStatus.FINALIZED,
            )
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self) -> list:
        def wrap(view: Any) -> Any:
            return self.admin_site.admin_view(partial(view, model_admin=self))

        extra = [
            path(
                "<int:pk>/move/<slug:move>/",
                wrap(admin_views.stage_move_view),
                name="campaigns_stage_move",
            ),
            path(
                "<int:pk>/results/",
                wrap(admin_views.stage_results_view),
                name="campaigns_stage_results",
            ),
            path(
                "<int:pk>/results/tie/",
                wrap(admin_views.stage_resolve_tie_view),
                name="campaigns_stage_resolve_tie",
            ),
            path(
                "<int:pk>/export/<slug:kind>.<slug:fmt>",
                wrap(admin_views.stage_export_view),
                name="campaigns_stage_export",
            ),
            path(
                "<int:pk>/enrol/",
                wrap(admin_views.stage_enrol_view),
                name="campaigns_stage_enrol",
            ),
            path(
                "<int:pk>/promote/",
                wrap(admin_views.stage_promote_view),
                name="campaigns_stage_promote",
            ),
        ]
        return extra + super().get_urls()


# Contestants ------------------------------------------------------------------------------


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


class ContestantBranchFilter(admin.SimpleListFilter):
    """Contestants working anywhere in one branch's subtree."""

    title = _("branch")
    parameter_name = "branch"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(unit.pk), unit.name) for unit in OrgUnit.objects.branches()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value or not value.isdigit():
            return queryset
        branch = OrgUnit.objects.filter(pk=value).first()
        if branch is None:
            return queryset.none()
        return queryset.filter(staff_member__unit__path__startswith=branch.path)


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Recorded in the audit log, e.g. illness or resignation."),
    )


@admin.register(Contestant)
class ContestantAdmin(admin.ModelAdmin):
    list_display = (
        "avatar",
        "employee_no",
        "name",
        "stage",
        "status",
        "unit",
        "position",
        "running_order",
    )
    list_display_links = ("employee_no", "name")
    list_filter = (StageListFilter, "status", "staff_member__position", ContestantBranchFilter)
    search_fields = ("staff_member__name", "=staff_member__employee_no")
    list_select_related = (
        "stage__campaign",
        "staff_member__unit",
        "staff_member__position",
    )
    autocomplete_fields = ("stage", "staff_member")
    fields = ("stage", "staff_member", "status", "running_order", "created_at")
    readonly_fields = ("stage", "staff_member", "status", "created_at")
    actions = ("withdraw_selected", "promote_selected_reserve")
    list_per_page = 100

    class Media:
        css = {"all": (CSS,)}

    @admin.display(description=_("photo"))
    def avatar(self, obj: Contestant) -> str:
        return _staff_avatar(obj.staff_member)

    @admin.display(description=_("employee number"), ordering="staff_member__employee_no")
    def employee_no(self, obj: Contestant) -> str:
        return obj.staff_member.employee_no

    @admin.display(description=_("name"), ordering="staff_member__name")
    def name(self, obj: Contestant) -> str:
        return obj.staff_member.name

    @admin.display(description=_("unit"), ordering="staff_member__unit__name")
    def unit(self, obj: Contestant) -> str:
        return obj.staff_member.unit.name

    @admin.display(description=_("position"), ordering="staff_member__position__name")
    def position(self, obj: Contestant) -> str:
        return obj.staff_member.position.name

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Contestants come from enrolment (stage page) or advancement, never one by one.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Leaving a stage is a withdrawal, with a reason and an audit event.
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description=_("Withdraw selected contestants…"), permissions=["change"])
    def withdraw_selected(
        self, request: HttpRequest, queryset: QuerySet[Contestant]
    ) -> HttpResponse | None:
        """Intermediate page: who will be withdrawn and why; then one service call each."""
        contestants = list(queryset.select_related(*self.list_select_related))
        form = WithdrawForm(request.POST if "confirm" in request.POST else None)
        if "confirm" in request.POST and form.is_valid():
            done, refused = 0, []
            for contestant in contestants:
                try:
                    withdraw_contestant(
                        contestant, actor=request.user, reason=form.cleaned_data["reason"]
                    )
                    done += 1
                except DomainError as exc:
                    refused.append(f"{contestant.staff_member}: {exc.message}")
            if done:
                self.message_user(request, gettext("%(n)d contestants withdrawn.") % {"n": done})
            for line in refused:
                self.message_user(request, line, level=messages.ERROR)
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Withdraw contestants"),
            "contestants": contestants,
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/campaigns/contestant_withdraw.html", context)

    @admin.action(description=_("Promote the selected reserve…"), permissions=["change"])
    def promote_selected_reserve(
        self, request: HttpRequest, queryset: QuerySet[Contestant]
    ) -> HttpResponse | None:
        """Go to the stage's promotion page with this reserve chosen (one at a time)."""
        contestants = list(queryset[:2])
        if len(contestants) != 1:
            self.message_user(
                request, gettext("Select exactly one reserve to promote."), level=messages.ERROR
            )
            return None
        contestant = contestants[0]
        url = reverse("admin:campaigns_stage_promote", args=[contestant.stage_id])
        return HttpResponseRedirect(f"{url}?contestant={contestant.pk}")


# Results and ties (read-only) -------------------------------------------------------------


@admin.register(StageResult)
class StageResultAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "rank",
        "contestant",
        "stage",
        "position_code",
        "web_votes",
        "sms_votes",
        "audience_votes",
        "total",
        "outcome",
        "is_frozen",
    )
    list_filter = (StageListFilter, "outcome", "is_frozen")
    search_fields = (
        "contestant__staff_member__name",
        "=contestant__staff_member__employee_no",
    )
    list_select_related = ("stage__campaign", "contestant__staff_member")
    readonly_fields = (
        "stage",
        "contestant",
        "position_code",
        "components",
        "web_votes",
        "sms_votes",
        "audience_votes",
        "total",
        "rank",
        "position_rank",
        "outcome",
        "is_frozen",
        "computed_at",
        "frozen_at",
    )
    fields = readonly_fields
    ordering = ("stage", "rank", "contestant_id")


@admin.register(TieResolution)
class TieResolutionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "stage",
        "position_code",
        "places",
        "admit_all",
        "decided_by",
        "decided_at",
        "reason",
    )
    list_filter = (StageListFilter, "admit_all")
    search_fields = ("reason", "stage__name")
    list_select_related = ("stage__campaign", "decided_by")
    readonly_fields = (
        "stage",
        "position_code",
        "tied_contestant_ids",
        "places",
        "admit_all",
        "chosen_contestant_ids",
        "reason",
        "decided_by",
        "decided_at",
    )
    fields = readonly_fields
