"""Recount: ledger against tallies, the digest chain, tampering, repair, the command."""

import pytest
from celery.schedules import crontab
from django.core.management import CommandError, call_command
from django.db import connection

from staff.audit import ReasonError
from staff.models import AuditEvent
from staff.phones import parse_phone
from tests.factories.staff import UserFactory
from voting.choices import AuditAction, VoteChannel
from voting.counting.publication import publish_stage_leaderboard
from voting.counting.recount import last_recount_for_stage, recount_stage
from voting.counting.tallies import fold_tally_events
from voting.ledger.corrections import invalidate_votes
from voting.ledger.services import cast_vote
from voting.models import LeaderboardSnapshot, RecountCheck, Tally

pytestmark = pytest.mark.django_db

_numbers = iter(range(10**6))


def cast(stage, contestant, channel=VoteChannel.WEB, times=1) -> list[int]:
    ids = []
    for _ in range(times):
        phone = parse_phone(f"196{next(_numbers):08d}")
        ids.append(
            cast_vote(
                stage,
                contestant=contestant,
                voter_hash=phone.hash,
                phone_masked=phone.masked,
                channel=channel,
            ).vote_id
        )
    return ids


def test_recount_is_ok_with_folded_and_pending_votes_and_is_stored(voting):
    ids = cast(voting.stage, voting.alice, times=3)
    cast(voting.stage, voting.bob, VoteChannel.SMS)
    fold_tally_events()
    invalidate_votes(ids[:1], actor=None, reason="Same IP block")  # pending -1
    cast(voting.stage, voting.bob)  # pending +1
    publish_stage_leaderboard(voting.stage)

    report = recount_stage(voting.stage)

    assert (report.ok, report.valid_votes, report.differences) == (True, 4, ())
    assert report.snapshot_current is True
    check = last_recount_for_stage(voting.stage)
    assert (check.pk, check.ok, check.valid_votes, check.differences) == (
        report.check_id,
        True,
        4,
        [],
    )


def test_a_tampered_counted_vote_is_detected_by_tallies_and_digest(voting):
    [vote_id, *_rest] = cast(voting.stage, voting.alice, times=3)
    cast(voting.stage, voting.bob, times=2)
    fold_tally_events()
    snapshot = publish_stage_leaderboard(voting.stage)
    with connection.cursor() as cursor:  # behind the services' back
        cursor.execute(
            "UPDATE voting_vote SET contestant_id = %s WHERE id = %s",
            [voting.bob.pk, vote_id],
        )

    report = recount_stage(voting.stage)

    assert report.ok is False
    tally_diffs = [d for d in report.differences if d["kind"] == "tally"]
    assert tally_diffs == [
        {"kind": "tally", "contestant_id": voting.alice.pk, "channel": "web",
         "ledger": 2, "tally": 3, "pending": 0},
        {"kind": "tally", "contestant_id": voting.bob.pk, "channel": "web",
         "ledger": 3, "tally": 2, "pending": 0},
    ]  # fmt: skip
    [snapshot_diff] = [d for d in report.differences if d["kind"] == "snapshot"]
    assert (snapshot_diff["snapshot_id"], snapshot_diff["stored"]) == (snapshot.pk, snapshot.digest)
    assert snapshot_diff["ledger"] != snapshot.digest
    assert last_recount_for_stage(voting.stage).ok is False


def test_an_edited_snapshot_breaks_the_chain(voting):
    cast(voting.stage, voting.alice)
    first = publish_stage_leaderboard(voting.stage)
    cast(voting.stage, voting.alice)
    publish_stage_leaderboard(voting.stage)
    LeaderboardSnapshot.objects.filter(pk=first.pk).update(counts={str(voting.bob.pk): {"web": 1}})

    report = recount_stage(voting.stage)

    assert report.ok is False
    assert list(report.differences) == [
        {"kind": "chain", "snapshot_id": first.pk, "problem": "digest"}
    ]


def test_a_snapshot_behind_an_open_stage_is_not_a_difference(voting):
    cast(voting.stage, voting.alice)
    publish_stage_leaderboard(voting.stage)
    cast(voting.stage, voting.alice)

    report = recount_stage(voting.stage)

    assert (report.ok, report.snapshot_current) == (True, False)


