"""Factories for the live contest. Panels, rubrics and scores are normally made through
``evaluations.services``; these build rows directly for tests that need a given state."""

import uuid

import factory

from campaigns.choices import ComponentKey, StageKind
from evaluations.choices import JudgeType
from evaluations.models import Criterion, Judge, Panel
from tests.factories.campaigns import StageFactory
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
