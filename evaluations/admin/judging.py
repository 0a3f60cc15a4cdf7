"""The HR admin's pages for the live contest: judges, panels with their rubric, conflicts of
interest, the score ledger (read-only, reopen with a reason), sign-in links (revoke with a
reason). Each panel links to its progress grid, results, score sheets, the judges' score
distribution and the printable sign-in sheet (``evaluations.admin_views``)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from evaluations import admin_views
from evaluations.models import Conflict, Criterion, Judge, Panel, Score, SignInLink
from evaluations.services import links, scores, setup
from staff.exceptions import DomainError


@admin.register(Judge)
class JudgeAdmin(admin.ModelAdmin):
    list_display = ("display_name", "judge_type", "unit", "user")
    list_filter = ("judge_type",)
    search_fields = ("display_name", "user__username", "unit__name", "unit__code")
    raw_id_fields = ("user", "unit")
    list_select_related = ("user", "unit")

    def save_model(self, request: HttpRequest, obj: Judge, form: Any, change: bool) -> None:
        judge = setup.register_judge(
            obj.user,
            judge_type=obj.judge_type,
            display_name=obj.display_name,
            unit=obj.unit,
            actor=request.user,
        )
        obj.pk = judge.pk


class CriterionInline(admin.TabularInline):
    model = Criterion
    fields = ("order", "name", "max_points", "description")
    extra = 0


class PanelForm(forms.ModelForm):
    change_reason = forms.CharField(
        label=_("Reason for the change"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required once the stage has opened; it is recorded."),
    )

    class Meta:
        model = Panel
        fields = (
            "stage",
            "expert_weight",
            "public_weight",
            "trim_threshold",
            "use_normalisation",
            "judges",
        )


@admin.register(Panel)
class PanelAdmin(admin.ModelAdmin):
    form = PanelForm
    list_display = (
        "stage",
        "expert_weight",
        "public_weight",
        "trim_threshold",
        "use_normalisation",
        "pages",
    )
    list_filter = ("use_normalisation",)
    search_fields = ("stage__name", "stage__campaign__name")
    raw_id_fields = ("stage",)
    filter_horizontal = ("judges",)
    list_select_related = ("stage__campaign",)
    inlines = (CriterionInline,)
    readonly_fields = ("pages",)

    def get_readonly_fields(self, request: HttpRequest, obj: Panel | None = None) -> tuple:
        return ("pages", "stage") if obj else ("pages",)

    @admin.display(description=_("Pages"))
    def pages(self, obj: Panel) -> str:
        if obj.pk is None:
            return "-"
        items = [
            (reverse("admin:evaluations_panel_progress", args=[obj.pk]), _("Progress grid")),
            (reverse("admin:evaluations_panel_results", args=[obj.pk]), _("Results")),
            (reverse("admin:evaluations_panel_chart", args=[obj.pk]), _("Score distribution")),
            (reverse("admin:evaluations_panel_links", args=[obj.pk]), _("Sign-in sheet")),
            (reverse("evaluations:host", args=[obj.stage_id]), _("Host page")),
            (reverse("evaluations:screen", args=[obj.stage_id]), _("Venue screen")),
        ]
        return format_html_join(" · ", '<a href="{}">{}</a>', items)

    def get_urls(self) -> list:
        return admin_views.panel_urls(self) + super().get_urls()

    def save_model(self, request: HttpRequest, obj: Panel, form: Any, change: bool) -> None:
        reason = form.cleaned_data.get("change_reason", "")
        values = {f: form.cleaned_data[f] for f in setup.PANEL_FIELDS}
        if change:
            setup.update_panel(obj, changes=values, actor=request.user, reason=reason)
        else:
            panel = setup.create_panel(obj.stage, actor=request.user, **values)
            obj.pk = panel.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        panel = form.instance
        setup.set_panel_judges(panel, judges=form.cleaned_data["judges"], actor=request.user)
        reason = form.cleaned_data.get("change_reason", "")
        for formset in formsets:
            # The rubric service writes the rows (not formset.save()); the admin's change
            # message still reads these lists.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            for inline_form in formset.forms:
                if not inline_form.has_changed() and not inline_form.cleaned_data.get("DELETE"):
                    continue
                data = inline_form.cleaned_data
                if data.get("DELETE") and data.get("id"):
                    setup.remove_criterion(data["id"], actor=request.user, reason=reason)
                elif data and not data.get("DELETE"):
                    setup.save_criterion(
                        panel,
                        criterion=data.get("id"),
                        name=data["name"],
                        max_points=data["max_points"],
                        description=data.get("description", ""),
                        order=data.get("order") or 0,
                        actor=request.user,
                        reason=reason,
                    )

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Services refuse frozen rules with a DomainError: show it and stay on the form.
        try:
            return super().changeform_view(request, *args, **kwargs)
        except DomainError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return TemplateResponse(
                request,
                "admin/evaluations/refused.html",
                {"message": error.message, "back": request.path},
            )


@admin.register(Conflict)
class ConflictAdmin(admin.ModelAdmin):
    list_display = ("judge", "contestant", "reason", "declared_by", "declared_at")
    list_filter = ("judge",)
    search_fields = ("judge__display_name", "contestant__staff_member__name", "reason")
    raw_id_fields = ("judge", "contestant")
    list_select_related = ("judge", "contestant__staff_member", "declared_by")
    fields = ("judge", "contestant", "reason")

    def has_change_permission(self, request: HttpRequest, obj: Conflict | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Conflict, form: Any, change: bool) -> None:
        conflict = setup.declare_conflict(
            obj.judge, contestant=obj.contestant, actor=request.user, reason=obj.reason
        )
        obj.pk = conflict.pk

    def add_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().add_view(request, *args, **kwargs)
        except DomainError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return TemplateResponse(
                request,
                "admin/evaluations/refused.html",
                {"message": error.message, "back": request.path},
            )

    def delete_model(self, request: HttpRequest, obj: Conflict) -> None:
        setup.remove_conflict(obj, actor=request.user, reason=str(_("Removed in the admin")))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Conflict]) -> None:
        for conflict in queryset:
            self.delete_model(request, conflict)


class ReadOnlyMixin:
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Score)
class ScoreAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("contestant", "judge", "version", "total", "state", "submitted_at")
    list_filter = ("panel", "judge__judge_type", "judge")
    search_fields = (
        "contestant__staff_member__name",
        "contestant__staff_member__employee_no",
        "judge__display_name",
    )
    list_select_related = ("contestant__staff_member", "judge", "reopening", "superseded_by")
    actions = ("reopen_selected",)

    @admin.display(description=_("State"))
    def state(self, obj: Score) -> str:
        if hasattr(obj, "superseded_by"):
            return str(_("Superseded"))
        if hasattr(obj, "reopening"):
            return format_html("{}: {}", _("Reopened"), obj.reopening.reason)
        return str(_("Counted"))

    def has_reopen_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("evaluations.add_scorereopening")

    @admin.action(
        description=_("Reopen the selected scores (with a reason)"), permissions=["reopen"]
    )
    def reopen_selected(
        self, request: HttpRequest, queryset: QuerySet[Score]
    ) -> HttpResponse | None:
        return admin_views.reasoned_action(
            self,
            request,
            queryset,
            title=_("Reopen scores"),
            intro=_(
                "The judges will be able to submit a new version; the old ones stay in the ledger."
            ),
            apply=lambda score, reason: scores.reopen_score(
                score, actor=request.user, reason=reason
            ),
        )


@admin.register(SignInLink)
class SignInLinkAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("judge", "panel", "created_at", "last_used_at", "revoked_at")
    list_filter = ("panel", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("judge__display_name",)
    list_select_related = ("judge", "panel__stage__campaign")
    actions = ("revoke_selected",)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("evaluations.change_signinlink")

    @admin.action(
        description=_("Revoke the selected links (with a reason)"), permissions=["revoke"]
    )
    def revoke_selected(
        self, request: HttpRequest, queryset: QuerySet[SignInLink]
    ) -> HttpResponse | None:
        return admin_views.reasoned_action(
            self,
            request,
            queryset,
            title=_("Revoke sign-in links"),
            intro=_("These links stop working at once."),
            apply=lambda link, reason: links.revoke_sign_in_link(
                link, actor=request.user, reason=reason
            ),
        )
