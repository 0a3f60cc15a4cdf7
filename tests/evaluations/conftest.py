"""A small live contest: an open live-contest stage with four contestants in running order,
a panel with the rubric 40/30/30, three expert and two public judges."""

from dataclasses import dataclass

import pytest

from campaigns.models import Contestant
from evaluations.models import Criterion, Judge, Panel
from tests.factories.campaigns import ContestantFactory
from tests.factories.evaluations import (
    CriterionFactory,
    JudgeFactory,
    LiveStageFactory,
    PanelFactory,
)


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


@pytest.fixture
def contest(db) -> Contest:
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
