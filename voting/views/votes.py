"""Public vote pages: a candidate's vote page, the one-time code, the result, receipts,
the short link and poster, and the host screen of audience voting at a live event.

The flow (plain HTML forms, no JavaScript; CSRF protected):

1. ``vote/<stage>/<employee_no>/`` shows the candidate, the stage's limits and asks for a
   mobile number. The post asks ``request_vote_code`` for a code and answers with the same
   redirect to the code page whatever the number (no enumeration), except for a number
   with no votes left today (told so, no SMS) or one sent a code within the minute (told
   how long to wait). The normalised number waits for the
   code in a signed, HTTP-only cookie on the voter's own phone — never in the session
   table, which would store a full number on the server.
2. ``…/code/`` takes the 6-digit code and casts the vote with it in one transaction
   (``cast_vote_with_otp``). A refused vote leaves the code usable.
3. The answer is the result page itself, rendered in the post's response: "counted, N
   votes left today" with the receipt code, or exactly why not. Each rendering of a vote
   form carries a fresh idempotency key, so a repeated post (double tap, reload) gets the
   first answer again and counts once.

After a code is verified, the voter token of ``voting.otp.services`` (30 minutes, checked by
``read_voter_token``) is kept in the session: the voter's next votes (``…/cast/``) need no
new code. The audience pages (``vote/live/…``) are the same views with channel
``audience``.
"""

import functools
import secrets
from dataclasses import dataclass
from typing import Any

import segno
from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.safestring import SafeString, mark_safe
from django.views import View
from django.views.generic import RedirectView

from campaigns.choices import CampaignStatus, ContestantStatus, StageStatus
from campaigns.live import audience_window
from campaigns.models import Contestant, Stage
from campaigns.selectors import contestants_for_stage
from staff.exceptions import DomainError, InvalidPhoneError
from staff.identifiers import candidate_lookup
from staff.phones import parse_phone
from voting.choices import VoteChannel
from voting.exceptions import (
    BadCodeError,
    CodeExpiredError,
    CodeLockedError,
    LimitReachedError,
    ResendTooSoonError,
    VoterSessionError,
)
from voting.forms import CodeForm, PhoneForm, ReceiptLookupForm, VoteForm, new_idempotency_key
from voting.ledger.rules import channel_used
from voting.ledger.selectors import vote_by_receipt
from voting.ledger.services import CastResult, audience_refusal, cast_vote
from voting.otp.requests import request_vote_code
from voting.otp.services import (
    VoterSession,
    cast_vote_with_otp,
    issue_voter_token,
    read_voter_token,
)
from voting.views.hints import channel_hints, votes_left_after

PENDING_PHONE_COOKIE = "vote_phone"
PENDING_PHONE_SALT = "voting.pending-phone"
# Long enough for a code (5 minutes) and a few resends; the number is on the voter's phone.
PENDING_PHONE_MAX_AGE = 15 * 60
VOTER_SESSION_KEY = "voting.voter_token"
# A random id for the voter's device, so that wrong codes count against the device they
# come from (``voting.otp.tries``); signed, so it cannot be chosen to blame someone else's.
DEVICE_COOKIE = "vote_device"
DEVICE_SALT = "voting.device"
DEVICE_MAX_AGE = 365 * 24 * 3600
# The largest id a database column holds: a longer number in a URL is a 404, not an overflow.
MAX_ID = 2**63 - 1
CODE_ERRORS = (BadCodeError, CodeExpiredError, CodeLockedError)


@dataclass(frozen=True)
class FlowUrls:
    """The URL names of one channel's vote flow."""

    start: str
    code: str
    resend: str
    cast: str


FLOWS = {
    VoteChannel.WEB: FlowUrls(
        "voting:vote-start", "voting:vote-code", "voting:vote-resend", "voting:vote-cast"
    ),
    VoteChannel.AUDIENCE: FlowUrls(
        "voting:audience-start",
        "voting:audience-code",
        "voting:audience-resend",
        "voting:audience-cast",
    ),
}


