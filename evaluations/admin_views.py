"""The panel's admin pages beyond the change form: the progress grid, raw and normalised
results, the judges' score distribution, the printable sign-in sheet (with QR codes) and
the score-sheet exports; plus the intermediate "give a reason" page of irreversible
actions (reopen a score, revoke a link)."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from campaigns.exports import table_to_csv, table_to_xlsx
from evaluations import exports, selectors
from evaluations.live_views import qr_svg
from evaluations.models import Panel, SignInLink
from evaluations.services import links
from staff.exceptions import DomainError


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )


def reasoned_action(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    title: str,
    intro: str,
    apply: Callable[[Any, str], Any],
) -> HttpResponse | None:
    """Show the selected rows and ask for a reason; on confirm, ``apply`` each row (one
    service call each, which audits) and report refusals row by row."""
    form = ReasonForm(request.POST if "confirm" in request.POST else None)
    if form.is_bound and form.is_valid():
        done = 0
        for obj in queryset:
            try:
                apply(obj, form.cleaned_data["reason"])
                done += 1
            except DomainError as error:
                model_admin.message_user(request, f"{obj}: {error.message}", level=messages.ERROR)
        model_admin.message_user(request, _("%(n)d done.") % {"n": done}, level=messages.SUCCESS)
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "objects": list(queryset),
        "form": form,
        "action": request.POST.get("action", ""),
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, "admin/evaluations/reason_action.html", context)


def panel_urls(model_admin: admin.ModelAdmin) -> list:
    site = model_admin.admin_site

    def view(function: Callable, *, permission: str = "evaluations.view_panel") -> Callable:
        def wrapped(request: HttpRequest, panel_id: int, **kwargs: Any) -> HttpResponse:
            if not request.user.has_perm(permission):
                raise PermissionDenied
            panel = get_object_or_404(Panel.objects.select_related("stage__campaign"), pk=panel_id)
            context = {**site.each_context(request), "panel": panel, "opts": Panel._meta}
            return function(request, panel, context, **kwargs)

        return site.admin_view(wrapped)

    return [
        path("<int:panel_id>/progress/", view(progress_view), name="evaluations_panel_progress"),
        path("<int:panel_id>/results/", view(results_view), name="evaluations_panel_results"),
        path("<int:panel_id>/chart/", view(chart_view), name="evaluations_panel_chart"),
        path(
            "<int:panel_id>/links/",
            view(links_view, permission="evaluations.add_signinlink"),
            name="evaluations_panel_links",
        ),
        path(
            "<int:panel_id>/export/<str:group>.<str:fmt>",
            view(export_view),
            name="evaluations_panel_export",
        ),
    ]


def progress_view(request: HttpRequest, panel: Panel, context: dict[str, Any]) -> HttpResponse:
    context.update(
        title=_("Progress: %(stage)s") % {"stage": panel.stage}, grid=selectors.progress_grid(panel)
    )
    return TemplateResponse(request, "admin/evaluations/progress.html", context)


def results_view(request: HttpRequest, panel: Panel, context: dict[str, Any]) -> HttpResponse:
    context.update(
        title=_("Judge results: %(stage)s") % {"stage": panel.stage},
        rows=selectors.results_for_panel(panel),
        rubric_max=selectors.rubric_max(panel),
    )
    return TemplateResponse(request, "admin/evaluations/results.html", context)


def chart_view(request: HttpRequest, panel: Panel, context: dict[str, Any]) -> HttpResponse:
    judges = exports.distributions(panel)
    context.update(
        title=_("Score distribution per judge: %(stage)s") % {"stage": panel.stage},
        judges=judges,
        width=exports.CHART_WIDTH,
        left=exports.CHART_LEFT,
        height=40 + len(judges) * exports.CHART_ROW,
        ticks=[
            (exports.CHART_LEFT + t * (exports.CHART_WIDTH - exports.CHART_LEFT - 20) // 100, t)
            for t in range(0, 101, 20)
        ],
    )
    return TemplateResponse(request, "admin/evaluations/chart.html", context)


def links_view(request: HttpRequest, panel: Panel, context: dict[str, Any]) -> HttpResponse:
    """The printable sheet: one active link (issued now if missing) and its QR per judge."""
    if request.method == "POST":
        for judge in selectors.panel_judges(panel):
            if not SignInLink.objects.filter(
                panel=panel, judge=judge, revoked_at__isnull=True
            ).exists():
                links.issue_sign_in_link(panel, judge=judge, actor=request.user)
        return HttpResponseRedirect(request.path)
    cards = []
    active = SignInLink.objects.filter(panel=panel, revoked_at__isnull=True).select_related("judge")
    for link in active.order_by("judge__judge_type", "judge__display_name", "-pk"):
        url = request.build_absolute_uri(
            reverse("evaluations:link-sign-in", args=[links.link_token(link)])
        )
        cards.append({"link": link, "url": url, "qr": qr_svg(url)})
    context.update(title=_("Sign-in sheet: %(stage)s") % {"stage": panel.stage}, cards=cards)
    return TemplateResponse(request, "admin/evaluations/links.html", context)


def export_view(
    request: HttpRequest, panel: Panel, context: dict[str, Any], group: str, fmt: str
) -> HttpResponse:
    if group not in exports.SHEET_GROUPS or fmt not in ("csv", "xlsx"):
        return HttpResponse(status=404)
    table = exports.score_sheet(panel, group=group)
    if fmt == "csv":
        response = HttpResponse(table_to_csv(table), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            table_to_xlsx(table),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = (
        f'attachment; filename="scores-{panel.stage_id}-{group}.{fmt}"'
    )
    return response
