"""The live-contest demo: a second demo campaign whose one stage is a live skills contest.

``manage.py seed_demo`` sends ``campaigns.signals.demo_campaign_seeded``; the receiver
(``evaluations.receivers``) calls ``seed_live_contest``. It creates, through the same
services an HR admin's clicks use: 23 contestants spread over the demo directory in a
running order, the stage opened at once, a panel of the three demo expert judges
(``judge1``-``judge3``) and four public judges without passwords, the rubric 业务技能 40 /
服务规范 30 / 应变沟通 30, a sign-in link per judge, and an evening already under way:
three contestants scored and revealed, the fourth scored and closed, the fifth on stage
with two scores in. ``judge3`` belongs to the fifth contestant's branch, so the progress
grid shows a recusal.

Idempotent: found by its campaign name, a second run creates nothing.
"""

# Chinese demo text uses full-width punctuation on purpose.
# ruff: noqa: RUF001

import datetime
import random
import uuid
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.choices import ComponentKey, StageKind, Visibility
from campaigns.models import Campaign, Contestant, Stage
from campaigns.services.contestants import enrol_contestants
from campaigns.services.stages import open_stage
from evaluations import selectors
from evaluations.choices import JudgeType
from evaluations.models import Judge, Panel, SignInLink
from evaluations.services import links, live, scores, setup
from staff.models import StaffMember

LIVE_DEMO_NAME = "2026年度服务技能现场大赛（演示）"
CONTESTANTS = 23
RUBRIC = (
    ("业务技能", 40, "业务知识与办理的准确、熟练"),
    ("服务规范", 30, "礼仪、用语与流程规范"),
    ("应变沟通", 30, "情景应对与沟通表达"),
)
EXPERTS = (
    ("judge1", "专家评委 林教授"),
    ("judge2", "专家评委 王总监"),
    ("judge3", "专家评委 赵经理"),
)
PUBLIC = (
    ("pjudge1", "大众评委 张女士"),
    ("pjudge2", "大众评委 李先生"),
    ("pjudge3", "大众评委 陈女士"),
    ("pjudge4", "大众评委 刘先生"),
)
SEED = 20_260_002


@dataclass
class LiveDemoSummary:
    """What the command prints: the pages of the live contest and the judges' links."""

    stage_id: int
    base_url: str
    links: list[tuple[str, str]] = field(default_factory=list)  # (judge, path)

    def __str__(self) -> str:
        base = self.base_url.rstrip("/")
        pages = [
            (_("Judge tablet:"), reverse("evaluations:tablet-home")),
            (_("Host page:"), reverse("evaluations:host", args=[self.stage_id])),
            (_("Venue screen:"), reverse("evaluations:screen", args=[self.stage_id])),
        ]
        lines = [
            _("Live contest: %(n)d contestants, %(j)d judges.")
            % {"n": CONTESTANTS, "j": len(self.links)},
            *(f"  {label} {base}{path}" for label, path in pages),
        ]
        lines += [f"  {name}: {base}{path}" for name, path in self.links]
        return "\n".join(lines)


def _summary(panel: Panel, base_url: str) -> LiveDemoSummary:
    summary = LiveDemoSummary(stage_id=panel.stage_id, base_url=base_url)
    for link in (
        SignInLink.objects.filter(panel=panel, revoked_at__isnull=True)
        .select_related("judge")
        .order_by("judge__judge_type", "judge_id", "pk")
    ):
        path = reverse("evaluations:link-sign-in", args=[links.link_token(link)])
        summary.links.append((link.judge.display_name, path))
    return summary


def _judges(contestant_unit_path: str) -> list[Judge]:
    users = get_user_model().objects
    judges = []
    for username, name in EXPERTS:
        user, _created = users.get_or_create(
            username=username, defaults={"email": f"{username}@demo.service-star.invalid"}
        )
        judges.append(
            setup.register_judge(user, judge_type=JudgeType.EXPERT, display_name=name, actor=None)
        )
    # judge3 belongs to the branch of the fifth contestant: a recusal to see in the grid.
    from staff.models import OrgUnit  # noqa: PLC0415 -- only the demo needs the tree here

    branch_code = contestant_unit_path.split("/")[1]
    judges[2].unit = OrgUnit.objects.get(code=branch_code)
    judges[2].save(update_fields=["unit"])
    for username, name in PUBLIC:
        existing = Judge.objects.filter(user__username=username).first()
        judges.append(
            existing or setup.create_public_judge(username=username, display_name=name, actor=None)
        )
    return judges


