"""What the tablets, the host page and the venue screen show, as JSON-ready dicts.

Reads only. Each state carries ``version`` (``Panel.live_version``), which the views use
as the ETag: a poll with the current version is answered 304 after one small query.
A judge's state holds only that judge's own scores; nobody's points but the revealed
judge score ever reach the screen.
"""

from decimal import Decimal
from typing import Any

from django.urls import reverse

from campaigns.clock import db_now
from campaigns.models import Contestant
from evaluations import selectors
from evaluations.choices import AppearanceStep, ScoreCell
from evaluations.models import Judge, Panel

_TWO = Decimal("0.01")


def _person(contestant: Contestant) -> dict[str, Any]:
    member = contestant.staff_member
    picture = member.thumbnail or member.photo
    return {
        "id": contestant.pk,
        "order": contestant.running_order,
        "name": member.name,
        "employee_no": member.employee_no,
        "unit": member.unit.name,
        "photo": picture.url if picture else "",
    }


def judge_state(panel: Panel, judge: Judge) -> dict[str, Any]:
    """The tablet's view: running order, who is on stage, and this judge's own state of
    each contestant (``open``, ``closed``, ``recused``, ``submitted`` with the total,
    ``reopened``)."""
    contestants = selectors.running_order(panel)
    judge = Judge.objects.select_related("unit").get(pk=judge.pk)
    recused = selectors.recused_pairs(panel, judges=[judge], contestants=contestants)
    own = {s.contestant_id: s for s in selectors.latest_scores(panel, judge=judge)}
    steps = selectors.appearances(panel)
    rows = []
    for contestant in contestants:
        row = _person(contestant)
        score = own.get(contestant.pk)
        appearance = steps.get(contestant.pk)
        if score is not None and hasattr(score, "reopening"):
            row["state"] = "reopened"
        elif score is not None:
            row.update(state="submitted", total=score.total, points=score.points)
        elif (judge.pk, contestant.pk) in recused:
            row["state"] = "recused"
        elif appearance is not None and appearance.step != AppearanceStep.ON_STAGE:
            row["state"] = "closed"
        else:
            row["state"] = "open"
        rows.append(row)
    return {
        "version": panel.live_version,
        "accepts_scores": panel.stage.accepts_entries_at(db_now()),
        "on_stage": panel.on_stage_id,
        "contestants": rows,
    }


def _ranking(panel: Panel, contestants: dict[int, Contestant]) -> list[dict[str, Any]]:
    revealed = [
        a
        for a in selectors.appearances(panel).values()
        if a.step == AppearanceStep.REVEALED and a.revealed_score is not None
    ]
    revealed.sort(
        key=lambda a: (-a.revealed_score, contestants[a.contestant_id].running_order or 0)
    )
    ranking, previous, rank = [], None, 0
    for index, appearance in enumerate(revealed, start=1):
        if appearance.revealed_score != previous:
            rank, previous = index, appearance.revealed_score
        ranking.append(
            {
                "rank": rank,
                "score": str(appearance.revealed_score.quantize(_TWO)),
                **_person(contestants[appearance.contestant_id]),
            }
        )
    return ranking


def screen_state(panel: Panel, *, audience_url: str = "") -> dict[str, Any]:
    """The venue screen's view: the contestant on stage (with photo, unit, how many of the
    judges who may score them have scored, and the score once revealed) and the rank
    table of revealed scores. ``audience_url`` is the on-stage contestant's audience-vote
    link (made by the view, which knows the host name), shown only while their turn is
    open: once the host closes it, audience votes for them are refused."""
    contestants = {c.pk: c for c in selectors.running_order(panel)}
    state: dict[str, Any] = {
        "version": panel.live_version,
        "stage": panel.stage.name,
        "campaign": panel.stage.campaign.name,
        "on_stage": None,
        "ranking": _ranking(panel, contestants),
    }
    current = contestants.get(panel.on_stage_id) if panel.on_stage_id else None
    if current is None:
        return state
    progress = judges_progress(panel, current)
    appearance = selectors.appearances(panel).get(current.pk)
    step = appearance.step if appearance else AppearanceStep.ON_STAGE
    on_stage = {
        **_person(current),
        "step": step,
        "scored": sum(1 for p in progress if p["state"] == ScoreCell.SCORED),
        "judges": sum(1 for p in progress if p["state"] != ScoreCell.RECUSED),
        # Audience votes are taken only while the turn is open (campaigns.live).
        "audience_url": audience_url if step == AppearanceStep.ON_STAGE else "",
    }
    if appearance is not None and appearance.step == AppearanceStep.REVEALED:
        score = appearance.revealed_score
        on_stage["score"] = str(score.quantize(_TWO)) if score is not None else None
    state["on_stage"] = on_stage
    return state


def judges_progress(panel: Panel, contestant: Contestant) -> list[dict[str, Any]]:
    """Each judge's state for one contestant (no points): for the host and the screen."""
    judges = selectors.panel_judges(panel)
    recused = selectors.recused_pairs(panel, judges=judges, contestants=[contestant])
    latest = {s.judge_id: s for s in selectors.latest_scores(panel).filter(contestant=contestant)}
    rows = []
    for judge in judges:
        score = latest.get(judge.pk)
        if score is not None:
            state = ScoreCell.REOPENED if hasattr(score, "reopening") else ScoreCell.SCORED
        elif (judge.pk, contestant.pk) in recused:
            state = ScoreCell.RECUSED
        else:
            state = ScoreCell.WAITING
        rows.append({"judge": judge.display_name, "type": judge.judge_type, "state": str(state)})
    return rows


def host_state(panel: Panel) -> dict[str, Any]:
    """The host page's view: the screen's state plus each judge's progress on the
    contestant on stage and the step of every contestant."""
    state = screen_state(panel)
    steps = selectors.appearances(panel)
    current = next((c for c in selectors.running_order(panel) if c.pk == panel.on_stage_id), None)
    state["progress"] = judges_progress(panel, current) if current else []
    state["steps"] = {str(cid): a.step for cid, a in steps.items()}
    state["tablet_url"] = reverse("evaluations:tablet", args=[panel.stage_id])
    return state