def test_repair_rewrites_tallies_and_audits_before_and_after(voting, admin_user):
    cast(voting.stage, voting.alice, times=2)
    fold_tally_events()
    Tally.objects.filter(contestant=voting.alice).update(votes=7)
    cast(voting.stage, voting.alice)  # pending while repairing

    report = recount_stage(
        voting.stage, repair=True, actor=admin_user, reason="drift after a restore"
    )
    fold_tally_events()
    after = recount_stage(voting.stage)

    assert (report.ok, report.repaired) == (False, True)
    assert Tally.objects.get(contestant=voting.alice).votes == 3
    assert after.ok is True
    event = AuditEvent.objects.get(action=AuditAction.TALLY_REPAIRED)
    assert (event.actor, event.reason, event.campaign_id, event.target_id) == (
        admin_user,
        "drift after a restore",
        voting.stage.campaign_id,
        str(voting.stage.pk),
    )
    assert event.data == {
        "changes": [
            {
                "contestant_id": voting.alice.pk,
                "channel": "web",
                "before": 7,
                "after": 2,
                "served_before": 0,
                "served_after": 0,
            }
        ]
    }


def test_recount_command_exits_non_zero_on_a_difference(voting, capsys):
    cast(voting.stage, voting.alice)
    call_command("recount", "--stage", str(voting.stage.pk))
    Tally.objects.create(stage=voting.stage, contestant=voting.bob, channel="sms", votes=5)

    with pytest.raises(CommandError) as failure:
        call_command("recount", "--stage", str(voting.stage.pk))

    out = capsys.readouterr().out
    assert failure.value.returncode == 1
    assert "1 valid votes, equal" in out
    assert "DIFFERENT" in out
    assert RecountCheck.objects.filter(stage=voting.stage).count() == 2


@pytest.mark.parametrize("reason", ["", "   ", "x" * 1001])
def test_repair_needs_a_reason_and_changes_nothing_without_one(voting, admin_user, reason):
    cast(voting.stage, voting.alice)
    fold_tally_events()
    Tally.objects.filter(contestant=voting.alice).update(votes=7)

    with pytest.raises(ReasonError) as refused:
        recount_stage(voting.stage, repair=True, actor=admin_user, reason=reason)

    assert refused.value.code == ("reason_too_long" if len(reason) > 1000 else "reason_required")
    assert Tally.objects.get(contestant=voting.alice).votes == 7
    assert not RecountCheck.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.TALLY_REPAIRED).exists()


def _drifted(voting):
    cast(voting.stage, voting.alice)
    fold_tally_events()
    Tally.objects.filter(contestant=voting.alice).update(votes=7)


def test_recount_command_repair_refuses_without_a_reason(voting, admin_user):
    _drifted(voting)

    with pytest.raises(
        CommandError, match=r"--repair needs --reason: Please give a reason; it is recorded\."
    ):
        call_command("recount", "--stage", str(voting.stage.pk), "--repair", "--actor", "hr")

    assert Tally.objects.get(contestant=voting.alice).votes == 7


def test_recount_command_repair_records_the_named_actor_and_reason(voting, admin_user):
    _drifted(voting)

    with pytest.raises(CommandError):  # the report still shows what was found: exit 1
        call_command(
            "recount", "--stage", str(voting.stage.pk), "--repair",
            "--reason", "ticket 42", "--actor", "hr",
        )  # fmt: skip

    event = AuditEvent.objects.get(action=AuditAction.TALLY_REPAIRED)
    assert (event.actor, event.actor_label, event.reason) == (admin_user, "hr", "ticket 42")
    assert Tally.objects.get(contestant=voting.alice).votes == 1


def test_recount_command_repair_maps_the_os_user_to_an_admin(voting, admin_user, monkeypatch):
    _drifted(voting)
    # The OS login is a process boundary: the command reads it through getpass.
    monkeypatch.setattr("getpass.getuser", lambda: "hr")

    with pytest.raises(CommandError):
        call_command("recount", "--stage", str(voting.stage.pk), "--repair", "--reason", "drift")

    assert AuditEvent.objects.get(action=AuditAction.TALLY_REPAIRED).actor == admin_user


def test_recount_command_repair_refuses_an_unknown_or_non_admin_actor(voting):
    _drifted(voting)
    UserFactory(username="clerk")

    with pytest.raises(CommandError, match="No active admin user clerk"):
        call_command(
            "recount", "--stage", str(voting.stage.pk), "--repair", "--reason", "x",
            "--actor", "clerk",
        )  # fmt: skip

    assert Tally.objects.get(contestant=voting.alice).votes == 7


def test_recount_command_refuses_an_unknown_stage(db):
    with pytest.raises(CommandError, match="There is no stage 424242"):
        call_command("recount", "--stage", "424242")


def test_beat_recounts_nightly_at_three_shanghai_time(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["recount-stages"]

    assert entry["task"] == "voting.recount_stages"
    assert entry["schedule"] == crontab(hour=3, minute=0)
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"
    assert settings.CELERY_BEAT_SCHEDULE["fold-tallies"]["schedule"] == 1.0
