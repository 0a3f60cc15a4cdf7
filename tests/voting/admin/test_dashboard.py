"""The stage dashboard in the admin: aggregates on planted votes, biggest movers,
staleness, and the "Recount now" path (confirmation, result, repair with a reason)."""

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse

from staff.models import AuditEvent
from staff.phones import parse_phone
from tests.factories.campaigns import ContestantFactory, StageFactory
from tests.factories.staff import StaffMemberFactory, UserFactory
from tests.factories.voting import VoteFactory
from voting.admin.dashboard import stage_dashboard
from voting.choices import AuditAction, VoteChannel, VoteStatus
from voting.counting.leaderboards import leaderboard_for_stage
from voting.counting.publication import publish_stage_leaderboard
from voting.counting.tallies import fold_tally_events
from voting.ledger.services import cast_vote
from voting.models import LeaderboardSnapshot, RecountCheck, Tally, Vote

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 20, 12, 30, tzinfo=SHANGHAI)
DASHBOARD = "admin:voting_stage_dashboard"
_numbers = iter(range(10**6))


def at(hour: int, minute: int, day: int = 20) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def planted(db):
    """Alice: 3 web votes at 11:10 (voters A, B, C) and 1 SMS at 09:59 (A again). Bob: 2
    audience votes at 12:05 (D, E), 1 invalidated web vote at 12:06 (F), and 1 web vote
    49 hours ago (G), outside the chart."""
    stage = StageFactory(open=True)
    alice = ContestantFactory(stage=stage, staff_member=StaffMemberFactory(name="Alice"))
    bob = ContestantFactory(stage=stage, staff_member=StaffMemberFactory(name="Bob"))
    phones = {name: f"1350000000{i}" for i, name in enumerate("ABCDEFG")}
    for name in "ABC":
        VoteFactory(stage=stage, contestant=alice, phone=phones[name], cast_at=at(11, 10))
    VoteFactory(stage=stage, contestant=alice, phone=phones["A"], cast_at=at(9, 59), channel="sms")
    for name in "DE":
        VoteFactory(
            stage=stage, contestant=bob, phone=phones[name], cast_at=at(12, 5), channel="audience"
        )
    VoteFactory(stage=stage, contestant=bob, phone=phones["F"], cast_at=at(12, 6), invalidated=True)
    VoteFactory(stage=stage, contestant=bob, phone=phones["G"], cast_at=at(11, 30, day=18))
    return stage


def test_dashboard_aggregates_are_exact_on_planted_votes(planted):
    dashboard = stage_dashboard(planted, now=NOW)

    assert (dashboard.total, dashboard.valid, dashboard.invalid) == (8, 7, 1)
    assert dashboard.invalid_percent == 12.5
    assert dashboard.unique_voters == 6
    assert [(c.channel, c.votes, c.percent) for c in dashboard.channels] == [
        ("web", 4, 57.1),
        ("sms", 1, 14.3),
        ("audience", 2, 28.6),
    ]
    assert len(dashboard.hours) == 48
    assert dashboard.hours[0].hour == at(13, 0, day=18)
    assert dashboard.hours[-1].hour == at(12, 0)
    assert [
        (bar.hour.astimezone(SHANGHAI).strftime("%d %H"), bar.valid, bar.invalid)
        for bar in dashboard.hours
        if bar.valid or bar.invalid
    ] == [("20 09", 1, 0), ("20 11", 3, 0), ("20 12", 2, 1)]
    assert dashboard.hour_max == 3
    assert dashboard.hours[-2].height == 180.0


def test_dashboard_page_shows_the_aggregates(planted, hr):
    with time_machine.travel(NOW, tick=False):
        response = hr.get(reverse(DASHBOARD), {"stage": planted.pk})

    assert response.status_code == 200
    text = response.text
    assert re.search(r'id="dash-valid">7<', text)
    assert re.search(r'id="dash-voters">6<', text)
    assert re.search(r'id="dash-invalid">1</strong> <span class="dashboard-sub">\(12.5%\)', text)
    assert '<tr class="row-web"><td><span class="swatch channel-web"></span>Web</td>' in text
    assert text.count("<rect x=") == 3
    assert "This stage has not been recounted yet." in text
    assert 'id="recount-now"' in text


