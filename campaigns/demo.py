"""The demo campaign: the three-stage 满意100 campaign with stage 1 open to all demo staff.

``manage.py seed_demo`` calls ``seed_demo_campaign`` after ``staff.demo`` has loaded the
directory. It goes through the same services an HR admin's clicks do (template, rules,
enrolment, opening), so the audit log of the demo reads like a real campaign's.

Idempotent: the campaign is found by its name; a second run creates nothing and leaves
whatever state an admin has moved the demo campaign to since.
"""

import datetime

from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services.campaign_template import create_campaign_from_template
from campaigns.services.contestants import enrol_contestants
from campaigns.services.rules import update_stage_rules
from campaigns.services.stages import open_stage
from staff.services import Actor

DEMO_CAMPAIGN_NAME = "2026年度满意100服务明星评选"

# Stage windows relative to seeding time: stage 1 has run for three weeks (the demo votes,
# ``voting.demo``, fill its last 20 days) and has a month to go; the live contest is one
# evening a week later, the final public vote two weeks after it.
STAGE_WINDOWS: dict[int, tuple[datetime.timedelta, datetime.timedelta]] = {
    1: (datetime.timedelta(days=-21), datetime.timedelta(days=30)),
    2: (datetime.timedelta(days=37, hours=19), datetime.timedelta(days=37, hours=22)),
    3: (datetime.timedelta(days=45), datetime.timedelta(days=59)),
}


@transaction.atomic
def seed_demo_campaign(*, actor: Actor = None) -> Campaign:
    """Create the demo campaign from the template, enrol every active staff member in stage
    1 and open it; return the campaign (the existing one if it is already there).

    Writes the campaign, its three stages (times set through ``update_stage_rules``), one
    contestant row per active staff member (bulk insert) and the audit events of each
    service. Stage 1 is left a draft when there are no active staff (a stage without
    contestants cannot open). All or nothing: one transaction.
    """
    existing = Campaign.objects.filter(name=DEMO_CAMPAIGN_NAME).order_by("pk").first()
    if existing is not None:
        return existing
    now = timezone.now()
    campaign = create_campaign_from_template(
        name=DEMO_CAMPAIGN_NAME,
        actor=actor,
        starts_on=timezone.localdate(now + STAGE_WINDOWS[1][0]),
    )
    stages = list(campaign.stages.order_by("order"))
    for stage in stages:
        opens, closes = STAGE_WINDOWS[stage.order]
        update_stage_rules(
            stage, changes={"opens_at": now + opens, "closes_at": now + closes}, actor=actor
        )
    first = stages[0]
    if enrol_contestants(first, actor=actor):
        open_stage(first, actor=actor)
    campaign.refresh_from_db()  # opening stage 1 made the campaign running
    return campaign
