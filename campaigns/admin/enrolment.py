"""Enrolment of contestants into a stage that has not opened, and the promotion of a
reserve into a place a withdrawn qualifier left."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import selectors
from campaigns.admin.base import require, stage_or_404
from campaigns.choices import (
    ContestantStatus,
    ResultOutcome,
)
from campaigns.models import StageResult
from campaigns.services.advancement import promote_reserve
from campaigns.services.contestants import enrol_contestants
from staff.admin_pages import admin_page_context
from staff.audit import ReasonField
from staff.exceptions import DomainError
from staff.models import OrgUnit, Position, StaffMember

ENROL_SAMPLE_SIZE = 20


class EnrolFilterForm(forms.Form):
    branch = forms.ModelChoiceField(
        label=gettext_lazy("branch"), queryset=OrgUnit.objects.branches(), required=False
    )
    position = forms.ModelChoiceField(
        label=gettext_lazy("position"), queryset=Position.objects.all(), required=False
    )
    q = forms.CharField(
        label=gettext_lazy("Name or employee number"), required=False, max_length=64
    )

    def has_filters(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.values())

    def staff(self) -> Any:
        """Active staff matching the filters (all active staff without filters)."""
        queryset = StaffMember.objects.active()
        if not self.is_valid():
            return queryset.none()
        data = self.cleaned_data
        if data["branch"]:
            queryset = queryset.in_unit_subtree(data["branch"])
        if data["position"]:
            queryset = queryset.filter(position=data["position"])
        if q := (data["q"] or "").strip():
            queryset = queryset.filter(Q(name__icontains=q) | Q(employee_no=q))
        return queryset


def stage_enrol_view(
    request: HttpRequest, pk: int, *, model_admin: admin.ModelAdmin
) -> HttpResponse:
    """Enrol all active staff, or those matching a filter (branch, position, name), into a
    draft or scheduled stage. GET previews who would be added; POST enrols them."""
    stage = stage_or_404(pk)
    require(model_admin.has_change_permission(request, stage))
    filters = EnrolFilterForm(request.GET or None)
    matching = filters.staff() if request.GET else StaffMember.objects.active()
    new = matching.exclude(contestants__stage=stage)
    if request.method == "POST":
        try:
            added = enrol_contestants(
                stage,
                actor=request.user,
                staff_qs=matching if filters.has_filters() else None,
            )
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("%(n)d contestants enrolled.") % {"n": added})
        return redirect("admin:campaigns_stage_change", stage.pk)
    context = admin_page_context(
        request,
        model_admin,
        _("Enrol contestants: %(stage)s") % {"stage": stage.name},
        stage=stage,
        filters=filters,
        new_count=new.count(),
        sample=list(new.select_related("unit", "position")[:ENROL_SAMPLE_SIZE]),
        query=request.GET.urlencode(),
    )
    return TemplateResponse(request, "admin/campaigns/stage_enrol.html", context)


# The promotion page lists the reserves a place can go to now, not every reserve (a stage
# can have thousands, all tied on 0 votes); the rest are on the results page, paged.
NEXT_RESERVES_LIMIT = 20


class PromoteForm(forms.Form):
    contestant = forms.TypedChoiceField(
        label=gettext_lazy("Reserve"), coerce=int, required=False, empty_value=None
    )
    reason = ReasonField(
        help_text=gettext_lazy("Recorded in the audit log with your name and the time."),
    )

    def __init__(self, *args: Any, reserves: list[StageResult], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contestant"].choices = [
            ("", _("The next-ranked reserve")),
            *((str(r.contestant_id), f"#{r.rank} {r.contestant.staff_member}") for r in reserves),
        ]


def _requested_contestant(request: HttpRequest) -> int | None:
    value = request.POST.get("contestant") or request.GET.get("contestant") or ""
    return int(value) if value.isdigit() else None


def stage_promote_view(
    request: HttpRequest, pk: int, *, model_admin: admin.ModelAdmin
) -> HttpResponse:
    """Give the place of a withdrawn qualifier to the next reserve (``promote_reserve``).

    Lists only the reserves who can take a vacant place now (those tied at the next rank of
    each list with a vacancy, at most ``NEXT_RESERVES_LIMIT``) and links to the paged
    results page for the others: a fixed number of queries whatever the number of reserves.
    """
    # Over 60 lines: a page view assembling one template context; the rules it shows
    # live in the selectors and ``promote_reserve``.
    stage = stage_or_404(pk)
    require(model_admin.has_change_permission(request, stage))
    vacancies = selectors.reserve_vacancies(stage)
    lists = list(vacancies) or None  # without a vacancy: the next reserves of every list
    withdrawn = list(
        selectors.results_for_stage(stage)
        .filter(outcome=ResultOutcome.QUALIFIED, contestant__status=ContestantStatus.WITHDRAWN)
        .defer("components")
    )
    next_rows = selectors.next_reserves(stage, lists)
    reserves = list(next_rows[: NEXT_RESERVES_LIMIT + 1])
    more_tied = len(reserves) > NEXT_RESERVES_LIMIT
    reserves = reserves[:NEXT_RESERVES_LIMIT]
    requested = _requested_contestant(request)
    requested_not_next = False
    if requested is not None and requested not in {r.contestant_id for r in reserves}:
        # Chosen from the contestant list: one of a large tie group, or not next at all.
        extra = next_rows.filter(contestant_id=requested).first()
        if extra is not None:
            reserves.append(extra)
        else:
            requested_not_next = True
    first_list = reserves[0].position_code if reserves and stage.position_quotas else None
    reserve_tie = (
        sum(1 for r in reserves if first_list is None or r.position_code == first_list) > 1
    )

    initial = {"contestant": request.GET.get("contestant", "")}
    form = PromoteForm(request.POST or None, reserves=reserves, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            promoted = promote_reserve(
                stage,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                contestant_id=form.cleaned_data["contestant"],
            )
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(
                request,
                _("%(name)s is promoted and enrolled in the next stage.")
                % {"name": promoted.staff_member},
            )
            return redirect("admin:campaigns_stage_results", stage.pk)
    context = admin_page_context(
        request,
        model_admin,
        _("Promote a reserve: %(stage)s") % {"stage": stage.name},
        stage=stage,
        form=form,
        reserves=reserves,
        more_tied=more_tied,
        reserve_tie=reserve_tie,
        reserves_left=selectors.available_reserves(stage, lists).count(),
        requested_not_next=requested_not_next,
        withdrawn=withdrawn,
    )
    return TemplateResponse(request, "admin/campaigns/stage_promote.html", context)
