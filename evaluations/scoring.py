"""The judge score: from judges' totals to one 0-100 value per contestant. Pure functions.

Terms and rules
---------------
- A judge's **total** for a contestant is the sum of their points over the rubric's
  criteria, on ``0..max_total`` (the rubric's maximum, e.g. 40 + 30 + 30 = 100).
- **Normalisation** (optional per panel) cancels harsh and lenient judges: each judge's
  totals are standardised across the contestants *they* scored (``z = (x - mean_j) /
  sd_j``, population standard deviation), then rescaled to the rubric's range using the
  mean ``M`` and standard deviation ``S`` of every total in the panel: ``M + z x S``,
  clamped to ``0..max_total``. A judge with one score, or with every score equal, has no
  spread to standardise: their totals become ``M``.
- Per judge type, the contestant's value is a **trimmed mean** of that type's totals: when
  the type has at least ``threshold`` totals for the contestant, the single highest and the
  single lowest are dropped first.
- The **judge score** is ``sum(weight_t x mean_t) / max_total x 100`` over the judge types
  that scored the contestant. **Missing scores are handled fairly**: a type with no score
  for a contestant (all its judges recused, say) drops out and the other types' weights are
  scaled up to add to 1, so a contestant is never punished for a conflict of interest. A
  contestant nobody scored gets no value (the result engine counts it as 0).

The provider registered with the result engine (``evaluations.components``) returns these
0-100 values, on ``score_range(0, 100)``. Decimal throughout, rounded half-up to 4 places
at the end only.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext

FOUR_PLACES = Decimal("0.0001")
HUNDRED = Decimal(100)
ZERO = Decimal(0)


@dataclass(frozen=True)
class JudgeTotal:
    judge_id: int
    judge_type: str
    contestant_id: int
    total: Decimal


@dataclass(frozen=True)
class ContestantScore:
    """A contestant's judge score and how it came about."""

    contestant_id: int
    score: Decimal  # 0-100, four places
    type_means: Mapping[str, Decimal] = field(default_factory=dict)  # on the rubric scale
    type_counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def n_scores(self) -> int:
        return sum(self.type_counts.values())


def quantize(value: Decimal) -> Decimal:
    return value.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def trimmed_mean(values: Sequence[Decimal], *, threshold: int) -> Decimal:
    """The mean of ``values``, without the highest and the lowest when there are at least
    ``threshold`` of them. Raises ``ValueError`` for no values."""
    if not values:
        raise ValueError("A trimmed mean needs at least one value.")
    ordered = sorted(values)
    if len(ordered) >= threshold:
        ordered = ordered[1:-1]
    with localcontext(prec=40):
        return sum(ordered, ZERO) / len(ordered)


def _mean_and_sd(values: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    with localcontext(prec=40):
        mean = sum(values, ZERO) / len(values)
        variance = sum(((v - mean) ** 2 for v in values), ZERO) / len(values)
        return mean, variance.sqrt()


def normalised_totals(
    totals: Iterable[JudgeTotal], *, max_total: int
) -> dict[tuple[int, int], Decimal]:
    """Each ``(judge_id, contestant_id)``'s total standardised per judge and rescaled to
    the panel's overall mean and spread (see the module docstring)."""
    items = list(totals)
    if not items:
        return {}
    pooled_mean, pooled_sd = _mean_and_sd([t.total for t in items])
    by_judge: dict[int, list[JudgeTotal]] = defaultdict(list)
    for item in items:
        by_judge[item.judge_id].append(item)
    top = Decimal(max_total)
    result: dict[tuple[int, int], Decimal] = {}
    with localcontext(prec=40):
        for judge_id, own in by_judge.items():
            mean, sd = _mean_and_sd([t.total for t in own])
            for item in own:
                z = (item.total - mean) / sd if sd else ZERO
                value = min(max(pooled_mean + z * pooled_sd, ZERO), top)
                result[(judge_id, item.contestant_id)] = value
    return result


def judge_scores(
    totals: Iterable[JudgeTotal],
    *,
    max_total: int,
    weights: Mapping[str, Decimal],
    threshold: int,
    normalise: bool,
) -> dict[int, ContestantScore]:
    """The judge score (0-100) of every contestant with at least one total.

    ``weights`` maps judge types to weights adding up to 1; a type with weight 0 is
    ignored. See the module docstring for trimming, normalisation and missing scores.
    """
    items = list(totals)
    if normalise:
        adjusted = normalised_totals(items, max_total=max_total)
        values = {
            (t.judge_id, t.contestant_id): adjusted[(t.judge_id, t.contestant_id)] for t in items
        }
    else:
        values = {(t.judge_id, t.contestant_id): t.total for t in items}
    grouped: dict[int, dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    for item in items:
        if weights.get(item.judge_type, ZERO) > 0:
            grouped[item.contestant_id][item.judge_type].append(
                values[(item.judge_id, item.contestant_id)]
            )
    result: dict[int, ContestantScore] = {}
    top = Decimal(max_total)
    for contestant_id, by_type in grouped.items():
        means = {t: trimmed_mean(v, threshold=threshold) for t, v in by_type.items()}
        with localcontext(prec=40):
            weight_sum = sum((weights[t] for t in means), ZERO)
            weighted = sum((weights[t] * m for t, m in means.items()), ZERO) / weight_sum
            score = weighted / top * HUNDRED
        result[contestant_id] = ContestantScore(
            contestant_id=contestant_id,
            score=quantize(score),
            type_means={t: quantize(m) for t, m in means.items()},
            type_counts={t: len(v) for t, v in by_type.items()},
        )
    return result
