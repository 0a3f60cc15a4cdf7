"""The slim live fragment (``…/live/?rows=N``): the first rows of the page only, for phones
on slow data, from the cache alone like the whole fragment, with its own ETag."""

import pytest
from django.urls import reverse

from tests.voting.test_leaderboard_pages import EN, board, cast, crowd, public, ranks, rows
from voting.counting.publication import publish_stage_leaderboard
from voting.views.leaderboards import SLIM_ROWS, slim_rows

pytestmark = pytest.mark.django_db

__all__ = ["board", "crowd", "public"]  # fixtures shared with the page tests


def live_url(stage, query: str = "") -> str:
    return reverse("voting:leaderboard-live", args=[stage.pk]) + (f"?{query}" if query else "")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", 10), ("10", 10), ("11", 20), ("40", 40), ("41", None), ("0", None), ("x", None)],
)
def test_slim_rows_round_up_to_a_few_sizes(value, expected):
    assert slim_rows(value) == expected


def test_slim_fragment_has_the_first_rows_and_no_pager(crowd, client, django_assert_num_queries):
    with django_assert_num_queries(0):
        slim = client.get(live_url(crowd.stage, "rows=7"), **EN)
    whole = client.get(live_url(crowd.stage), **EN)

    assert ranks(slim.text) == list(range(1, SLIM_ROWS[0] + 1))
    assert "Page 1 of 3" not in slim.text
    assert "Page 1 of 3" in whole.text
    assert len(slim.content) * 5 < len(whole.content)


def test_slim_fragment_of_a_later_page_starts_at_that_page(crowd, client):
    slim = client.get(live_url(crowd.stage, "page=2&rows=20"), **EN)

    assert ranks(slim.text) == list(range(101, 121))


def test_slim_fragment_has_its_own_etag_and_304_until_the_board_changes(board, client):
    slim = client.get(live_url(board.stage, "rows=10"), **EN)
    whole = client.get(live_url(board.stage), **EN)

    same = client.get(live_url(board.stage, "rows=10"), HTTP_IF_NONE_MATCH=slim["ETag"], **EN)
    cast(board.stage, board.bob, times=3)
    publish_stage_leaderboard(board.stage)
    changed = client.get(live_url(board.stage, "rows=10"), HTTP_IF_NONE_MATCH=slim["ETag"], **EN)

    assert slim["ETag"] != whole["ETag"]
    assert (same.status_code, same.content) == (304, b"")
    assert changed.status_code == 200
    assert rows(changed.text) == [(1, "Bob", "4"), (2, "Alice", "3"), (3, "Carol", "0")]


def test_slim_fragment_with_filters_takes_the_database_path(crowd, client):
    slim = client.get(live_url(crowd.stage, "position=agent&rows=10"), **EN)

    assert ranks(slim.text) == list(range(1, 11))
    assert rows(slim.text)[0][1] == crowd.bob.staff_member.name