def test_dashboard_without_a_stage_shows_the_picker(planted, hr):
    response = hr.get(reverse(DASHBOARD))

    assert response.status_code == 200
    assert f'<option value="{planted.pk}">' in response.text
    assert "dash-valid" not in response.text


@pytest.mark.parametrize("contestants", [1, 3])
def test_dashboard_query_count_does_not_grow_with_the_stage(
    hr, contestants, django_assert_num_queries
):
    stage = StageFactory(open=True)
    for _ in range(contestants):
        VoteFactory(stage=stage, contestant=ContestantFactory(stage=stage))
    publish_stage_leaderboard(stage)
    url = reverse(DASHBOARD)

    # session, user, stages, totals, hours, latest board, earlier board, last recount
    # (+ 2: an HR admin's own and group permissions, read once per request)
    with django_assert_num_queries(10):
        response = hr.get(url, {"stage": stage.pk})

    assert response.status_code == 200


def _cast(stage, contestant, times=1):
    for _ in range(times):
        phone = parse_phone(f"195{next(_numbers):08d}")
        cast_vote(
            stage,
            contestant=contestant,
            voter_hash=phone.hash,
            phone_masked=phone.masked,
            channel=VoteChannel.WEB,
        )


@pytest.fixture
def counted(voting):
    """The ``voting`` stage with Alice 2 votes, Bob 1, folded and published."""
    _cast(voting.stage, voting.alice, times=2)
    _cast(voting.stage, voting.bob)
    fold_tally_events()
    publish_stage_leaderboard(voting.stage)
    return voting


def test_biggest_movers_compare_with_the_board_an_hour_earlier(counted, hr):
    first = LeaderboardSnapshot.objects.get(stage=counted.stage)
    LeaderboardSnapshot.objects.filter(pk=first.pk).update(
        published_at=first.published_at - dt.timedelta(hours=2)
    )
    _cast(counted.stage, counted.bob, times=2)
    publish_stage_leaderboard(counted.stage)

    dashboard = stage_dashboard(counted.stage, now=first.published_at)
    response = hr.get(reverse(DASHBOARD), {"stage": counted.stage.pk})

    assert dashboard.earlier.pk == first.pk
    assert [(m.employee_no, m.before, m.after, m.change) for m in dashboard.movers] == [
        ("5678", 2, 1, 1),
        ("1234", 1, 2, -1),
    ]
    assert "▲ +1" in response.text
    assert "▼ -1" in response.text


def test_dashboard_shows_a_stalled_publication(counted, hr):
    url = reverse(DASHBOARD)
    confirmed = leaderboard_for_stage(counted.stage.pk).checked_at

    with time_machine.travel(confirmed + dt.timedelta(seconds=2), tick=False):
        fresh = hr.get(url, {"stage": counted.stage.pk})
    with time_machine.travel(confirmed + dt.timedelta(minutes=5), tick=False):
        stalled = hr.get(url, {"stage": counted.stage.pk})

    assert 'id="dashboard-stale"' not in fresh.text
    assert "Publication has stalled: the board was last confirmed 300 s ago." in stalled.text


def test_dashboard_needs_the_right_to_view_votes(counted, client):
    user = UserFactory(is_staff=True)
    client.force_login(user)
    url = reverse(DASHBOARD)

    refused = client.get(url, {"stage": counted.stage.pk})
    user.user_permissions.add(Permission.objects.get(codename="view_vote"))
    allowed = client.get(url, {"stage": counted.stage.pk}, HTTP_ACCEPT_LANGUAGE="en")
    recount = client.post(
        reverse("admin:voting_stage_recount", args=[counted.stage.pk]), {"confirm": "1"}
    )

    assert refused.status_code == 403
    assert allowed.status_code == 200
    assert 'id="recount-now"' not in allowed.text
    assert recount.status_code == 403
    assert RecountCheck.objects.count() == 0