def client_ip(request: HttpRequest) -> str | None:
    """The peer address (a proxy must set ``REMOTE_ADDR``; a client's ``X-Forwarded-For``
    is never trusted: the per-IP code limits depend on it)."""
    return request.META.get("REMOTE_ADDR") or None


@functools.lru_cache(maxsize=512)
def qr_svg(url: str) -> SafeString:
    """An inline SVG QR code for ``url`` (no size attributes: CSS sizes it).

    Cached per URL: a poster or host screen is reloaded often, and a URL's code never
    changes. segno writes only path data and fixed attributes, so the markup is safe.
    """
    svg = segno.make(url, error="m").svg_inline(border=2, omitsize=True, svgclass="qr", title=url)
    return mark_safe(svg)  # noqa: S308 -- generated by segno from an escaped URL, no user markup


def candidate_or_404(stage_id: int, employee_no: str) -> Contestant:
    """The contestant of a public stage with this vote code or employee number (one query: staff member,
    unit, position, stage and campaign joined), or 404. Withdrawn contestants are not found;
    eliminated ones are shown, and ``cast_vote`` refuses votes for them."""
    lookup = candidate_lookup(employee_no)
    if lookup is None or not 1 <= stage_id <= MAX_ID:
        raise Http404
    field, number = lookup
    found = (
        contestants_for_stage(stage_id)
        .select_related("stage__campaign")
        .exclude(stage__campaign__status=CampaignStatus.DRAFT)
        .filter(**{f"staff_member__{field}": number})
        .first()
    )
    if found is None:
        raise Http404
    return found


