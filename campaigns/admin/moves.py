"""The stage move page: schedule, open, close, preview, discard or finalise a stage.

The GET shows what the move will do and asks for a reason; the POST makes one service
call and turns a ``DomainError`` into an error message, so a refusal changes nothing."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import exports, selectors
from campaigns.admin.base import require, stage_or_404
from campaigns.choices import (
    STAGE_TRANSITIONS,
    ComponentKey,
    ContestantStatus,
    ResultOutcome,
    StageStatus,
)
from campaigns.components import get_provider
from campaigns.exceptions import InvalidTransitionError
from campaigns.models import Stage
from campaigns.services.stages import (
    close_stage,
    discard_preview,
    finalize_stage,
    open_stage,
    preview_stage,
    schedule_stage,
    unschedule_stage,
)
from staff.admin_pages import admin_page_context
from staff.audit import ReasonField
from staff.exceptions import DomainError


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
    reason = ReasonField(
        required=False,
        help_text=gettext_lazy("Recorded in the audit log with your name and the time."),
    )

    def __init__(self, *args: Any, required: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = required


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
    stage = stage_or_404(pk)
    require(model_admin.has_change_permission(request, stage))
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
    context = admin_page_context(
        request,
        model_admin,
        _("%(move)s: %(stage)s") % {"move": chosen.label, "stage": stage.name},
        stage=stage,
        move=chosen,
        form=form,
        **extra,
    )
    return TemplateResponse(request, "admin/campaigns/stage_move.html", context)
