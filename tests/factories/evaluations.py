"""Factories for the live contest. Panels, rubrics and scores are normally made through
``evaluations.services``; these build rows directly for tests that need a given state."""

import uuid
from dataclasses import dataclass

import factory

from campaigns.choices import ComponentKey, StageKind
from campaigns.models import Contestant
from evaluations.choices import JudgeType
from evaluations.models import Criterion, Judge, Panel
from tests.factories.campaigns import ContestantFactory, StageFactory
from tests.factories.staff import UserFactory


class LiveStageFactory(StageFactory):
    kind = StageKind.LIVE_CONTEST
    weights = factory.LazyFunction(
        lambda: {ComponentKey.JUDGE_SCORE: "0.7", ComponentKey.AUDIENCE_VOTES: "0.3"}
    )
    tie_break_order = factory.LazyFunction(lambda: [ComponentKey.JUDGE_SCORE])


class JudgeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Judge

    user = factory.SubFactory(UserFactory)
    display_name = factory.Sequence(lambda n: f"评委{n}")
    judge_type = JudgeType.EXPERT

    class Params:
        public = factory.Trait(judge_type=JudgeType.PUBLIC)


class PanelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Panel

    stage = factory.SubFactory(LiveStageFactory)


class CriterionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Criterion

    panel = factory.SubFactory(PanelFactory)
    name = factory.Sequence(lambda n: f"标准{n}")
    max_points = 40


def new_key() -> uuid.UUID:
    return uuid.uuid4()


@dataclass
class Contest:
    panel: Panel
    criteria: list[Criterion]
    contestants: list[Contestant]
    experts: list[Judge]
    public: list[Judge]

    @property
    def judges(self) -> list[Judge]:
        return self.experts + self.public

    def points(self, *values: int) -> dict[str, int]:
        return {str(c.pk): v for c, v in zip(self.criteria, values, strict=True)}


def build_contest() -> Contest:
    """An open live-contest stage with four contestants in running order, a panel with the
    rubric 40/30/30, three expert and two public judges."""
    stage = LiveStageFactory(open=True, name="现场大赛")
    panel = PanelFactory(stage=stage)
    criteria = [
        CriterionFactory(panel=panel, name="业务技能", max_points=40, order=0),
        CriterionFactory(panel=panel, name="服务规范", max_points=30, order=1),
        CriterionFactory(panel=panel, name="应变沟通", max_points=30, order=2),
    ]
    contestants = [ContestantFactory(stage=stage, running_order=n) for n in range(1, 5)]
    experts = [JudgeFactory() for _ in range(3)]
    public = [JudgeFactory(public=True) for _ in range(2)]
    panel.judges.set(experts + public)
    return Contest(panel, criteria, contestants, experts, public)