def test_recount_now_confirms_then_reports_all_equal(counted, hr):
    url = reverse("admin:voting_stage_recount", args=[counted.stage.pk])

    confirm = hr.post(url)
    result = hr.post(url, {"confirm": "1"})
    dashboard = hr.get(reverse(DASHBOARD), {"stage": counted.stage.pk})

    assert confirm.status_code == 200
    assert 'name="repair"' in confirm.text
    assert "All equal: 3 valid votes in the ledger" in result.text
    check = RecountCheck.objects.get(stage=counted.stage)
    assert (check.ok, check.repaired, check.valid_votes) == (True, False, 3)
    assert "all equal" in dashboard.text
    assert hr.get(url).status_code == 405


def _tamper(vote: Vote, contestant) -> None:
    """Move a counted vote to another candidate behind the services' back."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE voting_vote SET contestant_id = %s WHERE id = %s", [contestant.pk, vote.pk]
        )


def test_recount_now_lists_the_difference_of_a_tampered_vote(counted, hr):
    vote = Vote.objects.filter(contestant=counted.alice).first()
    _tamper(vote, counted.bob)
    url = reverse("admin:voting_stage_recount", args=[counted.stage.pk])

    result = hr.post(url, {"confirm": "1"})

    # Two tallies differ from the ledger, and the published board's digest no longer
    # matches the ledger's.
    assert "3 differences found." in result.text
    rows = re.findall(
        r'<tr class="difference-tally">\s*<td>tally</td><td>([^<]+)</td>', result.text
    )
    assert sorted(rows) == [
        f"{counted.alice.staff_member.name} (1234)",
        f"{counted.bob.staff_member.name} (5678)",
    ]
    assert result.text.count('<tr class="difference-snapshot">') == 1
    check = RecountCheck.objects.get(stage=counted.stage)
    assert check.ok is False
    assert {
        (d["contestant_id"], d["ledger"], d["tally"])
        for d in check.differences
        if d["kind"] == "tally"
    } == {(counted.alice.pk, 1, 2), (counted.bob.pk, 2, 1)}
    assert not AuditEvent.objects.filter(action=AuditAction.TALLY_REPAIRED).exists()


def test_repair_needs_a_reason_and_is_audited(counted, hr, admin_user):
    vote = Vote.objects.filter(contestant=counted.alice).first()
    _tamper(vote, counted.bob)
    url = reverse("admin:voting_stage_recount", args=[counted.stage.pk])

    refused = hr.post(url, {"confirm": "1", "repair": "on", "reason": "  "})
    tallies_after_refusal = dict(Tally.objects.values_list("contestant_id", "votes"))
    repaired = hr.post(url, {"confirm": "1", "repair": "on", "reason": "Ledger edited by DBA"})
    again = hr.post(url, {"confirm": "1"})

    assert "Give a reason to repair the tallies." in refused.text
    assert tallies_after_refusal == {counted.alice.pk: 2, counted.bob.pk: 1}
    assert "The tallies were repaired from the ledger" in repaired.text
    assert dict(Tally.objects.values_list("contestant_id", "votes")) == {
        counted.alice.pk: 1,
        counted.bob.pk: 2,
    }
    event = AuditEvent.objects.get(action=AuditAction.TALLY_REPAIRED)
    assert (event.actor_id, event.reason) == (admin_user.pk, "Ledger edited by DBA")
    # Tallies agree with the ledger again; the board is republished on the next tick.
    assert "All equal: 3 valid votes in the ledger and the tallies agree" in again.text
    assert list(
        RecountCheck.objects.filter(stage=counted.stage)
        .order_by("pk")
        .values_list("ok", "repaired")
    ) == [(False, True), (True, False)]
    assert Vote.objects.filter(status=VoteStatus.VALID, stage=counted.stage).count() == 3


def test_changelists_link_to_the_dashboard(counted, hr):
    pages = [
        reverse("admin:voting_vote_changelist"),
        reverse("admin:voting_leaderboardsnapshot_changelist"),
        reverse("admin:voting_recountcheck_changelist"),
    ]

    responses = [hr.get(page) for page in pages]

    assert [r.status_code for r in responses] == [200, 200, 200]
    for response in responses:
        assert f'href="{reverse(DASHBOARD)}" id="stage-dashboard"' in response.text