def _stage() -> Stage:
    now = timezone.now()
    campaign = Campaign.objects.create(
        name=LIVE_DEMO_NAME,
        description="服务技能现场大赛：专家评委与大众评委现场打分，观众手机投票。",
        starts_on=timezone.localdate(now),
        ends_on=timezone.localdate(now) + datetime.timedelta(days=7),
    )
    return Stage.objects.create(
        campaign=campaign,
        order=1,
        name="现场技能大赛（23 进 10）",
        kind=StageKind.LIVE_CONTEST,
        quota=10,
        reserve_count=3,
        weights={ComponentKey.JUDGE_SCORE: "0.7", ComponentKey.AUDIENCE_VOTES: "0.3"},
        tie_break_order=[ComponentKey.JUDGE_SCORE, ComponentKey.AUDIENCE_VOTES],
        votes_per_stage=3,
        votes_per_candidate=1,
        visibility=Visibility.RANKS_ONLY,
        opens_at=now - datetime.timedelta(minutes=5),
        closes_at=now + datetime.timedelta(days=7),
    )


def _score_some(panel: Panel, judges: list[Judge], order: list[Contestant]) -> None:
    rng = random.Random(SEED)  # noqa: S311 -- deterministic demo data, not secrets
    criteria = list(panel.criteria.order_by("order"))
    recused = selectors.recused_pairs(panel)
    plan = [(c, judges) for c in order[:4]] + [(order[4], judges[:2])]
    for contestant, who in plan:
        for judge in who:
            if (judge.pk, contestant.pk) in recused:
                continue
            points = {
                str(c.pk): rng.randint(c.max_points * 6 // 10, c.max_points) for c in criteria
            }
            scores.submit_score(
                panel,
                judge=judge,
                contestant_id=contestant.pk,
                points=points,
                idempotency_key=uuid.UUID(int=rng.getrandbits(128)),
            )
    for contestant in order[:3]:
        live.put_on_stage(panel, contestant_id=contestant.pk, actor=None)
        live.reveal_score(panel, contestant_id=contestant.pk, actor=None)
    live.put_on_stage(panel, contestant_id=order[3].pk, actor=None)
    live.close_scoring(panel, contestant_id=order[3].pk, actor=None)
    live.put_on_stage(panel, contestant_id=order[4].pk, actor=None)


@transaction.atomic
def seed_live_contest(*, base_url: str = "http://127.0.0.1:8000") -> LiveDemoSummary | None:
    """Create the live-contest demo (see the module docstring); return what to print, or
    ``None`` when the directory has fewer than 23 active staff."""
    existing = Panel.objects.filter(stage__campaign__name=LIVE_DEMO_NAME).first()
    if existing is not None:
        return _summary(existing, base_url)
    staff_ids = list(StaffMember.objects.active().order_by("pk").values_list("pk", flat=True))
    if len(staff_ids) < CONTESTANTS:
        return None
    step = len(staff_ids) // CONTESTANTS
    chosen = staff_ids[::step][:CONTESTANTS]
    stage = _stage()
    enrol_contestants(stage, staff_ids=chosen, actor=None)
    order = list(
        Contestant.objects.filter(stage=stage).select_related("staff_member__unit").order_by("pk")
    )
    # Running order: a fixed shuffle, so the evening does not follow employee numbers.
    random.Random(SEED).shuffle(order)  # noqa: S311 -- deterministic demo order
    for number, contestant in enumerate(order, start=1):
        contestant.running_order = number
    Contestant.objects.bulk_update(order, ["running_order"])
    open_stage(stage, actor=None)
    panel = setup.create_panel(stage, actor=None)
    for index, (name, max_points, description) in enumerate(RUBRIC):
        setup.save_criterion(
            panel,
            name=name,
            max_points=max_points,
            description=description,
            order=index,
            actor=None,
            reason="演示",
        )
    judges = _judges(order[4].staff_member.unit.path)
    setup.set_panel_judges(panel, judges=judges, actor=None)
    for judge in judges:
        links.issue_sign_in_link(panel, judge=judge, actor=None)
    _score_some(panel, judges, order)
    return _summary(panel, base_url)