class VoteFlowMixin(View):
    """Shared by the steps of the flow: the candidate, the channel, the voter session and
    the pending phone number, and the pages they render."""

    channel: str = VoteChannel.WEB

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self.channel = kwargs.get("channel", VoteChannel.WEB)
        self.urls = FLOWS[self.channel]
        self.contestant = candidate_or_404(kwargs["stage_id"], kwargs["employee_no"])
        self.stage = self.contestant.stage
        self.member = self.contestant.staff_member

    def url(self, name: str, query: str = "") -> str:
        path = reverse(getattr(self.urls, name), args=[self.stage.pk, self.member.employee_no])
        return f"{path}?{query}" if query else path

    def stage_running(self) -> bool:
        # The page's hint only: cast_vote decides by the database clock.
        return (
            self.stage.status == StageStatus.OPEN
            and self.contestant.status == ContestantStatus.IN
            and self.live_refusal is None
        )

    @functools.cached_property
    def live_refusal(self) -> DomainError | None:
        """At a live contest, why the audience cannot vote for this contestant now (not on
        stage, or their turn closed); ``cast_vote`` checks it again when the vote comes."""
        if self.channel != VoteChannel.AUDIENCE:
            return None
        return audience_refusal(self.stage.pk, self.contestant.pk)

    def accepts_votes(self) -> bool:
        """Whether this page offers a vote: the stage runs and counts this page's channel
        (``voting.views.hints``)."""
        return self.stage_running() and channel_used(self.stage.weights, self.channel)

    def voter_session(self) -> VoterSession | None:
        """The verified voter of this browser, if the token is still good; an expired or
        tampered token is dropped."""
        token = self.request.session.get(VOTER_SESSION_KEY)
        if not isinstance(token, str):
            return None
        try:
            return read_voter_token(token)
        except VoterSessionError as exc:
            del self.request.session[VOTER_SESSION_KEY]
            self.session_error = exc.message
            return None

    def remember_voter(self, session: VoterSession) -> None:
        # The token carries its own 30-minute limit (``read_voter_token``); the session may
        # outlive it, so that a voter coming back later is told why a new code is needed.
        self.request.session[VOTER_SESSION_KEY] = issue_voter_token(session)

    def pending_phone(self) -> str | None:
        return self.request.get_signed_cookie(
            PENDING_PHONE_COOKIE,
            default=None,
            salt=PENDING_PHONE_SALT,
            max_age=PENDING_PHONE_MAX_AGE,
        )

    def device_id(self) -> str | None:
        return self.request.get_signed_cookie(
            DEVICE_COOKIE, default=None, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE
        )

    def redirect_to_code(self, phone: str, query: str = "") -> HttpResponse:
        response = HttpResponseRedirect(self.url("code", query), status=303)
        if self.device_id() is None:
            response.set_signed_cookie(
                DEVICE_COOKIE,
                secrets.token_urlsafe(16),
                salt=DEVICE_SALT,
                max_age=DEVICE_MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=self.request.is_secure(),
            )
        return self.remember_phone(response, phone)

    def remember_phone(self, response: HttpResponse, phone: str) -> HttpResponse:
        """``response`` with the pending number in its signed cookie."""
        response.set_signed_cookie(
            PENDING_PHONE_COOKIE,
            phone,
            salt=PENDING_PHONE_SALT,
            max_age=PENDING_PHONE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=self.request.is_secure(),
        )
        return response

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "contestant": self.contestant,
            "member": self.member,
            "stage": self.stage,
            "campaign": self.stage.campaign,
            "urls": self.urls,
            "is_audience": self.channel == VoteChannel.AUDIENCE,
            "accepts_votes": self.accepts_votes(),
            "live_refusal": self.live_refusal,
            "sms_number": settings.SMS_VOTE_NUMBER,
            **channel_hints(self.stage, self.channel, running=self.stage_running()),
            **extra,
        }

    def render_start(
        self,
        *,
        phone_form: PhoneForm | None = None,
        vote_form: VoteForm | None = None,
        voter: VoterSession | None = None,
        notice: str = "",
    ) -> HttpResponse:
        if voter is None and phone_form is None:
            phone_form = PhoneForm()
        context = self.context(
            phone_form=phone_form,
            vote_form=vote_form,
            voter=voter,
            notice=notice or getattr(self, "session_error", ""),
            idempotency_key=_key_for(vote_form),
        )
        return render(self.request, "voting/vote_start.html", context)

    def render_code(
        self, phone: str, form: CodeForm | None = None, notice: str = "", message: str = ""
    ) -> HttpResponse:
        """The code page; ``notice`` is ``sent`` or ``resent``, ``message`` (a wait or a
        limit) replaces it."""
        context = self.context(
            form=form or CodeForm(),
            phone_masked=parse_phone(phone).masked,
            notice=notice,
            message=message,
            idempotency_key=_key_for(form),
        )
        return render(self.request, "voting/vote_code.html", context)

    def render_result(
        self, *, result: CastResult | None = None, error: DomainError | None = None
    ) -> HttpResponse:
        context = self.context(
            result=result, error=error, votes_left=votes_left_after(result, error)
        )
        if error is not None:
            context["error_message"] = error.message
        return render(self.request, "voting/vote_result.html", context)

    def request_code(self, phone: str) -> None:
        """Ask for a code for voting in this stage (``request_vote_code``; its errors)."""
        request_vote_code(
            phone=phone,
            ip=client_ip(self.request),
            stage=self.stage,
            language=self.request.LANGUAGE_CODE,
        )

    def cast_options(self, key: str) -> dict[str, Any]:
        return {
            "contestant_employee_no": self.member.employee_no,
            "channel": self.channel,
            "ip": client_ip(self.request),
            "user_agent": self.request.headers.get("User-Agent", "")[:512],
            "idempotency_key": key,
        }


def _key_for(form: CodeForm | VoteForm | None) -> str:
    """The idempotency key to render: the posted one while it is valid (a form shown again
    after an error is the same vote), else a fresh one."""
    if form is not None and form.is_bound and "idempotency_key" not in form.errors:
        return form.cleaned_data.get("idempotency_key") or new_idempotency_key()
    return new_idempotency_key()


