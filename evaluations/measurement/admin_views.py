"""The HR admin's measurement pages beyond the stock change lists: the KPI import (upload,
preview, confirm), the charts (trend per month, score distribution), a store's timeline,
and revoking API keys with a reason.

Plain view functions wired by the model admins' ``get_urls`` (inside
``admin_site.admin_view``); every rule lives in the services they call.
"""

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from evaluations.measurement.apikeys import revoke_api_key
from evaluations.measurement.exceptions import KpiImportError
from evaluations.measurement.kpi import confirm_kpi_import, discard_kpi_import, preview_kpi_import
from evaluations.measurement.selectors import monthly_totals, score_distribution, store_timeline
from evaluations.models import KpiImport
from staff.admin_pages import admin_page_context
from staff.audit import ReasonField
from staff.exceptions import DomainError
from staff.models import OrgUnit

PREVIEW_SAMPLE = 20
BAR_HEIGHT = 160


class KpiUploadForm(forms.Form):
    month = forms.DateField(
        label=gettext_lazy("Month"),
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        input_formats=["%Y-%m", "%Y-%m-%d"],
        help_text=gettext_lazy("The month the figures are for."),
    )
    file = forms.FileField(
        label=gettext_lazy("KPI file"),
        help_text=gettext_lazy(
            "CSV (UTF-8 or GB18030) or .xlsx with the columns 工号, 接听量, 满意率, 质检得分, "
            "一次解决率 (English headers work too)."
        ),
    )


def kpi_upload_view(request: HttpRequest, *, model_admin: admin.ModelAdmin) -> HttpResponse:
    """Upload form; on POST check the file and show its preview (writes a ``KpiImport``)."""
    if not request.user.has_perm("evaluations.add_kpirecord"):
        raise PermissionDenied
    form = KpiUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read(settings.EVALUATIONS_KPI_MAX_BYTES + 1)
        try:
            kpi_import = preview_kpi_import(
                data=data,
                filename=upload.name,
                month=form.cleaned_data["month"],
                actor=request.user,
            )
        except KpiImportError as exc:
            form.add_error("file", str(exc.message))
        else:
            return redirect("admin:evaluations_kpirecord_import_preview", pk=kpi_import.pk)
    context = {
        **admin_page_context(request, model_admin, _("Import call-centre KPIs")),
        "form": form,
    }
    return TemplateResponse(request, "evaluations/measurement/admin/kpi_upload.html", context)


def kpi_preview_view(
    request: HttpRequest, pk: int, *, model_admin: admin.ModelAdmin
) -> HttpResponse:
    """A stored preview; POST ``action=confirm`` (optionally ``skip_bad``) or ``discard``."""
    if not request.user.has_perm("evaluations.add_kpirecord"):
        raise PermissionDenied
    kpi_import = get_object_or_404(KpiImport, pk=pk)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "confirm":
                done = confirm_kpi_import(
                    kpi_import, actor=request.user, skip_bad=bool(request.POST.get("skip_bad"))
                )
                messages.success(
                    request,
                    _("%(written)s KPI records written.") % {"written": done.result["written"]},
                )
                return redirect("admin:evaluations_kpirecord_changelist")
            if request.POST.get("action") == "discard":
                discard_kpi_import(kpi_import, actor=request.user)
                messages.info(request, _("The import was discarded."))
                return redirect("admin:evaluations_kpirecord_changelist")
        except DomainError as exc:
            messages.error(request, str(exc.message))
        kpi_import.refresh_from_db()
    context = {
        **admin_page_context(request, model_admin, _("KPI import preview")),
        "kpi_import": kpi_import,
        "sample": kpi_import.rows[:PREVIEW_SAMPLE],
        "bad_rows": kpi_import.errors,
    }
    return TemplateResponse(request, "evaluations/measurement/admin/kpi_preview.html", context)


def _bars(values: list[tuple[str, float]]) -> list[dict]:
    top = max((value for _label, value in values), default=0) or 1
    bars = []
    for label, value in values:
        height = round(value / top * BAR_HEIGHT)
        # SVG's y grows downwards: a bar stands on the baseline 16 px below its label row.
        bars.append(
            {"label": label, "value": value, "height": height, "y": BAR_HEIGHT - height + 16}
        )
    return bars


def _month_param(request: HttpRequest, default: dt.date) -> dt.date:
    try:
        year, month = (int(part) for part in request.GET.get("month", "").split("-"))
        return dt.date(year, month, 1)
    except ValueError:
        return default


def charts_view(request: HttpRequest, *, model_admin: admin.ModelAdmin) -> HttpResponse:
    """Ratings per month and mean per month (trend), and the month's score distribution."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    totals = monthly_totals()
    latest = totals[-1][0] if totals else timezone.localdate().replace(day=1)
    month = _month_param(request, latest)
    distribution = score_distribution(month)
    context = {
        **admin_page_context(request, model_admin, _("Service measurement charts")),
        "month": month,
        "months": [row[0] for row in totals],
        "volume": _bars([(f"{m:%Y-%m}", n or 0) for m, n, _t in totals]),
        "means": _bars([(f"{m:%Y-%m}", round(t / n, 2) if n else 0) for m, n, t in totals]),
        "distribution": _bars([(str(score), count) for score, count in distribution.items()]),
        "bar_height": BAR_HEIGHT,
    }
    return TemplateResponse(request, "evaluations/measurement/admin/charts.html", context)


def store_timeline_view(
    request: HttpRequest, store_id: int, *, model_admin: admin.ModelAdmin
) -> HttpResponse:
    """A store's months: dimensions, composite, rank and grade, oldest first."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    store = get_object_or_404(OrgUnit, pk=store_id)
    rows = list(store_timeline(store.pk))
    context = {
        **admin_page_context(
            request, model_admin, _("Service archive of %(store)s") % {"store": store.name}
        ),
        "store": store,
        "rows": rows,
        "composite": _bars([(f"{r.month:%Y-%m}", float(r.composite)) for r in rows]),
        "bar_height": BAR_HEIGHT,
    }
    return TemplateResponse(request, "evaluations/measurement/admin/store_timeline.html", context)


class RevokeForm(forms.Form):
    reason = ReasonField()


def revoke_keys_view(
    request: HttpRequest, queryset, *, model_admin: admin.ModelAdmin
) -> HttpResponse | None:
    """The revoke action's confirmation page: lists the keys, asks for a reason, revokes."""
    form = RevokeForm(request.POST if "confirm" in request.POST else None)
    if form.is_bound and form.is_valid():
        revoked = 0
        for api_key in queryset:
            try:
                revoke_api_key(api_key, actor=request.user, reason=form.cleaned_data["reason"])
                revoked += 1
            except DomainError as exc:
                messages.warning(request, f"{api_key}: {exc.message}")
        messages.success(request, _("%(count)s keys revoked.") % {"count": revoked})
        return None
    context = {
        **admin_page_context(request, model_admin, _("Revoke API keys")),
        "keys": list(queryset),
        "form": form,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "evaluations/measurement/admin/revoke_keys.html", context)
