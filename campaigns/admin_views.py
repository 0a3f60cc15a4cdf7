"""The HR admin's intermediate pages for campaigns: create from the template, move a stage
(schedule, open, close, preview, discard, finalise), the results page with ties to decide,
exports, enrolment and the promotion of a reserve.

Plain view functions wired by ``CampaignAdmin.get_urls`` / ``StageAdmin.get_urls`` (wrapped
in ``admin_site.admin_view`` there). Each GET shows what will happen; each POST turns the
form into one service call and a ``DomainError`` into an error message, so a refusal never
changes anything and never becomes a 500.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import PermissionDenied
from django.core.paginator import InvalidPage, Page, Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import exports, selectors
from campaigns.choices import (
    STAGE_TRANSITIONS,
    ComponentKey,
    ContestantStatus,
    ResultOutcome,
    StageStatus,
)
from campaigns.components import get_provider
from campaigns.exceptions import InvalidTransitionError
from campaigns.models import Campaign, Stage, StageResult
from campaigns.services.advancement import promote_reserve
from campaigns.services.campaign_template import create_campaign_from_template
from campaigns.services.contestants import enrol_contestants
from campaigns.services.results import resolve_tie
from campaigns.services.stages import (
    close_stage,
    discard_preview,
    finalize_stage,
    open_stage,
    preview_stage,
    schedule_stage,
    unschedule_stage,
)
from staff.exceptions import DomainError
from staff.models import OrgUnit, Position, StaffMember

ENROL_SAMPLE_SIZE = 20
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# Stage moves ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """One button of the stage page: a move of the state machine and what it means."""

    slug: str
    to: str
    from_statuses: frozenset[str]
    service: Callable[..., Stage]
    label: Promise
    explanation: Promise
    reason_required: bool = False
    irreversible: bool = False


MOVES: dict[str, Move] = {
    move.slug: move
    for move in (
        Move(
            "schedule",
            StageStatus.SCHEDULED,
            frozenset({StageStatus.DRAFT}),
            schedule_stage,
            gettext_lazy("Schedule"),
            gettext_lazy(
                "The stage opens by itself at its opening time and closes at its closing time. "
                "Its rules can still change until it opens."
            ),
        ),
        Move(
            "unschedule",
            StageStatus.DRAFT,
            frozenset({StageStatus.SCHEDULED}),
            unschedule_stage,
            gettext_lazy("Unschedule"),
            gettext_lazy("The stage goes back to draft and will not open by itself."),
        ),
        Move(
            "open",
            StageStatus.OPEN,
            frozenset({StageStatus.DRAFT, StageStatus.SCHEDULED}),
            open_stage,
            gettext_lazy("Open now"),
            gettext_lazy(
                "Votes and scores are accepted from now until the stage closes. From then on "
                "its rules change only with a recorded reason, and no contestant can be added."
            ),
        ),
        Move(
            "close",
            StageStatus.CLOSED,
            frozenset({StageStatus.OPEN}),
            close_stage,
            gettext_lazy("Close"),
            gettext_lazy(
                "Nothing more is accepted. A closed stage cannot be opened again: votes cast "
                "after a close would be contested."
            ),
            irreversible=True,
        ),
        Move(
            "preview",
            StageStatus.PREVIEWED,
            frozenset({StageStatus.CLOSED, StageStatus.PREVIEWED}),
            preview_stage,
            gettext_lazy("Preview results"),
            gettext_lazy(
                "The results are computed now from the votes and scores recorded and stored "
                "as a preview. Nothing is final: you can recompute or discard the preview."
            ),
        ),
        Move(
            "discard",
            StageStatus.CLOSED,
            frozenset({StageStatus.PREVIEWED}),
            discard_preview,
            gettext_lazy("Discard preview"),
            gettext_lazy(
                "The previewed results and any tie decisions are deleted; the stage is closed "
                "again, so its rules can change (with a reason) before a new preview."
            ),
        ),
        Move(
            "finalize",
            StageStatus.FINALIZED,
            frozenset({StageStatus.PREVIEWED}),
            finalize_stage,
            gettext_lazy("Finalise"),
            gettext_lazy(
                "The results are frozen for good and the qualifiers below become the "
                "contestants of the next stage. This cannot be undone."
            ),
            reason_required=True,
            irreversible=True,
        ),
    )
}


def moves_from(status: str) -> list[Move]:
    """The moves offered for a stage in ``status``, as ``STAGE_TRANSITIONS`` allows them."""
    allowed = STAGE_TRANSITIONS.get(status, frozenset())
    return [m for m in MOVES.values() if status in m.from_statuses and m.to in allowed]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=gettext_lazy("Recorded in the audit log with your name and the time."),
    )

    def __init__(self, *args: Any, required: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = required


def _context(
    request: HttpRequest, model_admin: admin.ModelAdmin, title: str, **extra: Any
) -> dict[str, Any]:
    opts = model_admin.model._meta
    return {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "app_label": opts.app_label,
        "title": title,
        **extra,
    }


def _stage_or_404(pk: int) -> Stage:
    return get_object_or_404(Stage.objects.select_related("campaign"), pk=pk)


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def _illegal_move_message(stage: Stage, move: Move) -> str:
    return _("A stage cannot go from “%(from)s” to “%(to)s”.") % {
        "from": stage.get_status_display(),
        "to": StageStatus(move.to).label,
    }


def _perform_move(stage: Stage, move: Move, *, actor: Any, reason: str) -> Stage:
    """Run the move's service, refusing it unless the stage is still in a from-status.

    Two moves lead to "closed" (close an open stage, discard a preview): the service only
    knows the target, so the admin checks the source under the stage's row lock; a stage
    closed by the beat task meanwhile must not have its preview discarded by a stale page.
    """
    with transaction.atomic():
        locked = Stage.objects.select_for_update().get(pk=stage.pk)
        if locked.status not in move.from_statuses:
            raise InvalidTransitionError(_illegal_move_message(locked, move))
        return move.service(locked, actor=actor, reason=reason)


def _finalize_preview(stage: Stage) -> dict[str, Any]:
    results = selectors.results_for_stage(stage)
    next_stage = Stage.objects.filter(campaign_id=stage.campaign_id, order__gt=stage.order)
    return {
        "qualifiers": list(results.filter(outcome=ResultOutcome.QUALIFIED)),
        "tied": list(results.filter(outcome=ResultOutcome.TIED_AT_CUT)),
        "next_stage": next_stage.order_by("order").first(),
    }


def _preview_preview(stage: Stage) -> dict[str, Any]:
    keys = exports.stage_component_keys(stage)
    return {
        "components": [
            {
                "label": ComponentKey(key).label if key in ComponentKey.values else key,
                "weight": stage.weights.get(key, "0"),
                "available": get_provider(key) is not None,
            }
            for key in keys
        ],
        "in_count": stage.contestants.filter(status=ContestantStatus.IN).count(),
    }


def stage_move_view(
    request: HttpRequest, pk: int, move: str, *, model_admin: admin.ModelAdmin
) -> HttpResponse:
    """GET: what the move will do, and a reason field. POST: perform it via the service.

    A move not allowed from the stage's status, or refused by a guard, is shown as an error
    on the stage page and changes nothing.
    """
    stage = _stage_or_404(pk)
    _require(model_admin.has_change_permission(request, stage))
    chosen = MOVES.get(move)
    if chosen is None:
        raise Http404
    stage_url = redirect("admin:campaigns_stage_change", stage.pk)
    if stage.status not in chosen.from_statuses:
        messages.error(request, _illegal_move_message(stage, chosen))
        return stage_url

    form = ReasonForm(request.POST or None, required=chosen.reason_required)
    if request.method == "POST" and form.is_valid():
        try:
            _perform_move(stage, chosen, actor=request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, str(exc.message))
            return stage_url
        stage.refresh_from_db()
        messages.success(
            request,
            _("“%(stage)s” is now: %(status)s.")
            % {"stage": stage.name, "status": stage.get_status_display()},
        )
        if chosen.to in (StageStatus.PREVIEWED, StageStatus.FINALIZED):
            return redirect("admin:campaigns_stage_results", stage.pk)
        return stage_url

    extra: dict[str, Any] = {}
    if chosen.slug == "finalize":
        extra = _finalize_preview(stage)
    elif chosen.slug == "preview":
        extra = _preview_preview(stage)
    context = _context(
        request,
        model_admin,
        _("%(move)s: %(stage)s") % {"move": chosen.label, "stage": stage.name},
        stage=stage,
        move=chosen,
        form=form,
        **extra,
    )
    return TemplateResponse(request, "admin/campaigns/stage_move.html", context)


# Results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentCell:
    raw: str | None
    normalised: str
    available: bool


@dataclass(frozen=True)
class ResultLine:
    row: StageResult
    cells: list[ComponentCell]
    bar: int  # 0-100, the CSS class bar-w-<n>


@dataclass(frozen=True)
class ChartBar:
    row: StageResult
    bar: int


@dataclass(frozen=True)
class TieGroupView:
    position_code: str
    rows: list[StageResult]
    places: int


# The results page must stay light with thousands of contestants: the table is paged, and
# the chart and the reserve list show the rows that decide something, up to these caps.
RESULTS_PAGE_SIZE = 100
CHART_LIMIT = 100
RESERVE_LIST_LIMIT = 100
# A tie group this large gets a hint to browse it in the (filtered) table as well.
LARGE_TIE_GROUP = 20


class ResultFilterForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        required=False,
        choices=[
            ("", gettext_lazy("All outcomes")),
            *(
                (o.value, o.label)
                for o in (
                    ResultOutcome.QUALIFIED,
                    ResultOutcome.RESERVE,
                    ResultOutcome.TIED_AT_CUT,
                    ResultOutcome.ELIMINATED,
                )
            ),
        ],
    )
    q = forms.CharField(
        label=gettext_lazy("Name or employee number"), required=False, max_length=64
    )

    def filters(self) -> dict[str, str]:
        """The valid filters given (a bad value is ignored, not an error page)."""
        self.is_valid()
        return {key: value for key, value in self.cleaned_data.items() if value}


def _bar_width(total: Decimal) -> int:
    # Totals are on the 0-100 scale of their components, so the bar is the total itself.
    return max(0, min(100, int(total.to_integral_value(rounding=ROUND_HALF_UP))))


def _list_code(stage: Stage, row: StageResult) -> str:
    return row.position_code if stage.position_quotas else ""


def _tie_groups(
    stage: Stage, tied: list[StageResult], counts: dict[tuple[str, str], int]
) -> list[TieGroupView]:
    """Unresolved ties per cut line, with the places left (from rows and counts loaded)."""
    groups: dict[str, list[StageResult]] = {}
    for row in tied:
        groups.setdefault(_list_code(stage, row), []).append(row)
    qualified: dict[str, int] = {}
    for (outcome, code), n in counts.items():
        if outcome == ResultOutcome.QUALIFIED:
            key = code if stage.position_quotas else ""
            qualified[key] = qualified.get(key, 0) + n
    views = []
    for code, rows in sorted(groups.items()):
        quota = int(stage.position_quotas.get(code, 0)) if stage.position_quotas else stage.quota
        views.append(TieGroupView(code, rows, quota - qualified.get(code, 0)))
    return views


def _results_page(queryset: Any, number: str | None) -> Page:
    """One page of the table; a page number that is not one (or out of range) gives page 1."""
    paginator = Paginator(queryset, RESULTS_PAGE_SIZE)
    try:
        return paginator.page(number or 1)
    except InvalidPage:
        return paginator.page(1)


def _result_line(row: StageResult, keys: list[str]) -> ResultLine:
    cells = []
    for key in keys:
        value = row.components.get(key, {})
        cells.append(
            ComponentCell(
                raw=value.get("raw"),
                normalised=value.get("normalised", "0"),
                available=bool(value.get("available", False)),
            )
        )
    return ResultLine(row=row, cells=cells, bar=_bar_width(row.total))


def stage_results_view(
    request: HttpRequest, pk: int, *, model_admin: admin.ModelAdmin
) -> HttpResponse:
    """The stored results of a previewed or finalised stage: a bar chart of who qualifies,
    is a reserve or is tied; the table, paged and filtered by outcome or name; reserves;
    ties to decide (previewed) or exports (finalised). Reads only; a fixed number of queries
    whatever the number of contestants (only an unresolved tie group is listed in full).
    """
    stage = _stage_or_404(pk)
    _require(model_admin.has_view_permission(request, stage))
    results = selectors.results_for_stage(stage)
    counts = selectors.result_outcome_counts(stage)
    by_outcome: dict[str, int] = {}
    for (outcome, _code), n in counts.items():
        by_outcome[outcome] = by_outcome.get(outcome, 0) + n

    filter_form = ResultFilterForm(request.GET)
    filters = filter_form.filters()
    page = _results_page(selectors.filter_results(results, **filters), request.GET.get("page"))
    keys = exports.stage_component_keys(stage)
    lines = [_result_line(row, keys) for row in page.object_list]

    # Bars and lists below need no component breakdown: leave the JSON out.
    light = results.defer("components")
    chart = [
        ChartBar(row=row, bar=_bar_width(row.total))
        for row in light.exclude(outcome=ResultOutcome.ELIMINATED)[:CHART_LIMIT]
    ]
    chart_total = sum(n for o, n in by_outcome.items() if o != ResultOutcome.ELIMINATED)
    reserves = list(light.filter(outcome=ResultOutcome.RESERVE)[:RESERVE_LIST_LIMIT])
    is_previewed = stage.status == StageStatus.PREVIEWED
    tie_groups = (
        _tie_groups(stage, list(light.filter(outcome=ResultOutcome.TIED_AT_CUT)), counts)
        if is_previewed
        else []
    )
    context = _context(
        request,
        model_admin,
        _("Results: %(stage)s") % {"stage": stage},
        stage=stage,
        has_results=bool(counts),
        lines=lines,
        page_obj=page,
        page_range=page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        filter_form=filter_form,
        is_filtered=bool(filters),
        chart=chart,
        chart_more=chart_total - len(chart),
        components=[
            {
                "key": key,
                "label": ComponentKey(key).label if key in ComponentKey.values else key,
                "weight": stage.weights.get(key, "0"),
            }
            for key in keys
        ],
        reserves=reserves,
        reserves_more=by_outcome.get(ResultOutcome.RESERVE, 0) - len(reserves),
        tie_groups=tie_groups,
        large_tie_group=LARGE_TIE_GROUP,
        resolutions=list(selectors.tie_resolutions_for_stage(stage)),
        is_previewed=is_previewed,
        is_frozen=stage.status == StageStatus.FINALIZED,
        can_change=model_admin.has_change_permission(request, stage),
        export_kinds=exports.EXPORT_KINDS,
        export_formats=exports.EXPORT_FORMATS,
    )
    return TemplateResponse(request, "admin/campaigns/stage_results.html", context)


class TieForm(forms.Form):
    ADMIT_ALL, CHOOSE = "admit_all", "choose"

    position_code = forms.CharField(required=False, widget=forms.HiddenInput)
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            (CHOOSE, gettext_lazy("Choose who qualifies")),
            (ADMIT_ALL, gettext_lazy("Admit everyone tied")),
        ],
        widget=forms.RadioSelect,
    )
    chosen = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Qualifies"), coerce=int, required=False, choices=()
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea)

    def __init__(self, *args: Any, tied_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["chosen"].choices = [(str(i), str(i)) for i in tied_ids]


def stage_resolve_tie_view(
    request: HttpRequest, pk: int, *, model_admin: admin.ModelAdmin
) -> HttpResponse:
    """POST only: decide one tie at a cut line through ``resolve_tie``."""
    stage = _stage_or_404(pk)
    _require(model_admin.has_change_permission(request, stage))
    results_url = redirect("admin:campaigns_stage_results", stage.pk)
    if request.method != "POST":
        return results_url
    code = request.POST.get("position_code", "")
    tied_ids = [
        row.contestant_id
        for row in selectors.unresolved_ties(stage).get(code if stage.position_quotas else "", [])
    ]
    form = TieForm(request.POST, tied_ids=tied_ids)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))
        return results_url
    data = form.cleaned_data
    try:
        resolve_tie(
            stage,
            admit_all=data["decision"] == TieForm.ADMIT_ALL,
            chosen_contestant_ids=[] if data["decision"] == TieForm.ADMIT_ALL else data["chosen"],
            actor=request.user,
            reason=data["reason"],
            position_code=data["position_code"],
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The tie is decided; it is recorded in the audit log."))
    return results_url


def stage_export_view(
    request: HttpRequest, pk: int, kind: str, fmt: str, *, model_admin: admin.ModelAdmin
) -> HttpResponse:
    """Download a finalised stage's results or winners as CSV or XLSX."""
    stage = _stage_or_404(pk)
    _require(model_admin.has_view_permission(request, stage))
    if kind not in exports.EXPORT_KINDS or fmt not in exports.EXPORT_FORMATS:
        raise Http404
    if stage.status != StageStatus.FINALIZED:
        messages.error(request, _("Results can be exported once the stage is finalised."))
        return redirect("admin:campaigns_stage_change", stage.pk)
    table = exports.stage_export_table(stage, kind)
    if fmt == "csv":
        response = HttpResponse(exports.table_to_csv(table), content_type="text/csv")
    else:
        response = HttpResponse(exports.table_to_xlsx(table), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="stage-{stage.pk}-{kind}.{fmt}"'
    return response


# Enrolment and reserves ---------------------------------------------------------------------


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
    stage = _stage_or_404(pk)
    _require(model_admin.has_change_permission(request, stage))
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
    context = _context(
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
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
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
    stage = _stage_or_404(pk)
    _require(model_admin.has_change_permission(request, stage))
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
    context = _context(
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


# Campaigns --------------------------------------------------------------------------------


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
    _require(model_admin.has_add_permission(request))
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
                _("“%(name)s” was created with three draft stages.") % {"name": campaign.name},
            )
            return redirect("admin:campaigns_campaign_change", campaign.pk)
    context = _context(
        request,
        model_admin,
        _("New campaign from template"),
        form=form,
        media=model_admin.media + form.media,
    )
    return TemplateResponse(request, "admin/campaigns/campaign_from_template.html", context)