class VoteStartView(VoteFlowMixin):
    """Page 1: the candidate, the SMS instruction and the phone form — or, for a voter
    verified in the last 30 minutes, the vote button. ``?another=1`` asks for a number
    even then. The post sends a code and always redirects to the code page."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        voter = None if "another" in request.GET else self.voter_session()
        if voter is not None:
            return self.render_start(voter=voter, vote_form=VoteForm())
        return self.render_start()

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = PhoneForm(request.POST)
        if not self.accepts_votes() or not form.is_valid():
            return self.render_start(phone_form=form)
        try:
            phone = parse_phone(form.cleaned_data["phone"])
            self.request_code(phone.e164)
        except ResendTooSoonError as exc:
            # A code went out less than a minute ago: it may be on its way; the code
            # page takes it and says when a new one can be asked for.
            return self.remember_phone(
                self.render_code(phone.e164, message=exc.message), phone.e164
            )
        except DomainError as exc:
            # No votes left (said before any SMS is spent), or a malformed number.
            form.add_error("phone", exc.message)
            return self.render_start(phone_form=form)
        return self.redirect_to_code(phone.e164)


class VoteCodeView(VoteFlowMixin):
    """Page 2: the code from the SMS; the post verifies it and casts the vote at once."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        phone = self.pending_phone()
        if phone is None:
            return HttpResponseRedirect(self.url("start"))
        return self.render_code(phone, notice="resent" if "resent" in request.GET else "sent")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        phone = self.pending_phone()
        if phone is None:
            return HttpResponseRedirect(self.url("start"), status=303)
        form = CodeForm(request.POST)
        if not form.is_valid():
            return self.render_code(phone, form)
        try:
            verified = cast_vote_with_otp(
                self.stage,
                phone=phone,
                code=form.cleaned_data["code"],
                device_id=self.device_id(),
                **self.cast_options(form.cleaned_data["idempotency_key"]),
            )
        except CODE_ERRORS as exc:
            form.add_error("code", exc.message)
            return self.render_code(phone, form)
        except InvalidPhoneError:
            # Only a cookie signed by us reaches here, so this is a number no longer valid.
            response = HttpResponseRedirect(self.url("start"), status=303)
            response.delete_cookie(PENDING_PHONE_COOKIE)
            return response
        except DomainError as exc:
            return self.render_result(error=exc)
        self.remember_voter(verified.session)
        # The pending number stays until its cookie expires: a reload of this post (same
        # key, same code) must find it to be answered with the same result.
        return self.render_result(result=verified.result)


class ResendCodeView(VoteFlowMixin):
    """Ask for another code for the pending number. Within a minute of the last code the
    page says how many seconds to wait, and a number with no votes left is told so
    (``request_vote_code``); the other sending limits stay silent."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        phone = self.pending_phone()
        if phone is None:
            return HttpResponseRedirect(self.url("start"), status=303)
        try:
            self.request_code(phone)
        except (ResendTooSoonError, LimitReachedError) as exc:
            return self.render_code(phone, message=exc.message)
        except DomainError:
            return HttpResponseRedirect(self.url("start"), status=303)
        return self.redirect_to_code(phone, "resent=1")


class CastVoteView(VoteFlowMixin):
    """The vote button of a verified voter: casts with the session's voter token."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        voter = self.voter_session()
        form = VoteForm(request.POST)
        if voter is None:
            return self.render_start()
        if not form.is_valid():
            return self.render_start(voter=voter, vote_form=form)
        try:
            result = cast_vote(
                self.stage,
                voter_hash=voter.voter_hash,
                phone_masked=voter.phone_masked,
                **self.cast_options(form.cleaned_data["idempotency_key"]),
            )
        except DomainError as exc:
            return self.render_result(error=exc)
        return self.render_result(result=result)


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


class ReceiptLookupView(View):
    """The receipt lookup form (GET ``?code=``): a well-formed code goes to its page."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = ReceiptLookupForm(request.GET if "code" in request.GET else None)
        if form.is_bound and form.is_valid():
            return HttpResponseRedirect(
                reverse("voting:receipt-detail", args=[form.cleaned_data["code"]])
            )
        return render(request, "voting/receipt_lookup.html", {"form": form})


class ReceiptDetailView(View):
    """A vote's public receipt: counted or invalidated, stage, candidate, time — never the
    voter's phone. An unknown code is a friendly 404 with the lookup form."""

    def get(self, request: HttpRequest, code: str) -> HttpResponse:
        vote = vote_by_receipt(code)
        if vote is None:
            return render(
                request,
                "voting/receipt_lookup.html",
                {"form": ReceiptLookupForm(), "missing": True},
                status=404,
            )
        return render(request, "voting/receipt_detail.html", {"vote": vote})
