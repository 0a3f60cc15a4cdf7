"""Score sheets (CSV and XLSX) and each judge's score distribution, for HR admins.

A score sheet has one row per stored score version (the ledger, reopened versions
included, with their state), grouped by judge or by contestant. Text cells go through
``campaigns.exports.escape_formula`` (a judge's comment is free text); no personal datum
beyond names, employee numbers and units is exported.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from campaigns.exports import ExportTable, escape_formula
from evaluations import selectors
from evaluations.models import Panel, Score

SHEET_GROUPS = ("judge", "contestant")
CHART_WIDTH = 640
CHART_ROW = 34
CHART_LEFT = 180


def score_sheet(panel: Panel, *, group: str) -> ExportTable:
    """Every score version of the panel, sorted by judge (``group="judge"``) or by
    contestant's running order."""
    criteria = selectors.criteria_for_panel(panel)
    scores = list(
        Score.objects.filter(panel=panel)
        .select_related("judge", "contestant__staff_member__unit", "reopening", "superseded_by")
        .order_by("judge__display_name", "contestant__running_order", "version")
    )
    if group == "contestant":
        scores.sort(
            key=lambda s: (s.contestant.running_order or 0, s.judge.display_name, s.version)
        )
    header = [
        _("Judge"),
        _("Judge type"),
        _("Running order"),
        _("Employee number"),
        _("Name"),
        _("Unit"),
        _("Version"),
        *[c.name for c in criteria],
        _("Total"),
        _("State"),
        _("Comment"),
        _("Submitted at"),
    ]
    rows = []
    for score in scores:
        member = score.contestant.staff_member
        if hasattr(score, "superseded_by"):
            state = _("Superseded")
        elif hasattr(score, "reopening"):
            state = _("Reopened")
        else:
            state = _("Counted")
        rows.append(
            [
                escape_formula(score.judge.display_name),
                str(score.judge.get_judge_type_display()),
                score.contestant.running_order,
                member.employee_no,
                escape_formula(member.name),
                escape_formula(member.unit.name),
                score.version,
                *[score.points.get(str(c.pk)) for c in criteria],
                score.total,
                state,
                escape_formula(score.comment),
                score.submitted_at.isoformat(timespec="seconds"),
            ]
        )
    title = _("Scores by judge") if group == "judge" else _("Scores by contestant")
    return ExportTable(title=title, header=header, rows=rows)


@dataclass(frozen=True)
class JudgeDistribution:
    """One judge's counted totals as a share of the rubric (0-100), for the chart."""

    name: str
    judge_type: str
    values: list[Decimal]
    mean: Decimal | None
    y: int  # the row's position in the SVG

    def dots(self) -> list[int]:
        return [CHART_LEFT + int(v * (CHART_WIDTH - CHART_LEFT - 20) / 100) for v in self.values]

    def mean_x(self) -> int | None:
        if self.mean is None:
            return None
        return CHART_LEFT + int(self.mean * (CHART_WIDTH - CHART_LEFT - 20) / 100)


def distributions(panel: Panel) -> list[JudgeDistribution]:
    """Each judge's counted totals (percent of the rubric) and their mean: a harsh judge's
    dots sit left of the others, a lenient one's right."""
    top = selectors.rubric_max(panel)
    by_judge: dict[int, list[Decimal]] = {}
    for total in selectors.judge_totals(panel):
        by_judge.setdefault(total.judge_id, []).append(total.total * 100 / top)
    result = []
    for index, judge in enumerate(selectors.panel_judges(panel)):
        values = sorted(by_judge.get(judge.pk, []))
        mean = sum(values, Decimal(0)) / len(values) if values else None
        result.append(
            JudgeDistribution(
                name=judge.display_name,
                judge_type=str(judge.get_judge_type_display()),
                values=values,
                mean=mean.quantize(Decimal("0.1")) if mean is not None else None,
                y=30 + index * CHART_ROW,
            )
        )
    return result
