"""Factories for the campaigns app. Statuses other than draft are traits that set the
matching time fields; moving a stage *through* the state machine is the services' job."""

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from campaigns.choices import ComponentKey, ContestantStatus, ResultOutcome, StageKind, StageStatus
from campaigns.models import Campaign, Contestant, Stage, StageResult, TieResolution
from tests.factories.staff import StaffMemberFactory


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"满意100服务明星 {n}")
    starts_on = dt.date(2026, 3, 1)
    ends_on = dt.date(2026, 10, 31)


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    campaign = factory.SubFactory(CampaignFactory)
    order = factory.Sequence(lambda n: n + 1)
    name = factory.LazyAttribute(lambda o: f"Stage {o.order}")
    kind = StageKind.CUSTOMER_VOTE
    quota = 2
    weights = factory.LazyFunction(
        lambda: {ComponentKey.WEB_VOTES: "0.5", ComponentKey.SMS_VOTES: "0.5"}
    )
    tie_break_order = factory.LazyFunction(lambda: [ComponentKey.SMS_VOTES])
    reserve_count = 2

    class Params:
        timed = factory.Trait(
            opens_at=factory.LazyFunction(lambda: timezone.now() + dt.timedelta(hours=1)),
            closes_at=factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=7)),
        )
        scheduled = factory.Trait(timed=True, status=StageStatus.SCHEDULED)
        open = factory.Trait(status=StageStatus.OPEN, opened_at=factory.LazyFunction(timezone.now))
        # Weights every vote channel (web, SMS, audience): a stage takes votes only by the
        # channels its rules weight.
        every_channel = factory.Trait(
            weights=factory.LazyFunction(
                lambda: {
                    ComponentKey.WEB_VOTES: "0.4",
                    ComponentKey.SMS_VOTES: "0.4",
                    ComponentKey.AUDIENCE_VOTES: "0.2",
                }
            )
        )
        closed = factory.Trait(
            status=StageStatus.CLOSED,
            opened_at=factory.LazyFunction(timezone.now),
            closed_at=factory.LazyFunction(timezone.now),
        )
        finalized = factory.Trait(
            status=StageStatus.FINALIZED,
            opened_at=factory.LazyFunction(timezone.now),
            closed_at=factory.LazyFunction(timezone.now),
            previewed_at=factory.LazyFunction(timezone.now),
            finalized_at=factory.LazyFunction(timezone.now),
        )


class ContestantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contestant

    stage = factory.SubFactory(StageFactory)
    staff_member = factory.SubFactory(StaffMemberFactory)
    status = ContestantStatus.IN


class StageResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StageResult

    stage = factory.SubFactory(StageFactory)
    contestant = factory.SubFactory(ContestantFactory, stage=factory.SelfAttribute("..stage"))
    position_code = factory.LazyAttribute(lambda o: o.contestant.staff_member.position.code)
    total = Decimal("50.0000")
    rank = 1
    position_rank = 1
    outcome = ResultOutcome.QUALIFIED
    computed_at = factory.LazyFunction(timezone.now)


class TieResolutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TieResolution

    stage = factory.SubFactory(StageFactory)
    tied_contestant_ids = factory.LazyFunction(list)
    places = 1
    reason = "Decided by the jury chair"
    decided_at = factory.LazyFunction(timezone.now)
