"""The host's control page (``/host/<stage>/``) and the venue screen (``/screen/<stage>/``).

Both poll a JSON state every second with ``If-None-Match`` (the panel's live version), so
they follow the host within about a second and pick up again by themselves after a
network drop. The screen is public and shows only what the host revealed; the host page
needs the ``evaluations.host_panel`` permission (HR admins have it).
"""

import segno
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from evaluations import selectors
from evaluations.live_state import host_state, screen_state
from evaluations.models import Panel
from evaluations.services import live
from evaluations.views import MAX_ID, POLL_MS, domain_error_response, error_response
from staff.exceptions import DomainError

HOST_ACTIONS = {
    "on_stage": live.put_on_stage,
    "close": live.close_scoring,
    "reveal": live.reveal_score,
}


def panel_or_404(stage_id: int) -> Panel:
    if stage_id > MAX_ID:
        raise Http404
    try:
        return selectors.panel_for_stage(stage_id)
    except Panel.DoesNotExist as exc:
        raise Http404 from exc


def qr_svg(url: str) -> str:
    """An inline SVG QR code of ``url``: segno writes only path data and fixed attributes."""
    return segno.make(url, error="m").svg_inline(border=2, omitsize=True, svgclass="qr", title=url)


def audience_url(request: HttpRequest, panel: Panel) -> str:
    """The audience-vote link of the contestant on stage (the voting app's flow, by name)."""
    if panel.on_stage is None:
        return ""
    path = reverse(
        "voting:audience-start", args=[panel.stage_id, panel.on_stage.staff_member.employee_no]
    )
    return request.build_absolute_uri(path)


def _etag_response(request: HttpRequest, version_tag: str, build) -> HttpResponse:
    if request.headers.get("If-None-Match") == version_tag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = JsonResponse(build())
    response["ETag"] = version_tag
    response["Cache-Control"] = "no-cache"
    return response


class ScreenView(View):
    """The venue screen: full screen, readable from 20 m."""

    def get(self, request: HttpRequest, stage_id: int) -> HttpResponse:
        panel = panel_or_404(stage_id)
        context = {"panel": panel, "stage": panel.stage, "poll_ms": POLL_MS}
        return render(request, "evaluations/screen.html", context)


class ScreenStateView(View):
    def get(self, request: HttpRequest, stage_id: int) -> HttpResponse:
        panel = panel_or_404(stage_id)

        def build() -> dict:
            panel_full = Panel.objects.select_related(
                "stage__campaign", "on_stage__staff_member"
            ).get(pk=panel.pk)
            url = audience_url(request, panel_full)
            state = screen_state(panel_full, audience_url=url)
            if state["on_stage"] is not None and state["on_stage"]["audience_url"]:
                state["on_stage"]["qr"] = qr_svg(url)
            return state

        return _etag_response(request, f'"s{panel.live_version}"', build)


class HostMixin(PermissionRequiredMixin, View):
    permission_required = "evaluations.host_panel"


class HostView(HostMixin):
    """The host's page: the running order with on stage / close / reveal buttons, and who
    has submitted for the contestant on stage."""

    def get(self, request: HttpRequest, stage_id: int) -> HttpResponse:
        panel = panel_or_404(stage_id)
        context = {
            "panel": panel,
            "stage": panel.stage,
            "contestants": selectors.running_order(panel),
            "state": host_state(panel),
            "poll_ms": POLL_MS,
        }
        return render(request, "evaluations/host.html", context)


class HostStateView(HostMixin):
    def get(self, request: HttpRequest, stage_id: int) -> HttpResponse:
        panel = panel_or_404(stage_id)
        return _etag_response(request, f'"h{panel.live_version}"', lambda: host_state(panel))


class HostActionView(HostMixin):
    """POST ``action`` (on_stage, close, reveal) and ``contestant``: one service call."""

    def post(self, request: HttpRequest, stage_id: int) -> HttpResponse:
        panel = panel_or_404(stage_id)
        action = HOST_ACTIONS.get(request.POST.get("action", ""))
        raw_id = request.POST.get("contestant", "")
        if action is None or not raw_id.isdigit() or int(raw_id) > MAX_ID:
            return error_response("bad_request", _("Unknown action or contestant."), 400)
        try:
            action(panel, contestant_id=int(raw_id), actor=request.user)
        except DomainError as error:
            return domain_error_response(error)
        panel.refresh_from_db()
        return JsonResponse(host_state(panel))
