"""A stage's results in the admin: the results page (chart, paged table, reserves, ties to
decide), provisional results while a stage is open, the tie decision, the exports, and the
read-only result and tie-resolution lists."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.paginator import InvalidPage, Page, Paginator
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import exports, selectors
from campaigns.admin.base import StageListFilter, require, stage_or_404
from campaigns.choices import (
    ComponentKey,
    ResultOutcome,
    StageStatus,
)
from campaigns.models import Stage, StageResult, TieResolution
from campaigns.services.results import resolve_tie, store_preview
from staff.admin_pages import ReadOnlyAdminMixin, admin_page_context
from staff.audit import ReasonField
from staff.exceptions import DomainError

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Stages whose results are not stored yet: shown and exported as provisional, computed on
# the fly. A previewed stage's stored rows are provisional too, until it is finalised.
PROVISIONAL_STATUSES = (StageStatus.OPEN, StageStatus.CLOSED)


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
    # Over 60 lines: a page view assembling one template context (chart, table, lists,
    # ties); each part is one selector call or helper above.
    stage = stage_or_404(pk)
    require(model_admin.has_view_permission(request, stage))
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
    is_provisional = stage.status in PROVISIONAL_STATUSES
    title = _("Provisional results: %(stage)s") if is_provisional else _("Results: %(stage)s")
    context = admin_page_context(
        request,
        model_admin,
        title % {"stage": stage},
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
        is_provisional=is_provisional,
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
    reason = ReasonField(widget=forms.Textarea)

    def __init__(self, *args: Any, tied_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["chosen"].choices = [(str(i), str(i)) for i in tied_ids]


def stage_resolve_tie_view(
    request: HttpRequest, pk: int, *, model_admin: admin.ModelAdmin
) -> HttpResponse:
    """POST only: decide one tie at a cut line through ``resolve_tie``."""
    stage = stage_or_404(pk)
    require(model_admin.has_change_permission(request, stage))
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


@contextmanager
def provisional_results(stage: Stage) -> Iterator[datetime]:
    """Inside the block, the stage's stored results are the ones a preview would store now;
    on leaving, they are gone again. Yields the moment they were computed.

    Runs the preview's own computation and storage (``store_preview``) in a savepoint that
    is always rolled back, so provisional figures are exactly what previewing would show,
    and nothing is kept, audited or frozen. For stages without stored rows
    (``PROVISIONAL_STATUSES``). Raises ``DomainError`` for unusable rules, and
    ``IntegrityError`` if the stage is being previewed at the same moment.
    """
    computed_at = timezone.now()
    with transaction.atomic():
        store_preview(stage, computed_at)
        try:
            yield computed_at
        finally:
            transaction.set_rollback(True)


def stage_provisional_view(
    request: HttpRequest, pk: int, *, model_admin: admin.ModelAdmin
) -> HttpResponse:
    """The results page of an open (or closed, not yet previewed) stage, computed now and
    marked provisional; nothing is stored. Other stages go to their stored results."""
    stage = stage_or_404(pk)
    require(model_admin.has_view_permission(request, stage))
    if stage.status not in PROVISIONAL_STATUSES:
        return redirect("admin:campaigns_stage_results", stage.pk)
    try:
        with provisional_results(stage):
            response = stage_results_view(request, pk, model_admin=model_admin)
            # Rendered inside the block: the page's querysets read the provisional rows.
            response.render()
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("admin:campaigns_stage_change", stage.pk)
    except IntegrityError:
        messages.error(request, _("The stage is being previewed right now; try again."))
        return redirect("admin:campaigns_stage_change", stage.pk)
    return response


def _export_table(stage: Stage, kind: str) -> exports.ExportTable | None:
    """The table to download, marked provisional before the stage is finalised; ``None``
    when there is nothing to export (see ``stage_export_view``)."""
    if stage.status == StageStatus.FINALIZED:
        return exports.stage_export_table(stage, kind)
    if kind == "winners":
        return None
    if stage.status == StageStatus.PREVIEWED:
        table = exports.stage_export_table(stage, kind)
        return exports.provisional(table, stage=stage, computed_at=stage.previewed_at)
    if stage.status in PROVISIONAL_STATUSES:
        with provisional_results(stage) as computed_at:
            table = exports.stage_export_table(stage, kind)
        return exports.provisional(table, stage=stage, computed_at=computed_at)
    return None


def stage_export_view(
    request: HttpRequest, pk: int, kind: str, fmt: str, *, model_admin: admin.ModelAdmin
) -> HttpResponse:
    """Download a stage's results (provisional until it is finalised) or its winners (once
    finalised) as CSV or XLSX."""
    stage = stage_or_404(pk)
    require(model_admin.has_view_permission(request, stage))
    if kind not in exports.EXPORT_KINDS or fmt not in exports.EXPORT_FORMATS:
        raise Http404
    try:
        table = _export_table(stage, kind)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("admin:campaigns_stage_change", stage.pk)
    except IntegrityError:
        messages.error(request, _("The stage is being previewed right now; try again."))
        return redirect("admin:campaigns_stage_change", stage.pk)
    if table is None:
        if kind == "winners":
            messages.error(request, _("Winners can be exported once the stage is finalised."))
        else:
            messages.error(request, _("This stage has no results yet."))
        return redirect("admin:campaigns_stage_change", stage.pk)
    if fmt == "csv":
        response = HttpResponse(exports.table_to_csv(table), content_type="text/csv")
    else:
        response = HttpResponse(exports.table_to_xlsx(table), content_type=XLSX_TYPE)
    marker = "-provisional" if table.note else ""
    response["Content-Disposition"] = (
        f'attachment; filename="stage-{stage.pk}-{kind}{marker}.{fmt}"'
    )
    return response


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
        "served_votes",
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
        "served_votes",
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
