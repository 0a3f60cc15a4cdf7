"""Contestants in the admin: the list with photo, unit and position, the branch filter,
and withdrawal as an action with an intermediate page that asks for a reason."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.admin.base import CSS, StageListFilter, staff_avatar
from campaigns.models import Contestant
from campaigns.services.contestants import withdraw_contestant
from staff.audit import ReasonField
from staff.exceptions import DomainError
from staff.models import OrgUnit


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
    reason = ReasonField(
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
        return staff_avatar(obj.staff_member)

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
