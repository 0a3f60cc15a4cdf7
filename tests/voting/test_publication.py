"""Leaderboard publication: snapshots, the digest chain, the cache, visibility and the API."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.urls import reverse

from campaigns.choices import StageStatus, Visibility
from campaigns.models import Stage
from staff.phones import parse_phone
from tests.factories.campaigns import ContestantFactory
from tests.factories.staff import OrgUnitFactory, PositionFactory, StaffMemberFactory
from voting.choices import VoteChannel
from voting.counting.leaderboards import CACHE_KEY, leaderboard_for_stage
from voting.counting.publication import (
    chain_digest,
    publish_leaderboards,
    publish_stage_leaderboard,
)
from voting.counting.tallies import fold_tally_events
from voting.ledger.services import cast_vote
from voting.models import LeaderboardSnapshot

pytestmark = pytest.mark.django_db

_numbers = iter(range(10**6))


def cast(stage, contestant, channel=VoteChannel.WEB, times=1):
    for _ in range(times):
        phone = parse_phone(f"197{next(_numbers):08d}")
        cast_vote(
            stage,
            contestant=contestant,
            voter_hash=phone.hash,
            phone_masked=phone.masked,
            channel=channel,
        )


def set_stage(stage, **fields) -> Stage:
    Stage.objects.filter(pk=stage.pk).update(**fields)
    stage.refresh_from_db()
    return stage


def board(stage_id, **filters):
    return [
        (entry["employee_no"], entry["rank"], entry.get("votes"))
        for entry in leaderboard_for_stage(stage_id, **filters).entries
    ]


def test_publish_ranks_every_contestant_with_channel_counts(voting):
    carol = ContestantFactory(
        stage=voting.stage, staff_member=StaffMemberFactory(employee_no="9012")
    )
    cast(voting.stage, voting.alice, times=2)
    cast(voting.stage, voting.bob, VoteChannel.SMS, times=2)
    cast(voting.stage, voting.bob, VoteChannel.AUDIENCE)
    fold_tally_events()
    cast(voting.stage, voting.alice, VoteChannel.SMS)  # still pending: counted all the same

    snapshot = publish_stage_leaderboard(voting.stage)

    assert [
        (e["rank"], e["employee_no"], e["votes"], e["web"], e["sms"], e["audience"])
        for e in snapshot.entries
    ] == [(1, "1234", 3, 2, 1, 0), (1, "5678", 3, 0, 2, 1), (3, "9012", 0, 0, 0, 0)]
    assert snapshot.entries[2]["contestant_id"] == carol.pk
    assert snapshot.valid_votes == 6
    assert snapshot.counts == {
        str(voting.alice.pk): {"sms": 1, "web": 2},
        str(voting.bob.pk): {"audience": 1, "sms": 2},
    }
    assert snapshot.digest == chain_digest(
        stage_id=voting.stage.pk, previous_digest="", counts=snapshot.counts
    )


def test_publication_is_idempotent_per_state_and_chains_changes(voting):
    cast(voting.stage, voting.alice)
    first = publish_stage_leaderboard(voting.stage)

    again = publish_stage_leaderboard(voting.stage)
    cast(voting.stage, voting.bob)
    second = publish_stage_leaderboard(voting.stage)

    assert again.pk == first.pk
    assert LeaderboardSnapshot.objects.filter(stage=voting.stage).count() == 2
    assert second.previous_id == first.pk
    assert second.digest == chain_digest(
        stage_id=voting.stage.pk, previous_digest=first.digest, counts=second.counts
    )


def test_the_chain_cannot_fork_nor_repeat_a_state(voting):
    cast(voting.stage, voting.alice)
    first = publish_stage_leaderboard(voting.stage)
    fields = {"stage": voting.stage, "valid_votes": 1, "counts": {}, "entries": []}

    with pytest.raises(IntegrityError), transaction.atomic():
        LeaderboardSnapshot.objects.create(previous=None, digest="x" * 64, **fields)
    LeaderboardSnapshot.objects.create(previous=first, digest="y" * 64, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        LeaderboardSnapshot.objects.create(previous=first, digest="z" * 64, **fields)


def test_publish_leaderboards_publishes_open_stages_and_final_boards(voting):
    cast(voting.stage, voting.alice)

    [live] = publish_leaderboards()
    set_stage(voting.stage, status=StageStatus.CLOSED)
    [final] = publish_leaderboards()
    [still_final] = publish_leaderboards()

    assert (live.is_final, final.is_final) == (False, True)
    assert final.counts == live.counts
    assert final.previous_id == live.pk
    assert still_final.pk == final.pk


def test_publication_caches_the_board_and_the_selector_reads_it_without_queries(
    voting, django_assert_num_queries
):
    cast(voting.stage, voting.alice, times=2)
    snapshot = publish_stage_leaderboard(voting.stage)

    with django_assert_num_queries(0):
        data = leaderboard_for_stage(voting.stage.pk)

    assert data.source == "cache"
    assert (data.cut, data.published_at) == (snapshot.digest, snapshot.published_at)
    assert board(voting.stage.pk) == [("1234", 1, 2), ("5678", 2, 0)]


def test_selector_falls_back_to_the_database_snapshot_when_the_key_is_missing(
    voting, django_assert_num_queries
):
    cast(voting.stage, voting.bob)
    snapshot = publish_stage_leaderboard(voting.stage)
    cache.delete(CACHE_KEY.format(stage_id=voting.stage.pk))

    with django_assert_num_queries(2):  # the stage, the latest snapshot; never the ledger
        data = leaderboard_for_stage(voting.stage.pk)

    assert (data.source, data.cut) == ("database", snapshot.digest)
    assert [entry["employee_no"] for entry in data.entries] == ["5678", "1234"]


def test_selector_serves_the_database_snapshot_when_redis_is_down(voting):
    cast(voting.stage, voting.alice)
    snapshot = publish_stage_leaderboard(voting.stage)
    dead_redis = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    cast(voting.stage, voting.alice)

    # A context manager, not the settings fixture: the cache must be back before the
    # autouse fixture clears it at teardown.
    with override_settings(CACHES=dead_redis):
        republished = publish_stage_leaderboard(voting.stage)  # the cache write fails quietly
        data = leaderboard_for_stage(voting.stage.pk)
        entries = board(voting.stage.pk)

    assert republished.previous_id == snapshot.pk
    assert (data.source, data.cut) == ("database", republished.digest)
    assert entries == [("1234", 1, 2), ("5678", 2, 0)]


def test_board_before_any_publication_is_empty(voting):
    data = leaderboard_for_stage(voting.stage)

    assert (data.source, data.published_at, data.cut, data.entries) == ("none", None, None, ())


def test_boards_per_branch_and_position_are_ranked_within_themselves(voting):
    company = OrgUnitFactory(code="CO", kind="company", parent=None)
    north = OrgUnitFactory(code="NORTH", kind="branch", parent=company)
    store = OrgUnitFactory(code="N01", kind="store", parent=north)
    clerk, agent = PositionFactory(code="clerk"), PositionFactory(code="agent")
    dave = ContestantFactory(
        stage=voting.stage,
        staff_member=StaffMemberFactory(employee_no="3333", unit=store, position=clerk),
    )
    erin = ContestantFactory(
        stage=voting.stage,
        staff_member=StaffMemberFactory(employee_no="4444", unit=north, position=agent),
    )
    cast(voting.stage, voting.alice, times=3)
    cast(voting.stage, dave, times=2)
    cast(voting.stage, erin)
    publish_stage_leaderboard(voting.stage)

    assert board(voting.stage.pk, branch="NORTH") == [("3333", 1, 2), ("4444", 2, 1)]
    assert board(voting.stage.pk, branch="N01") == [("3333", 1, 2)]
    assert board(voting.stage.pk, position="agent") == [("4444", 1, 1)]
    assert board(voting.stage.pk, branch="NORTH", position="clerk") == [("3333", 1, 2)]
    entry = leaderboard_for_stage(voting.stage.pk, branch="N01").entries[0]
    assert (entry["branch"], entry["position"]) == ("NORTH", "clerk")


# -- the API ------------------------------------------------------------------------


def url(stage_id: int) -> str:
    return reverse("voting_api:stage-leaderboard", args=[stage_id])


def test_api_returns_the_contract_shape(voting, client):
    cast(voting.stage, voting.alice, times=2)
    snapshot = publish_stage_leaderboard(voting.stage)

    response = client.get(url(voting.stage.pk))

    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"stage", "published_at", "cut", "entries"}
    assert (body["stage"], body["cut"]) == (voting.stage.pk, snapshot.digest)
    assert dt.datetime.fromisoformat(body["published_at"]) == snapshot.published_at
    assert body["entries"][0] == {
        "rank": 1,
        "employee_no": "1234",
        "name": voting.alice.staff_member.name,
        "unit": voting.alice.staff_member.unit.name,
        "votes": 2,
    }


def test_api_etag_gives_304_until_the_board_changes(voting, client):
    cast(voting.stage, voting.alice)
    publish_stage_leaderboard(voting.stage)
    etag = client.get(url(voting.stage.pk)).headers["ETag"]

    unchanged = client.get(url(voting.stage.pk), headers={"If-None-Match": etag})
    cast(voting.stage, voting.bob)
    publish_stage_leaderboard(voting.stage)
    changed = client.get(url(voting.stage.pk), headers={"If-None-Match": etag})

    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_api_filters_and_their_errors(voting, client):
    publish_stage_leaderboard(voting.stage)

    bad = client.get(url(voting.stage.pk), {"branch": "../x"})
    missing = client.get(url(999_999))

    assert (bad.status_code, bad.json()["code"]) == (400, "bad_filter")
    assert (missing.status_code, missing.json()["code"]) == (404, "unknown_stage")


def test_api_ranks_only_omits_votes(voting, client):
    set_stage(voting.stage, visibility=Visibility.RANKS_ONLY)
    cast(voting.stage, voting.bob)
    publish_stage_leaderboard(voting.stage)

    entries = client.get(url(voting.stage.pk)).json()["entries"]

    assert [set(entry) for entry in entries] == [{"rank", "employee_no", "name", "unit"}] * 2
    assert [entry["employee_no"] for entry in entries] == ["5678", "1234"]


def test_api_hides_counts_in_the_final_hours_only(voting, client, frozen_now):
    set_stage(
        voting.stage,
        visibility=Visibility.HIDDEN_FINAL_HOURS,
        hide_final_hours=2,
        closes_at=frozen_now + dt.timedelta(hours=3),
    )
    cast(voting.stage, voting.alice)
    publish_stage_leaderboard(voting.stage)

    with time_machine.travel(frozen_now + dt.timedelta(minutes=59), tick=False):
        before = client.get(url(voting.stage.pk)).json()["entries"][0]
    with time_machine.travel(frozen_now + dt.timedelta(hours=1, minutes=1), tick=False):
        during = client.get(url(voting.stage.pk))
    set_stage(voting.stage, status=StageStatus.CLOSED)
    publish_stage_leaderboard(voting.stage, final=True)
    with time_machine.travel(frozen_now + dt.timedelta(hours=4), tick=False):
        after = client.get(url(voting.stage.pk)).json()["entries"][0]

    assert before["votes"] == 1
    assert "votes" not in during.json()["entries"][0]
    assert during.headers["ETag"] != client.get(url(voting.stage.pk)).headers["ETag"]
    assert after["votes"] == 1


def test_api_is_in_the_openapi_schema(client):
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()

    operation = schema["paths"]["/api/stages/{stage_id}/leaderboard/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"stage_id", "branch", "position"}
    assert set(operation["responses"]) == {"200", "304", "400", "404"}
