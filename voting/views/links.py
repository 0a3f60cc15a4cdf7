"""What leads a voter to a candidate's vote page: the short link printed on posters and QR
codes, the printable poster, and the host's QR screen at a live event (voting.views.votes
holds the vote flow itself)."""

from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.generic import RedirectView

from campaigns.choices import ContestantStatus, StageStatus
from campaigns.live import audience_window
from campaigns.models import Stage
from campaigns.selectors import contestants_for_stage
from voting.ledger.services import audience_refusal
from voting.views.votes import MAX_ID, candidate_or_404, qr_svg


class ShortLinkView(RedirectView):
    """``/v/<stage>/<employee_no>/``: the short link of posters and QR codes."""

    permanent = False
    query_string = False

    def get_redirect_url(self, *args: Any, **kwargs: Any) -> str:
        return reverse("voting:vote-start", args=[kwargs["stage_id"], kwargs["employee_no"]])


class PosterView(View):
    """A printable A4 poster for a candidate's desk: photo, name, unit, the SMS
    instruction and a QR code of the short link."""

    def get(self, request: HttpRequest, stage_id: int, employee_no: str) -> HttpResponse:
        contestant = candidate_or_404(stage_id, employee_no)
        short_url = request.build_absolute_uri(
            reverse("voting:short-link", args=[stage_id, employee_no])
        )
        context = {
            "contestant": contestant,
            "member": contestant.staff_member,
            "stage": contestant.stage,
            "campaign": contestant.stage.campaign,
            "short_url": short_url,
            "qr": qr_svg(short_url),
            "sms_number": settings.SMS_VOTE_NUMBER,
        }
        return render(request, "voting/candidate_poster.html", context)


@method_decorator(staff_member_required, name="dispatch")
class AudienceHostView(View):
    """The host's screen at a live event: a big QR code for the contestant on stage,
    chosen with ``?contestant=<employee_no>`` (default: the one the live contest's host has
    on stage, else the first in running order), with links to the previous and next
    contestant. At a live contest it says when the chosen contestant cannot take audience
    votes now (not on stage, or their turn closed). Staff only."""

    def get(self, request: HttpRequest, stage_id: int) -> HttpResponse:
        if stage_id > MAX_ID:
            raise Http404
        stage = get_object_or_404(Stage.objects.select_related("campaign"), pk=stage_id)
        contestants = list(contestants_for_stage(stage).filter(status=ContestantStatus.IN))
        window = audience_window(stage.pk)
        wanted = request.GET.get("contestant", "")
        index = next(
            (
                i
                for i, c in enumerate(contestants)
                if c.staff_member.employee_no == wanted
                or (not wanted and window is not None and c.pk == window.contestant_id)
            ),
            0,
        )
        current = contestants[index] if contestants else None
        context: dict[str, Any] = {
            "stage": stage,
            "campaign": stage.campaign,
            "contestants": contestants,
            "current": current,
            "previous": contestants[index - 1] if current and index > 0 else None,
            "next": contestants[index + 1] if current and index + 1 < len(contestants) else None,
            "accepts_votes": stage.status == StageStatus.OPEN,
            "live_refusal": audience_refusal(stage.pk, current.pk) if current else None,
        }
        if current is not None:
            audience_url = request.build_absolute_uri(
                reverse("voting:audience-start", args=[stage.pk, current.staff_member.employee_no])
            )
            context.update(audience_url=audience_url, qr=qr_svg(audience_url))
        return render(request, "voting/audience_host.html", context)
