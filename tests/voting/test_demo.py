"""Demo votes: ``voting.demo.seeding.seed_demo_votes`` and its part of ``manage.py seed_demo``."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone, translation

from campaigns.choices import StageStatus
from campaigns.demo import DEMO_CAMPAIGN_NAME, seed_demo_campaign
from campaigns.models import Campaign, Stage
from staff.demo import seed_demo_directory
from staff.models import AuditEvent, StaffMember
from staff.phones import hash_phone
from tests.factories.staff import StaffMemberFactory
from voting.choices import RECEIPT_ALPHABET, AuditAction, VoteChannel, VoteStatus
from voting.counting.recount import recount_stage
from voting.counting.tallies import counted_votes
from voting.demo.generation import (
    CLUSTER_VOTES,
    INVALID_REASON,
    demo_receipt_code,
    demo_voter_phone,
)
from voting.demo.seeding import demo_votes_in_stage, seed_demo_votes
from voting.fraud.patterns import PATTERN_IP, PATTERN_SEQUENCE, suspicious_votes, top_clusters
from voting.ledger.receipts import normalize_receipt_code
from voting.ledger.selectors import vote_by_receipt
from voting.models import LeaderboardSnapshot, RecountCheck, Tally, TallyEvent, Vote, Voter

pytestmark = pytest.mark.django_db

VOTES = 3000


@pytest.fixture
def stage() -> Stage:
    """Stage 1 of the demo campaign, open for three weeks, with 200 demo staff in it."""
    seed_demo_directory(staff_count=200)
    return seed_demo_campaign().stages.get(order=1)


@pytest.fixture
def seeded(stage):
    """``stage`` after one seed of ``VOTES`` demo votes, and the summary."""
    return stage, seed_demo_votes(stage, votes=VOTES)


def test_seed_demo_votes_writes_exactly_the_votes_asked_for(seeded):
    stage, summary = seeded

    votes = Vote.objects.filter(stage=stage)
    assert votes.count() == VOTES == demo_votes_in_stage(stage)
    assert (summary.created, summary.existing, summary.total) == (VOTES, 0, VOTES)
    voters = set(votes.values_list("voter_hash", flat=True))
    assert summary.voters == len(voters)
    # About 1.43 votes a voter.
    assert VOTES / 1.6 < len(voters) < VOTES / 1.3
    assert set(Voter.objects.values_list("voter_hash", flat=True)) == voters
    assert TallyEvent.objects.count() == 0


def test_seed_demo_votes_never_uses_a_staff_phone(stage):
    # A staff member with the number the generator would give its first voter.
    StaffMemberFactory(phone=demo_voter_phone(0))
    staff_hashes = set(StaffMember.objects.values_list("phone_hash", flat=True))
    assert hash_phone(demo_voter_phone(0)) in staff_hashes

    seed_demo_votes(stage, votes=VOTES)

    voter_hashes = set(Vote.objects.values_list("voter_hash", flat=True))
    assert voter_hashes.isdisjoint(staff_hashes)


def test_seed_demo_votes_respect_the_stage_limits(seeded):
    stage, _summary = seeded
    assert (stage.votes_per_day, stage.votes_per_candidate) == (1, 1)
    votes = Vote.objects.filter(stage=stage).order_by()

    twice_a_day = (
        votes.values("voter_hash", "local_day").annotate(n=Count("pk")).filter(n__gt=1).count()
    )
    twice_for_one = (
        votes.values("voter_hash", "contestant_id").annotate(n=Count("pk")).filter(n__gt=1).count()
    )

    assert (twice_a_day, twice_for_one) == (0, 0)


def test_seed_demo_votes_fall_in_the_window_with_a_consistent_local_day(seeded):
    stage, _summary = seeded
    zone = ZoneInfo("Asia/Shanghai")
    now = timezone.now()
    rows = list(Vote.objects.filter(stage=stage).values_list("cast_at", "local_day"))

    assert all(cast_at.astimezone(zone).date() == day for cast_at, day in rows)
    assert all(stage.opens_at <= cast_at < now for cast_at, _day in rows)
    days = {day for _cast_at, day in rows}
    assert 18 <= len(days) <= 21
    # Daytime peaks: the busiest local hours are not at night.
    hours = [cast_at.astimezone(zone).hour for cast_at, _day in rows]
    assert sum(h in range(9, 22) for h in hours) > 0.8 * len(hours)


def test_seed_demo_votes_of_stage_1_are_sms_only_as_its_rules_weight(seeded):
    stage, _summary = seeded
    votes = Vote.objects.filter(stage=stage)

    assert stage.weights == {"satisfaction": "0.6", "sms_votes": "0.4"}
    assert set(votes.values_list("channel", flat=True).distinct()) == {VoteChannel.SMS}
    assert not votes.exclude(ip_hash="").exists()


def test_seed_demo_votes_split_channels_where_web_and_sms_count(stage):
    Stage.objects.filter(pk=stage.pk).update(weights={"web_votes": "0.5", "sms_votes": "0.5"})
    stage.refresh_from_db()

    seed_demo_votes(stage, votes=VOTES)

    votes = Vote.objects.filter(stage=stage)
    sms = votes.filter(channel=VoteChannel.SMS).count()
    assert 0.7 * VOTES < sms < 0.9 * VOTES
    assert votes.exclude(channel__in=[VoteChannel.SMS, VoteChannel.WEB]).count() == 0
    assert not votes.filter(channel=VoteChannel.SMS).exclude(ip_hash="").exists()
    assert not votes.filter(channel=VoteChannel.WEB, ip_hash="").exists()


def test_seed_demo_votes_skew_candidates(seeded):
    stage, _summary = seeded
    votes = Vote.objects.filter(stage=stage)

    per_candidate = sorted(
        votes.values("contestant_id").annotate(n=Count("pk")).values_list("n", flat=True),
        reverse=True,
    )
    # A long tail: the top tenth of the candidates take about half the votes.
    assert sum(per_candidate[:20]) > 0.35 * VOTES
    assert per_candidate[0] > 10 * per_candidate[len(per_candidate) // 2]


def test_seed_demo_votes_have_unique_demo_receipt_codes(seeded):
    stage, _summary = seeded
    codes = list(Vote.objects.filter(stage=stage).values_list("receipt_code", flat=True))

    assert len(set(codes)) == len(codes)
    assert all(code.startswith("DEM0") and len(code) == 10 for code in codes)
    assert all(set(code) <= set(RECEIPT_ALPHABET) for code in codes)
    assert all(normalize_receipt_code(code) == code for code in codes)
    # Typed the way a person reads it, with an O.
    assert vote_by_receipt("demo000000").receipt_code == demo_receipt_code(0)


def test_seed_demo_votes_tallies_equal_the_recount_and_a_board_is_published(seeded):
    stage, summary = seeded
    valid = Vote.objects.filter(stage=stage, status=VoteStatus.VALID)
    ledger = {
        (row["contestant_id"], row["channel"]): row["n"]
        for row in valid.values("contestant_id", "channel").annotate(n=Count("pk")).order_by()
    }

    assert summary.recount is not None
    assert summary.recount.ok
    assert summary.recount.valid_votes == valid.count()
    assert counted_votes(stage) == ledger
    assert sum(Tally.objects.filter(stage=stage).values_list("votes", flat=True)) == valid.count()
    snapshot = LeaderboardSnapshot.objects.get(stage=stage)
    assert summary.snapshot_id == snapshot.pk
    assert snapshot.valid_votes == valid.count()
    assert RecountCheck.objects.filter(stage=stage, ok=True).count() == 1
    report = recount_stage(stage)
    assert (report.ok, report.snapshot_current) == (True, True)


def test_seed_demo_votes_invalidate_a_small_share_with_an_audited_reason(seeded):
    stage, summary = seeded
    invalidated = Vote.objects.filter(stage=stage, status=VoteStatus.INVALIDATED)

    assert summary.invalidated == invalidated.count()
    assert 0 < invalidated.count() < 0.015 * VOTES
    assert set(invalidated.values_list("invalidated_reason", flat=True)) == {INVALID_REASON}
    assert not invalidated.filter(invalidated_at__isnull=True).exists()
    event = AuditEvent.objects.get(action=AuditAction.VOTES_INVALIDATED)
    assert (event.reason, event.data["count"], event.campaign_id) == (
        INVALID_REASON,
        invalidated.count(),
        stage.campaign_id,
    )
    assert sorted(event.data["vote_ids"]) == sorted(invalidated.values_list("pk", flat=True))


def test_seed_demo_votes_of_stage_1_plant_one_sms_cluster_the_sequence_pattern_finds(seeded):
    stage, summary = seeded
    votes = Vote.objects.filter(stage=stage)

    suspicious = suspicious_votes(votes, PATTERN_SEQUENCE)

    assert summary.cluster_votes == CLUSTER_VOTES
    planted = votes.filter(phone_masked__startswith="170****")
    assert set(suspicious.values_list("pk", flat=True)) >= set(planted.values_list("pk", flat=True))
    assert planted.count() == CLUSTER_VOTES
    assert set(planted.values_list("channel", flat=True)) == {VoteChannel.SMS}
    assert planted.values("contestant_id").distinct().count() == 1
    clusters = [c for c in top_clusters(stage.pk) if c.pattern == PATTERN_SEQUENCE]
    assert sum(c.votes for c in clusters) >= CLUSTER_VOTES


def test_seed_demo_votes_plant_one_cluster_the_same_ip_pattern_finds_where_web_counts(stage):
    Stage.objects.filter(pk=stage.pk).update(weights={"web_votes": "0.5", "sms_votes": "0.5"})
    stage.refresh_from_db()
    summary = seed_demo_votes(stage, votes=VOTES)
    votes = Vote.objects.filter(stage=stage)

    suspicious = suspicious_votes(votes, PATTERN_IP)

    assert summary.cluster_votes == CLUSTER_VOTES
    assert suspicious.count() == CLUSTER_VOTES
    assert suspicious.values("contestant_id").distinct().count() == 1
    assert suspicious.values("voter_hash").distinct().count() == CLUSTER_VOTES
    times = list(suspicious.values_list("cast_at", flat=True))
    assert max(times) - min(times) < dt.timedelta(minutes=10)
    clusters = [c for c in top_clusters(stage.pk) if c.pattern == PATTERN_IP]
    assert [c.votes for c in clusters] == [CLUSTER_VOTES]


def test_seed_demo_votes_twice_adds_nothing(seeded):
    stage, _summary = seeded
    counts = (
        Vote.objects.count(),
        Voter.objects.count(),
        LeaderboardSnapshot.objects.count(),
        RecountCheck.objects.count(),
    )

    again = seed_demo_votes(stage, votes=VOTES)

    assert (again.created, again.existing) == (0, VOTES)
    assert str(again) == f"Demo votes: {VOTES} already there, nothing to add."
    assert (
        Vote.objects.count(),
        Voter.objects.count(),
        LeaderboardSnapshot.objects.count(),
        RecountCheck.objects.count(),
    ) == counts


def test_seed_demo_votes_tops_up_with_fresh_voters(seeded):
    stage, _summary = seeded
    before = set(Vote.objects.values_list("voter_hash", flat=True))

    more = seed_demo_votes(stage, votes=VOTES + 500)

    assert (more.created, more.total, more.cluster_votes) == (500, VOTES + 500, 0)
    new = Vote.objects.filter(receipt_code__gte=demo_receipt_code(VOTES))
    assert new.count() == 500
    assert set(new.values_list("voter_hash", flat=True)).isdisjoint(before)
    assert more.recount is not None
    assert more.recount.ok
    assert LeaderboardSnapshot.objects.filter(stage=stage).count() == 2


def test_seed_demo_votes_leave_a_stage_that_is_not_open_alone(stage):
    Stage.objects.filter(pk=stage.pk).update(status=StageStatus.CLOSED)
    stage.refresh_from_db()

    summary = seed_demo_votes(stage, votes=VOTES)

    assert (summary.created, Vote.objects.count()) == (0, 0)
    assert str(summary) == "Demo votes: none added (the stage is not open)."


def test_seed_demo_votes_report_progress(stage):
    calls = []

    seed_demo_votes(stage, votes=VOTES, progress=lambda *call: calls.append(call))

    labels = list(dict.fromkeys(label for label, _done, _total in calls))
    assert labels == [
        "Demo votes: generating",
        "Demo votes: writing",
        "Demo votes: tallies, voters, board, recount",
    ]
    assert ("Demo votes: writing", VOTES, VOTES) in calls
    assert calls[-1] == ("Demo votes: tallies, voters, board, recount", 4, 4)


def test_seed_demo_votes_refuses_a_negative_count(stage):
    with pytest.raises(ValueError, match="negative"):
        seed_demo_votes(stage, votes=-1)


def _seed_demo(*args: str, settings) -> tuple[str, str]:
    settings.DEBUG = True
    out, err = io.StringIO(), io.StringIO()
    with translation.override("en"):
        call_command("seed_demo", "--staff", "50", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_seed_demo_command_seeds_votes_and_prints_the_summary(settings):
    out, _err = _seed_demo("--votes", "2000", "--quiet", settings=settings)

    # seed_demo also creates the live-contest demo campaign (evaluations.demo).
    stage = Campaign.objects.get(name=DEMO_CAMPAIGN_NAME).stages.get(order=1)
    lines = out.splitlines()
    assert lines[2].startswith("Demo votes: 2000 new (2000 in the stage) from ")
    assert "60 in a planted suspicious cluster; leaderboard published; recount OK" in lines[2]
    # evaluations answers the same signal: the live contest and service measurement.
    assert any(line.startswith("Service measurement: ") for line in lines[3:])
    assert "Demo logins: 5 accounts." in lines[3:]
    assert demo_votes_in_stage(stage) == 2000
    # Then customers the candidates served (evaluations' demo transactions) vote for them,
    # through the vote path, which marks their votes served.
    served = Vote.objects.filter(stage=stage, is_served=True).count()
    assert served > 0
    assert f"Served customers' votes: {served} cast (0 already there)." in lines
    assert Vote.objects.count() == 2000 + served

    again, _err = _seed_demo("--votes", "2000", "--quiet", settings=settings)

    assert again.splitlines()[2] == "Demo votes: 2000 already there, nothing to add."
    assert f"Served customers' votes: 0 cast ({served} already there)." in again.splitlines()
    assert Vote.objects.count() == 2000 + served


def test_seed_demo_command_draws_the_vote_bars_on_stderr(settings):
    out, err = _seed_demo("--votes", "1000", settings=settings)

    assert "Demo votes: generating: 100%" in err
    assert "Demo votes: writing: 100%" in err
    assert "1000/1000" in err
    assert "%|" not in out


def test_seed_demo_command_without_votes_seeds_none(settings):
    out, _err = _seed_demo("--votes", "0", "--quiet", settings=settings)

    assert Vote.objects.count() == 0
    assert "Demo votes" not in out
