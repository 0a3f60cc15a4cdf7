"""Read functions of the live contest: panels, who may score whom, counted scores, the
progress grid, results and the live state that tablets, the host and the screen show."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import OuterRef, QuerySet, Subquery

from campaigns.choices import ContestantStatus
from campaigns.live import AudienceWindow
from campaigns.models import Contestant
from evaluations.choices import AppearanceStep, JudgeType, ScoreCell
from evaluations.models import Appearance, Conflict, Criterion, Judge, Panel, Score
from evaluations.scoring import ContestantScore, JudgeTotal, judge_scores


def panel_for_stage(stage_id: int) -> Panel:
    """The panel of a stage, with its stage and campaign; raises ``Panel.DoesNotExist``."""
    return Panel.objects.select_related("stage__campaign").get(stage_id=stage_id)


def criteria_for_panel(panel: Panel) -> list[Criterion]:
    return list(Criterion.objects.filter(panel=panel).order_by("order", "id"))


def rubric_max(panel: Panel) -> int:
    """The highest total a judge can give (the sum of the criteria's maximum points)."""
    return sum(c.max_points for c in criteria_for_panel(panel))


def panel_judges(panel: Panel) -> list[Judge]:
    return list(panel.judges.select_related("user", "unit").order_by("judge_type", "id"))


def running_order(panel: Panel) -> list[Contestant]:
    """The panel's contestants in the running, in running order, with staff and unit."""
    return list(
        Contestant.objects.filter(stage_id=panel.stage_id, status=ContestantStatus.IN)
        .select_related("staff_member__unit", "staff_member__position")
        .order_by("running_order", "staff_member__employee_no")
    )


def recused_pairs(
    panel: Panel, *, judges: list[Judge] | None = None, contestants: list[Contestant] | None = None
) -> set[tuple[int, int]]:
    """``(judge_id, contestant_id)`` pairs that may not be scored: a declared conflict, or
    a contestant in the judge's unit or a unit under it."""
    judges = panel_judges(panel) if judges is None else judges
    contestants = running_order(panel) if contestants is None else contestants
    pairs = set(
        Conflict.objects.filter(
            judge__in=[j.pk for j in judges], contestant__stage_id=panel.stage_id
        ).values_list("judge_id", "contestant_id")
    )
    for judge in judges:
        if judge.unit is None:
            continue
        for contestant in contestants:
            if contestant.staff_member.unit.path.startswith(judge.unit.path):
                pairs.add((judge.pk, contestant.pk))
    return pairs


def counted_scores(panel: Panel) -> QuerySet[Score]:
    """The scores that count: the latest version of each judge x contestant, unless an
    admin reopened it (then nothing counts until the judge submits again)."""
    return Score.objects.filter(
        panel=panel, superseded_by__isnull=True, reopening__isnull=True
    ).select_related("judge")


def latest_scores(panel: Panel, *, judge: Judge | None = None) -> QuerySet[Score]:
    """The latest version of each judge x contestant (reopened or not), optionally of one
    judge only, with its reopening."""
    queryset = Score.objects.filter(panel=panel, superseded_by__isnull=True)
    if judge is not None:
        queryset = queryset.filter(judge=judge)
    return queryset.select_related("judge", "reopening")


def judge_totals(panel: Panel) -> list[JudgeTotal]:
    return [
        JudgeTotal(s.judge_id, s.judge.judge_type, s.contestant_id, Decimal(s.total))
        for s in counted_scores(panel)
    ]


def panel_weights(panel: Panel) -> dict[str, Decimal]:
    return {JudgeType.EXPERT: panel.expert_weight, JudgeType.PUBLIC: panel.public_weight}


def contestant_scores(panel: Panel, *, normalise: bool | None = None) -> dict[int, ContestantScore]:
    """Each scored contestant's judge score (0-100); ``normalise`` defaults to the
    panel's own setting."""
    max_total = rubric_max(panel)
    if max_total == 0:
        return {}
    return judge_scores(
        judge_totals(panel),
        max_total=max_total,
        weights=panel_weights(panel),
        threshold=panel.trim_threshold,
        normalise=panel.use_normalisation if normalise is None else normalise,
    )


@dataclass(frozen=True)
class ResultRow:
    contestant: Contestant
    raw: ContestantScore | None
    normalised: ContestantScore | None
    used: ContestantScore | None


def results_for_panel(panel: Panel) -> list[ResultRow]:
    """Raw and normalised judge scores side by side, best (by the used one) first."""
    raw = contestant_scores(panel, normalise=False)
    normalised = contestant_scores(panel, normalise=True)
    used = normalised if panel.use_normalisation else raw
    rows = [
        ResultRow(c, raw.get(c.pk), normalised.get(c.pk), used.get(c.pk))
        for c in running_order(panel)
    ]
    rows.sort(key=lambda r: -(r.used.score if r.used else Decimal(-1)))
    return rows


@dataclass(frozen=True)
class ProgressGrid:
    judges: list[Judge]
    rows: list[tuple[Contestant, list[str]]]  # one ScoreCell per judge, in ``judges`` order
    counts: dict[str, int]


def progress_grid(panel: Panel) -> ProgressGrid:
    """Judges x contestants: scored / waiting / recused / reopened."""
    judges = panel_judges(panel)
    contestants = running_order(panel)
    recused = recused_pairs(panel, judges=judges, contestants=contestants)
    latest = {(s.judge_id, s.contestant_id): s for s in latest_scores(panel)}
    counts: dict[str, int] = defaultdict(int)
    rows = []
    for contestant in contestants:
        cells = []
        for judge in judges:
            score = latest.get((judge.pk, contestant.pk))
            if score is not None:
                reopened = hasattr(score, "reopening")
                cell = ScoreCell.REOPENED if reopened else ScoreCell.SCORED
            elif (judge.pk, contestant.pk) in recused:
                cell = ScoreCell.RECUSED
            else:
                cell = ScoreCell.WAITING
            counts[cell] += 1
            cells.append(cell)
        rows.append((contestant, cells))
    return ProgressGrid(judges=judges, rows=rows, counts=dict(counts))


def appearances(panel: Panel) -> dict[int, Appearance]:
    return {a.contestant_id: a for a in Appearance.objects.filter(panel=panel)}


def panels_of_judge(judge: Judge) -> QuerySet[Panel]:
    return judge.panels.select_related("stage__campaign").order_by("-stage__opens_at", "-pk")


def audience_window(stage_id: int) -> AudienceWindow | None:
    """The stage's live contest as audience votes see it (``campaigns.live``): ``None``
    without a panel; else who is on stage and whether the host still has their turn open
    (their appearance is at ``on_stage``: scoring not closed, score not revealed). One
    query."""
    step = Appearance.objects.filter(panel=OuterRef("pk"), contestant=OuterRef("on_stage_id"))
    row = (
        Panel.objects.filter(stage_id=stage_id)
        .annotate(step=Subquery(step.values("step")[:1]))
        .values_list("on_stage_id", "step")
        .first()
    )
    if row is None:
        return None
    on_stage, step_now = row
    return AudienceWindow(
        contestant_id=on_stage,
        is_open=on_stage is not None and step_now == AppearanceStep.ON_STAGE,
    )
