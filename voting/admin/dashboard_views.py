"""The HR admin's stage dashboard and its "Recount now" pages.

Wired by ``LeaderboardSnapshotAdmin.get_urls`` (``voting.admin``) and linked from the vote,
snapshot and recount changelists:

* ``…/leaderboardsnapshot/dashboard/?stage=<id>`` — a stage picker and, for the chosen
  stage, the aggregates of ``voting.admin.dashboard`` (needs the right to view votes);
* ``…/leaderboardsnapshot/dashboard/<id>/recount/`` — POST only (the dashboard's button):
  first an intermediate page (what a recount does, an optional "repair tallies" with a
  required reason), then ``voting.counting.recount.recount_stage`` and a result page listing every
  difference. Needs the right to change votes, the fraud review's write right. A repair
  is audited by the service (``voting.tally.repaired``, with the reason and the user).
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from campaigns.models import Contestant, Stage
from staff.admin_pages import admin_page_context
from staff.audit import REASON_MAX_LENGTH
from voting.admin.dashboard import CHART_HEIGHT, CHART_WIDTH, stage_dashboard
from voting.counting.recount import recount_stage

VIEW_PERMISSION = "voting.view_vote"
RECOUNT_PERMISSION = "voting.change_vote"


class RecountForm(forms.Form):
    repair = forms.BooleanField(
        label=gettext_lazy("Repair tallies"),
        required=False,
        help_text=gettext_lazy(
            "Rewrite the tallies of this stage from the vote ledger where they differ. "
            "Recorded in the audit log with your name, the time and the reason."
        ),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=gettext_lazy("Required to repair."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("repair") and not data.get("reason", "").strip():
            self.add_error("reason", _("Give a reason to repair the tallies."))
        return data


def _stage_or_404(stage_id: int | str) -> Stage:
    try:
        return Stage.objects.select_related("campaign").get(pk=int(stage_id))
    except (Stage.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def dashboard_view(request: HttpRequest, *, model_admin: admin.ModelAdmin) -> HttpResponse:
    """The stage picker and the chosen stage's dashboard (``?stage=<id>``)."""
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    stages = list(Stage.objects.select_related("campaign").order_by("-campaign_id", "order"))
    wanted = request.GET.get("stage", "")
    stage = next((s for s in stages if str(s.pk) == wanted), None)
    context = admin_page_context(
        request,
        model_admin,
        _("Stage dashboard"),
        stages=stages,
        stage=stage,
        dashboard=stage_dashboard(stage, now=timezone.now()) if stage else None,
        chart_width=CHART_WIDTH,
        chart_height=CHART_HEIGHT,
        can_recount=request.user.has_perm(RECOUNT_PERMISSION),
    )
    return TemplateResponse(request, "admin/voting/stage_dashboard.html", context)


def _named_differences(stage: Stage, differences: tuple[dict, ...]) -> list[dict[str, Any]]:
    ids = {d["contestant_id"] for d in differences if "contestant_id" in d}
    names = {
        c.pk: f"{c.staff_member.name} ({c.staff_member.employee_no})"
        for c in Contestant.objects.filter(stage=stage, pk__in=ids).select_related("staff_member")
    }
    return [{**d, "candidate": names.get(d.get("contestant_id"), "")} for d in differences]


@require_POST
def recount_view(
    request: HttpRequest, stage_id: int, *, model_admin: admin.ModelAdmin
) -> HttpResponse:
    """The dashboard's "Recount now": confirmation first, then the recount and its result."""
    if not request.user.has_perm(RECOUNT_PERMISSION):
        raise PermissionDenied
    stage = _stage_or_404(stage_id)
    form = RecountForm(request.POST if "confirm" in request.POST else None)
    if "confirm" in request.POST and form.is_valid():
        report = recount_stage(
            stage,
            repair=form.cleaned_data["repair"],
            actor=request.user,
            reason=form.cleaned_data["reason"].strip(),
        )
        context = admin_page_context(
            request,
            model_admin,
            _("Recount of %(stage)s") % {"stage": stage},
            stage=stage,
            report=report,
            differences=_named_differences(stage, report.differences),
        )
        return TemplateResponse(request, "admin/voting/stage_recount_result.html", context)
    context = admin_page_context(
        request, model_admin, _("Recount %(stage)s") % {"stage": stage}, stage=stage, form=form
    )
    return TemplateResponse(request, "admin/voting/stage_recount_confirm.html", context)
