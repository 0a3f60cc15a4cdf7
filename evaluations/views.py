"""The judge's tablet (``/judge/``): signing in and scoring.

Pages render on the server; ``static/evaluations/js/tablet.js`` polls the judge's state
(``TabletStateView``, ETag = the panel's live version) every second and posts scores as
JSON with the tablet's own idempotency key. Refusals answer ``{"code", "detail"}`` with a
4xx status, like the API. A judge only ever sees and sends their own scores: the judge is
the signed-in user, never a parameter.
"""

import json
import uuid
from typing import Any

from django.contrib.auth import login
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from evaluations import selectors
from evaluations.exceptions import BadLinkError
from evaluations.live_state import judge_state
from evaluations.models import Judge, Panel
from evaluations.services import links, scores
from staff.exceptions import DomainError

MAX_ID = 2**31 - 1
MAX_BODY = 16_384
POLL_MS = 1000


def error_response(code: str, detail: str, status: int) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status)


def domain_error_response(error: DomainError) -> JsonResponse:
    return error_response(error.code, str(error.message), error.status_code)


def judge_of(request: HttpRequest) -> Judge | None:
    if not request.user.is_authenticated:
        return None
    return Judge.objects.filter(user=request.user).first()


def panel_of_judge(judge: Judge, stage_id: int) -> Panel:
    """The judge's panel of a stage; 404 for any stage the judge does not sit on."""
    if stage_id > MAX_ID:
        raise Http404
    panel = selectors.panels_of_judge(judge).filter(stage_id=stage_id).first()
    if panel is None:
        raise Http404
    return panel


class JudgeLoginView(LoginView):
    """Password sign-in for judges (expert judges have passwords)."""

    template_name = "evaluations/judge_login.html"

    def get_default_redirect_url(self) -> str:
        return reverse("evaluations:tablet-home")


class LinkSignInView(View):
    """A judge's personal link or QR code: check it, sign the judge in, go to the tablet."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            link = links.use_sign_in_link(token[:200])
        except BadLinkError as error:
            context = {"detail": error.message}
            return render(request, "evaluations/judge_link_refused.html", context, status=403)
        login(request, link.judge.user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("evaluations:tablet", stage_id=link.panel.stage_id)


class TabletHomeView(View):
    """``/judge/``: the sign-in form, the judge's one contest, or a list to choose from."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect("evaluations:judge-login")
        judge = judge_of(request)
        panels = list(selectors.panels_of_judge(judge)) if judge else []
        if len(panels) == 1:
            return redirect("evaluations:tablet", stage_id=panels[0].stage_id)
        return render(request, "evaluations/tablet_home.html", {"judge": judge, "panels": panels})


class JudgeRequiredMixin(View):
    judge: Judge
    panel: Panel

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        judge = judge_of(request)
        if judge is None:
            if request.method == "GET" and not kwargs.get("api"):
                return redirect(f"{reverse('evaluations:judge-login')}?next={request.path}")
            return error_response("forbidden", _("Sign in as a judge first."), 403)
        self.judge = judge
        self.panel = panel_of_judge(judge, kwargs["stage_id"])
        return super().dispatch(request, *args, **kwargs)


class TabletView(JudgeRequiredMixin):
    """The tablet page: running order, rubric controls, submit with confirmation."""

    def get(self, request: HttpRequest, stage_id: int) -> HttpResponse:
        criteria = selectors.criteria_for_panel(self.panel)
        context = {
            "judge": self.judge,
            "panel": self.panel,
            "stage": self.panel.stage,
            "criteria": criteria,
            "rubric_max": sum(c.max_points for c in criteria),
            "state": judge_state(self.panel, self.judge),
            "poll_ms": POLL_MS,
        }
        return render(request, "evaluations/tablet.html", context)


class TabletStateView(JudgeRequiredMixin):
    """The judge's own state as JSON, 304 while the panel's live version is unchanged."""

    def get(self, request: HttpRequest, stage_id: int, api: bool = True) -> HttpResponse:
        etag = f'"j{self.judge.pk}-{self.panel.live_version}"'
        if request.headers.get("If-None-Match") == etag:
            response = HttpResponseNotModified()
        else:
            response = JsonResponse(judge_state(self.panel, self.judge))
        response["ETag"] = etag
        response["Cache-Control"] = "no-cache"
        return response


def _parse_score(body: bytes) -> dict[str, Any]:
    """The posted score, shape-checked; raises ``ValueError`` with a translated message."""
    if len(body) > MAX_BODY:
        raise ValueError(_("The request is too large."))
    try:
        data = json.loads(body.decode("utf-8"))
        key = uuid.UUID(str(data["key"]))
        contestant = data["contestant"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        raise ValueError(_("The score could not be read.")) from None
    if (
        isinstance(contestant, bool)
        or not isinstance(contestant, int)
        or not 0 < contestant <= MAX_ID
    ):
        raise ValueError(_("The score could not be read."))
    comment = data.get("comment", "")
    if not isinstance(comment, str) or not isinstance(data.get("points"), dict):
        raise ValueError(_("The score could not be read."))
    return {"contestant_id": contestant, "points": data["points"], "comment": comment, "key": key}


class SubmitScoreView(JudgeRequiredMixin):
    """POST a score (JSON ``{"key", "contestant", "points", "comment"}``): 201 when stored,
    200 with the same body when the key was seen before, 4xx ``{"code", "detail"}``."""

    def post(self, request: HttpRequest, stage_id: int, api: bool = True) -> HttpResponse:
        try:
            data = _parse_score(request.body)
        except ValueError as error:
            return error_response("bad_request", str(error), 400)
        try:
            result = scores.submit_score(
                self.panel,
                judge=self.judge,
                contestant_id=data["contestant_id"],
                points=data["points"],
                comment=data["comment"],
                idempotency_key=data["key"],
            )
        except DomainError as error:
            return domain_error_response(error)
        score = result.score
        body = {
            "key": str(score.idempotency_key),
            "contestant": score.contestant_id,
            "version": score.version,
            "total": score.total,
            "duplicate": not result.created,
        }
        return JsonResponse(body, status=201 if result.created else 200)
