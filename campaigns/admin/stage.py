"""Stages in the admin: the rules form (a reason once the stage has opened), the change
page with its move buttons, and the URLs of the stage's intermediate pages."""

from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.admin.base import CSS, NOT_WITHDRAWN
from campaigns.admin.enrolment import stage_enrol_view, stage_promote_view
from campaigns.admin.links import stage_admin_links
from campaigns.admin.moves import moves_from, stage_move_view
from campaigns.admin.results import (
    PROVISIONAL_STATUSES,
    stage_export_view,
    stage_provisional_view,
    stage_resolve_tie_view,
    stage_results_view,
)
from campaigns.choices import (
    COMPONENT_CHANNELS,
    ENROLMENT_STATUSES,
    RULES_EDITABLE_STATUSES,
    ComponentKey,
    StageStatus,
)
from campaigns.forms import (
    PositionQuotasField,
    TieBreakOrderField,
    WeightsField,
    format_percent,
)
from campaigns.models import Stage
from campaigns.selectors import channel_use
from campaigns.services.rules import RULE_FIELDS, update_stage_rules
from campaigns.validators import weighted_channels
from staff.audit import ReasonField
from staff.exceptions import DomainError
from staff.models import Position

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
    reason = ReasonField(
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
            "served_vote_weight",
            "served_votes_only",
            "visibility",
            "hide_final_hours",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "weights" in self.fields:
            field = self.fields["weights"]
            field.help_text = format_lazy("{} {}", field.help_text, self._channels_help())
        if "position_quotas" in self.fields:
            declared = self.fields["position_quotas"]
            self.fields["position_quotas"] = PositionQuotasField(
                positions=self._quota_positions(),
                label=declared.label,
                help_text=declared.help_text,
            )

    def _channels_help(self) -> str:
        """What the saved weights mean for voters: a vote channel weighted 0 is refused
        (its votes would count for nothing), so say which channels take votes."""
        used = weighted_channels(self.instance.weights or {})
        counted, refused = [], []
        for key, channel in COMPONENT_CHANNELS.items():
            (counted if channel in used else refused).append(str(_component_label(key)))
        if not counted:
            return gettext("Votes are taken by no channel: every vote channel is weighted 0.")
        return gettext(
            "Votes are taken by: %(counted)s. A channel weighted 0 is refused: %(refused)s."
        ) % {"counted": ", ".join(counted), "refused": ", ".join(refused) or "-"}

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
        (
            _("Served customers"),
            {
                "fields": ("served_vote_weight", "served_votes_only"),
                "description": _(
                    "Votes from phones that the candidate served in the stage's window, as "
                    "reported by business systems (Service measurement, transactions)."
                ),
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
        if stage is not None and request.method == "GET":
            self._channel_messages(request, stage)
        if stage is not None:
            context["stage_moves"] = moves_from(stage.status)
            context["can_enrol"] = stage.status in ENROLMENT_STATUSES
            context["has_results"] = stage.status in (
                StageStatus.PREVIEWED,
                StageStatus.FINALIZED,
            )
            context["has_provisional_results"] = stage.status in PROVISIONAL_STATUSES
            context["stage_links"] = stage_admin_links(stage, request.user)
        return super().change_view(request, object_id, form_url, context)

    def _channel_messages(self, request: HttpRequest, stage: Stage) -> None:
        """Warn where a vote channel the rules weight 0 already holds votes: those count
        for nothing, and new ones are refused."""
        for use in channel_use(stage):
            if not use.weighted and use.votes:
                self.message_user(
                    request,
                    gettext(
                        "%(channel)s are weighted 0: the %(votes)s already cast count for "
                        "nothing, and new ones are refused. Give them a weight if they "
                        "should count."
                    )
                    % {"channel": _component_label(use.key), "votes": use.votes},
                    level=messages.WARNING,
                )

    def get_urls(self) -> list:
        def wrap(view: Any) -> Any:
            return self.admin_site.admin_view(partial(view, model_admin=self))

        extra = [
            path(
                "<int:pk>/move/<slug:move>/",
                wrap(stage_move_view),
                name="campaigns_stage_move",
            ),
            path(
                "<int:pk>/results/",
                wrap(stage_results_view),
                name="campaigns_stage_results",
            ),
            path(
                "<int:pk>/results/provisional/",
                wrap(stage_provisional_view),
                name="campaigns_stage_provisional_results",
            ),
            path(
                "<int:pk>/results/tie/",
                wrap(stage_resolve_tie_view),
                name="campaigns_stage_resolve_tie",
            ),
            path(
                "<int:pk>/export/<slug:kind>.<slug:fmt>",
                wrap(stage_export_view),
                name="campaigns_stage_export",
            ),
            path(
                "<int:pk>/enrol/",
                wrap(stage_enrol_view),
                name="campaigns_stage_enrol",
            ),
            path(
                "<int:pk>/promote/",
                wrap(stage_promote_view),
                name="campaigns_stage_promote",
            ),
        ]
        return extra + super().get_urls()
