"""The results page: preview table and bar chart, ties, finalising, frozen results, exports."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from campaigns.choices import (
    AuditAction,
    ComponentKey,
    ContestantStatus,
    ResultOutcome,
    StageStatus,
)
from campaigns.exports import escape_formula
from campaigns.models import Contestant, StageResult, TieResolution
from campaigns.services.stages import finalize_stage, preview_stage
from campaigns.services.stages import open_stage as open_stage_service
from staff.models import AuditEvent
from tests.factories.campaigns import ContestantFactory, StageFactory, StageResultFactory
from tests.factories.staff import OrgUnitFactory, PositionFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db


def results_url(stage) -> str:
    return reverse("admin:campaigns_stage_results", args=[stage.pk])


def move_url(stage, move: str) -> str:
    return reverse("admin:campaigns_stage_move", args=[stage.pk, move])


def tie_url(stage) -> str:
    return reverse("admin:campaigns_stage_resolve_tie", args=[stage.pk])


def export_url(stage, kind: str, fmt: str) -> str:
    return reverse("admin:campaigns_stage_export", args=[stage.pk, kind, fmt])


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_preview_page_explains_the_computation_then_previews(hr, closed_stage):
    stage, _contestants = closed_stage

    page = hr.get(move_url(stage, "preview"))
    response = hr.post(move_url(stage, "preview"), {"reason": ""})

    stage.refresh_from_db()
    assert [(c["weight"], c["available"]) for c in page.context["components"]] == [
        ("0.5", True),
        ("0.5", True),
    ]
    assert page.context["in_count"] == 5
    assert response["Location"] == results_url(stage)
    assert stage.status == StageStatus.PREVIEWED


def test_results_page_shows_every_component_channel_and_a_bar_per_contestant(hr, closed_stage):
    stage, c = closed_stage
    preview_stage(stage, actor=None)

    response = hr.get(results_url(stage))

    lines = response.context["lines"]
    assert [line.row.contestant_id for line in lines] == [
        c[0].pk,
        c[1].pk,
        c[2].pk,
        c[4].pk,
        c[3].pk,
    ]
    assert [(cell.raw, cell.normalised) for cell in lines[1].cells] == [
        ("80", "80.0000"),
        ("10", "100.0000"),
    ]
    assert [line.bar for line in lines] == [100, 90, 80, 30, 20]
    assert [line.row.outcome for line in lines] == [
        ResultOutcome.QUALIFIED,
        ResultOutcome.QUALIFIED,
        ResultOutcome.QUALIFIED,
        ResultOutcome.RESERVE,
        ResultOutcome.RESERVE,
    ]
    assert response.text.count('class="bar-row') == 5
    for width in (100, 90, 80, 30, 20):
        assert f'class="bar bar-w-{width}"' in response.text
    assert response.text.count('class="result-row') == 5
    assert "Web votes" in response.text
    assert "Votes by channel" in response.text
    assert [r.contestant_id for r in response.context["reserves"]] == [c[4].pk, c[3].pk]
    assert response.context["tie_groups"] == []
    assert move_url(stage, "finalize") in response.text
    # Before finalising: the results only, downloaded as provisional; no winners yet.
    assert "Provisional results (CSV)" in response.text
    assert export_url(stage, "winners", "csv") not in response.text


@pytest.mark.parametrize("count", [1, 3])
def test_results_page_query_count_does_not_grow(hr, count, django_assert_num_queries):
    stage = StageFactory(status=StageStatus.CLOSED, quota=1)
    ContestantFactory.create_batch(count, stage=stage)
    preview_stage(stage, actor=None)

    # session, user, stage with campaign, outcome counts, table count, table page, chart
    # rows, reserves, tied rows (previewed), tie resolutions
    # (+ 2: an HR admin's own and group permissions, read once per request)
    with django_assert_num_queries(12):
        response = hr.get(results_url(stage))

    assert len(response.context["lines"]) == count


# Many contestants: a paged table, a chart of who matters, filters -------------------------


@pytest.fixture
def many(fake_components, position):
    """250 contestants "Contestant 000" … "Contestant 249" (employee numbers 50000 …
    50249), previewed with distinct totals: contestant i is ranked i + 1; quota 10 and 5
    reserves, so ranks 1-10 qualify, 11-15 are reserves and 16-250 are eliminated."""
    stage = StageFactory(status=StageStatus.CLOSED, quota=10, reserve_count=5)
    unit = OrgUnitFactory()
    contestants = [
        ContestantFactory(
            stage=stage,
            staff_member=StaffMemberFactory(
                name=f"Contestant {i:03d}", employee_no=f"5{i:04d}", unit=unit, position=position
            ),
        )
        for i in range(250)
    ]
    votes = {c.pk: 250 - i for i, c in enumerate(contestants)}
    fake_components.set(ComponentKey.WEB_VOTES, votes)
    fake_components.set(ComponentKey.SMS_VOTES, votes)
    preview_stage(stage, actor=None)
    return stage


def table_ranks(response) -> list[int]:
    return [line.row.rank for line in response.context["lines"]]


def test_results_table_is_paged_by_100_and_the_chart_shows_only_who_matters(hr, many):
    url = results_url(many)

    first, second, third = (hr.get(url, {"page": n}) for n in (1, 2, 3))

    assert table_ranks(first) == list(range(1, 101))
    assert table_ranks(second) == list(range(101, 201))
    assert table_ranks(third) == list(range(201, 251))
    assert [page.text.count('class="result-row') for page in (first, second, third)] == [
        100,
        100,
        50,
    ]
    assert "Showing 1–100 of 250" in first.text
    assert "Showing 201–250 of 250" in third.text
    assert [bar.row.rank for bar in first.context["chart"]] == list(range(1, 16))
    assert first.text.count('class="bar-row') == 15
    assert first.context["chart_more"] == 0
    assert 'id="chart-more"' not in first.text
    assert [r.rank for r in first.context["reserves"]] == [11, 12, 13, 14, 15]
    assert 'href="?page=2#results" rel="next">Next ›</a>' in first.text
    assert 'href="?page=1#results" rel="prev">‹ Previous</a>' in second.text
    assert 'aria-label="Page 3">3</a>' in second.text
    assert 'rel="next"' not in third.text


@pytest.mark.parametrize("page", ["abc", "0", "-1", "4", "999", ""])
def test_results_page_number_that_is_not_a_page_shows_page_one(hr, many, page):
    response = hr.get(results_url(many), {"page": page})

    assert response.status_code == 200
    assert table_ranks(response) == list(range(1, 101))


@pytest.mark.parametrize(
    ("outcome", "ranks"),
    [
        ("qualified", list(range(1, 11))),
        ("reserve", list(range(11, 16))),
        ("eliminated", list(range(16, 116))),
        ("tied_at_cut", []),
        ("nonsense", list(range(1, 101))),
    ],
)
def test_results_outcome_filter(hr, many, outcome, ranks):
    response = hr.get(results_url(many), {"outcome": outcome})

    assert table_ranks(response) == ranks


def test_results_outcome_filter_pages_keep_the_filter(hr, many):
    url = results_url(many)

    page_one = hr.get(url, {"outcome": "eliminated"})
    page_three = hr.get(url, {"outcome": "eliminated", "page": 3})

    assert "Showing 1–100 of 235" in page_one.text
    assert 'href="?outcome=eliminated&amp;page=2#results"' in page_one.text
    assert table_ranks(page_three) == list(range(216, 251))
    assert [bar.row.rank for bar in page_one.context["chart"]] == list(range(1, 16))


@pytest.mark.parametrize(
    ("q", "ranks"),
    [
        ("Contestant 042", [43]),
        ("contestant 04", list(range(41, 51))),
        ("50042", [43]),
        ("5024", list(range(241, 251))),
        ("  50100 ", [101]),
        ("Nobody", []),
        ("0042", []),
    ],
)
def test_results_search_by_name_or_employee_number(hr, many, q, ranks):
    response = hr.get(results_url(many), {"q": q})

    assert table_ranks(response) == ranks
    if not ranks:
        assert "No contestant matches these filters." in response.text


def test_results_search_and_outcome_filter_combine(hr, many):
    response = hr.get(results_url(many), {"q": "Contestant 01", "outcome": "reserve"})

    assert table_ranks(response) == [11, 12, 13, 14, 15]
    assert "Showing 1–5 of 5" in response.text


def test_results_large_tie_is_capped_in_the_chart_and_listed_in_full_in_the_tie_box(hr):
    stage = StageFactory(status=StageStatus.CLOSED, quota=10, reserve_count=5)
    ContestantFactory.create_batch(150, stage=stage)
    preview_stage(stage, actor=None)  # no votes at all: everyone tied on 0

    response = hr.get(results_url(stage))

    (group,) = response.context["tie_groups"]
    assert (len(group.rows), group.places) == (150, 10)
    assert response.text.count('name="chosen"') == 150
    assert response.text.count('class="bar-row') == 100
    assert response.context["chart_more"] == 50
    assert "… and 50 more (see the results table)." in response.text
    assert response.text.count('class="result-row') == 100
    assert 'href="?outcome=tied_at_cut#results"' in response.text


@pytest.fixture
def tied_stage(closed_stage, fake_components):
    """Contestants 2, 3 and 4 tied for the last place (quota 3)."""
    stage, c = closed_stage
    ids = [x.id for x in c]
    fake_components.set(ComponentKey.WEB_VOTES, dict(zip(ids, (100, 90, 50, 50, 50), strict=True)))
    fake_components.set(ComponentKey.SMS_VOTES, dict(zip(ids, (10, 10, 5, 5, 5), strict=True)))
    preview_stage(stage, actor=None)
    return stage, c


def test_tie_is_shown_prominently_and_finalise_is_not_offered(hr, tied_stage):
    stage, c = tied_stage

    response = hr.get(results_url(stage))

    (group,) = response.context["tie_groups"]
    assert [r.contestant_id for r in group.rows] == [c[2].pk, c[3].pk, c[4].pk]
    assert group.places == 1
    assert 'id="unresolved-ties"' in response.text
    assert 'id="finalize-link"' not in response.text


def test_tie_resolved_by_picking_exactly_n(hr, tied_stage):
    stage, c = tied_stage

    response = hr.post(
        tie_url(stage),
        {"decision": "choose", "chosen": [c[3].pk], "reason": "Better mystery-shopper score"},
        follow=True,
    )

    outcomes = dict(StageResult.objects.filter(stage=stage).values_list("contestant_id", "outcome"))
    assert messages_of(response) == ["The tie is decided; it is recorded in the audit log."]
    assert outcomes[c[3].pk] == ResultOutcome.QUALIFIED
    assert outcomes[c[2].pk] == outcomes[c[4].pk] == ResultOutcome.RESERVE
    assert list(TieResolution.objects.values_list("chosen_contestant_ids", "reason")) == [
        ([c[3].pk], "Better mystery-shopper score")
    ]
    assert AuditEvent.objects.filter(action=AuditAction.TIE_RESOLVED, actor_label="hr").count() == 1


def test_tie_resolved_by_admitting_everyone(hr, tied_stage):
    stage, c = tied_stage

    hr.post(tie_url(stage), {"decision": "admit_all", "reason": "All three excellent"})

    qualified = set(
        StageResult.objects.filter(stage=stage, outcome=ResultOutcome.QUALIFIED).values_list(
            "contestant_id", flat=True
        )
    )
    assert qualified == {x.pk for x in c}
    assert TieResolution.objects.get().admit_all is True


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"decision": "choose", "reason": "x"}, "Choose exactly 1 of the tied contestants."),
        (
            {"decision": "choose", "chosen": ["C3", "C4"], "reason": "x"},
            "Choose exactly 1 of the tied contestants.",
        ),
        ({"decision": "choose", "chosen": ["C3"], "reason": ""}, "Reason: This field is required."),
    ],
)
def test_tie_wrong_choice_is_refused_and_changes_nothing(hr, tied_stage, data, message):
    stage, c = tied_stage
    ids = {"C3": c[3].pk, "C4": c[4].pk}
    data = {**data, "chosen": [ids[x] for x in data.get("chosen", [])]}

    response = hr.post(tie_url(stage), data, follow=True)

    assert messages_of(response) == [message]
    assert StageResult.objects.filter(stage=stage, outcome=ResultOutcome.TIED_AT_CUT).count() == 3
    assert TieResolution.objects.count() == 0


def test_tie_choice_outside_the_tied_group_is_refused(hr, tied_stage):
    stage, c = tied_stage

    response = hr.post(
        tie_url(stage), {"decision": "choose", "chosen": [c[0].pk], "reason": "x"}, follow=True
    )

    assert len(messages_of(response)) == 1
    assert messages_of(response)[0].startswith("Qualifies: Select a valid choice.")
    assert TieResolution.objects.count() == 0


def test_finalise_page_lists_the_qualifiers_and_requires_a_reason(hr, closed_stage):
    stage, c = closed_stage
    preview_stage(stage, actor=None)

    page = hr.get(move_url(stage, "finalize"))
    refused = hr.post(move_url(stage, "finalize"), {"reason": " "})

    stage.refresh_from_db()
    assert [r.contestant_id for r in page.context["qualifiers"]] == [c[0].pk, c[1].pk, c[2].pk]
    assert page.context["next_stage"].order == 2
    assert refused.status_code == 200
    assert refused.context["form"].errors == {"reason": ["This field is required."]}
    assert stage.status == StageStatus.PREVIEWED


def test_finalise_freezes_results_and_enrols_qualifiers_in_the_next_stage(
    hr, closed_stage, three_stages
):
    stage, c = closed_stage
    next_stage = three_stages[1][1]
    preview_stage(stage, actor=None)

    response = hr.post(move_url(stage, "finalize"), {"reason": "Jury signed off"}, follow=True)

    stage.refresh_from_db()
    assert response.redirect_chain == [(results_url(stage), 302)]
    assert stage.status == StageStatus.FINALIZED
    assert set(StageResult.objects.filter(stage=stage).values_list("is_frozen", flat=True)) == {
        True
    }
    assert set(next_stage.contestants.values_list("staff_member_id", flat=True)) == {
        c[0].staff_member_id,
        c[1].staff_member_id,
        c[2].staff_member_id,
    }
    event = AuditEvent.objects.get(action=AuditAction.STAGE_FINALIZED)
    assert (event.actor_label, event.reason) == ("hr", "Jury signed off")
    assert 'id="results-frozen"' in response.text
    assert export_url(stage, "winners", "xlsx") in response.text
    assert 'id="unresolved-ties"' not in response.text
    assert move_url(stage, "finalize") not in response.text


def test_finalise_with_unresolved_tie_is_refused(hr, tied_stage):
    stage, _c = tied_stage

    response = hr.post(move_url(stage, "finalize"), {"reason": "go"}, follow=True)

    stage.refresh_from_db()
    assert messages_of(response) == [
        "A tie at the cut line is still unresolved; decide it before finalising."
    ]
    assert stage.status == StageStatus.PREVIEWED


def test_discard_preview_deletes_the_rows(hr, closed_stage):
    stage, _c = closed_stage
    preview_stage(stage, actor=None)

    hr.post(move_url(stage, "discard"), {"reason": "Fraud review pending"})

    stage.refresh_from_db()
    assert stage.status == StageStatus.CLOSED
    assert StageResult.objects.filter(stage=stage).count() == 0


# Exports -----------------------------------------------------------------------------------


@pytest.fixture
def finalized(closed_stage):
    stage, c = closed_stage
    branch = OrgUnitFactory(kind="branch", name="太原分公司", code="TY")
    store = OrgUnitFactory(parent=branch, name="=HYPERLINK(1)", code="TY-S1")
    clerk = PositionFactory(code="clerk")
    Contestant.objects.filter(pk=c[0].pk).update(
        staff_member=StaffMemberFactory(
            employee_no="90001", name="@王芳", unit=store, position=clerk, phone="13800138000"
        )
    )
    c[0].refresh_from_db()
    preview_stage(stage, actor=None)
    finalize_stage(stage, actor=None, reason="ok")
    return stage, c


HEADER = [
    "Rank",
    "Employee number",
    "Name",
    "Branch",
    "Unit",
    "Position",
    "Web votes (raw)",
    "Web votes (0-100)",
    "SMS votes (raw)",
    "SMS votes (0-100)",
    "Web votes",
    "SMS votes",
    "Audience votes",
    "Served customers' votes",
    "Weighted total",
    "Outcome",
    "Status",
]


def test_results_csv_has_every_row_escaped_and_masked(hr, finalized):
    stage, c = finalized

    response = hr.get(export_url(stage, "results", "csv"))

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == f'attachment; filename="stage-{stage.pk}-results.csv"'
    assert rows[0] == HEADER
    assert rows[1] == [
        "1",
        "90001",
        "'@王芳",
        "太原分公司",
        "'=HYPERLINK(1)",
        "营业员",
        "100",
        "100.0000",
        "10",
        "100.0000",
        "100",
        "10",
        "0",
        "0",
        "100.0000",
        "Qualified",
        "Advanced",
    ]
    assert [(r[0], r[1], r[-2], r[-1]) for r in rows[2:]] == [
        ("2", c[1].staff_member.employee_no, "Qualified", "Advanced"),
        ("3", c[2].staff_member.employee_no, "Qualified", "Advanced"),
        ("4", c[4].staff_member.employee_no, "Reserve", "Eliminated"),
        ("5", c[3].staff_member.employee_no, "Reserve", "Eliminated"),
    ]
    text = response.content.decode("utf-8-sig")
    assert "13800138000" not in text
    assert "138****8000" not in text


def test_winners_xlsx_has_numbers_as_numbers(hr, finalized):
    stage, c = finalized

    response = hr.get(export_url(stage, "winners", "xlsx"))

    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert sheet.title == "Winners"
    assert rows[0] == HEADER
    assert [r[1] for r in rows[1:]] == [
        "90001",
        c[1].staff_member.employee_no,
        c[2].staff_member.employee_no,
    ]
    assert rows[1][:6] == [1, "90001", "'@王芳", "太原分公司", "'=HYPERLINK(1)", "营业员"]
    assert rows[2][6:15] == [80, 80, 10, 100, 80, 10, 0, 0, 90]
    assert rows[2][15:] == ["Qualified", "Advanced"]


def provisional_url(stage) -> str:
    return reverse("admin:campaigns_stage_provisional_results", args=[stage.pk])


@pytest.fixture
def open_stage(three_stages, admin_user, fake_components):
    """Stage 1 of ``three_stages`` open, with the votes of ``closed_stage`` so far."""
    _campaign, stages, contestants = three_stages
    open_stage_service(stages[0], actor=admin_user)
    ids = [c.id for c in contestants]
    fake_components.set(ComponentKey.WEB_VOTES, dict(zip(ids, (100, 80, 60, 40, 20), strict=True)))
    fake_components.set(ComponentKey.SMS_VOTES, dict(zip(ids, (10, 10, 10, 0, 4), strict=True)))
    return stages[0], contestants


def test_open_stage_page_links_to_its_provisional_results(hr, open_stage):
    stage, _c = open_stage

    response = hr.get(reverse("admin:campaigns_stage_change", args=[stage.pk]))

    assert f'href="{provisional_url(stage)}"' in response.text
    assert f'href="{results_url(stage)}"' not in response.text


def test_provisional_results_of_an_open_stage_are_shown_and_nothing_is_kept(hr, open_stage):
    stage, c = open_stage
    events_before = AuditEvent.objects.count()

    response = hr.get(provisional_url(stage))

    assert response.status_code == 200
    assert response.context["is_provisional"] is True
    assert response.context["title"] == f"Provisional results: {stage}"
    assert [line.row.contestant_id for line in response.context["lines"]] == [
        c[0].id,
        c[1].id,
        c[2].id,
        c[4].id,
        c[3].id,
    ]
    assert [line.row.outcome for line in response.context["lines"]][:3] == [
        ResultOutcome.QUALIFIED
    ] * 3
    assert 'id="results-provisional"' in response.text
    assert "Provisional results (CSV)" in response.text
    assert "tie-form" not in response.text
    assert StageResult.objects.count() == 0
    assert AuditEvent.objects.count() == events_before
    stage.refresh_from_db()
    assert stage.status == StageStatus.OPEN


def test_provisional_results_of_a_previewed_stage_are_its_stored_preview(hr, closed_stage):
    stage, _c = closed_stage
    preview_stage(stage, actor=None)

    response = hr.get(provisional_url(stage))

    assert response["Location"] == results_url(stage)


def test_provisional_csv_says_so_in_its_name_and_first_line(hr, open_stage):
    stage, c = open_stage

    response = hr.get(export_url(stage, "results", "csv"))

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert response["Content-Disposition"] == (
        f'attachment; filename="stage-{stage.pk}-results-provisional.csv"'
    )
    assert rows[0][0].startswith(f"Provisional results of {stage} as of ")
    assert rows[0][0].endswith("not final, they change until the stage is finalised.")
    assert rows[1] == HEADER
    assert [r[1] for r in rows[2:]] == [
        c[0].staff_member.employee_no,
        c[1].staff_member.employee_no,
        c[2].staff_member.employee_no,
        c[4].staff_member.employee_no,
        c[3].staff_member.employee_no,
    ]
    assert StageResult.objects.count() == 0


def test_provisional_xlsx_of_a_previewed_stage_is_titled_provisional(hr, closed_stage):
    stage, _c = closed_stage
    preview_stage(stage, actor=None)

    response = hr.get(export_url(stage, "results", "xlsx"))

    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert response["Content-Disposition"] == (
        f'attachment; filename="stage-{stage.pk}-results-provisional.xlsx"'
    )
    assert sheet.title == "Provisional results"
    assert rows[0][0].startswith(f"Provisional results of {stage} as of ")
    assert rows[1] == HEADER
    assert len(rows) == 2 + 5
    assert StageResult.objects.filter(stage=stage).count() == 5


def test_winners_export_before_finalising_is_refused(hr, closed_stage):
    stage, _c = closed_stage
    preview_stage(stage, actor=None)

    response = hr.get(export_url(stage, "winners", "csv"), follow=True)

    assert messages_of(response) == ["Winners can be exported once the stage is finalised."]


def test_export_of_unknown_kind_is_404(hr, finalized):
    stage, _c = finalized

    assert hr.get(export_url(stage, "everything", "csv")).status_code == 404
    assert hr.get(export_url(stage, "results", "pdf")).status_code == 404


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("=1+1", "'=1+1"),
        ("+86", "'+86"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("王芳", "王芳"),
        ("a=b", "a=b"),
    ],
)
def test_escape_formula(value, escaped):
    assert escape_formula(value) == escaped


def test_promote_reserve_after_a_withdrawal(hr, finalized, three_stages):
    stage, c = finalized
    next_stage = three_stages[1][1]
    withdraw = reverse("admin:campaigns_contestant_changelist")
    hr.post(
        withdraw,
        {
            "action": "withdraw_selected",
            "_selected_action": [c[1].pk],
            "confirm": "yes",
            "reason": "Resigned",
        },
    )
    url = reverse("admin:campaigns_stage_promote", args=[stage.pk])

    page = hr.get(url)
    response = hr.post(url, {"contestant": "", "reason": "Next in line"}, follow=True)

    statuses = dict(Contestant.objects.filter(stage=stage).values_list("id", "status"))
    assert [r.contestant_id for r in page.context["withdrawn"]] == [c[1].pk]
    assert [r.contestant_id for r in page.context["reserves"]] == [c[4].pk]
    assert page.context["reserves_left"] == 2
    assert response.redirect_chain == [(results_url(stage), 302)]
    assert statuses[c[4].pk] == ContestantStatus.ADVANCED
    assert statuses[c[1].pk] == ContestantStatus.WITHDRAWN
    assert set(
        next_stage.contestants.filter(status=ContestantStatus.IN).values_list(
            "staff_member_id", flat=True
        )
    ) == {c[0].staff_member_id, c[2].staff_member_id, c[4].staff_member_id}
    event = AuditEvent.objects.get(action=AuditAction.CONTESTANT_PROMOTED)
    assert (event.actor_label, event.reason, event.data["rank"]) == ("hr", "Next in line", 4)


def test_promote_without_vacancy_is_refused(hr, finalized):
    stage, _c = finalized
    url = reverse("admin:campaigns_stage_promote", args=[stage.pk])

    response = hr.post(url, {"contestant": "", "reason": "try"})

    assert messages_of(response) == ["No qualifier has withdrawn: there is no place."]
    assert AuditEvent.objects.filter(action=AuditAction.CONTESTANT_PROMOTED).count() == 0


def test_results_total_decimal_matches_page(hr, finalized):
    stage, _c = finalized

    response = hr.get(results_url(stage))

    assert [line.row.total for line in response.context["lines"]] == [
        Decimal("100.0000"),
        Decimal("90.0000"),
        Decimal("80.0000"),
        Decimal("30.0000"),
        Decimal("20.0000"),
    ]


def promote_url(stage) -> str:
    return reverse("admin:campaigns_stage_promote", args=[stage.pk])


def frozen_row(stage, rank: int, outcome: str, status: str, *, position_rank=None, **kwargs):
    """A frozen result row of ``stage`` whose contestant has ``status``."""
    return StageResultFactory(
        stage=stage,
        rank=rank,
        position_rank=position_rank or rank,
        outcome=outcome,
        is_frozen=True,
        frozen_at=timezone.now(),
        contestant__status=status,
        **kwargs,
    )


@pytest.fixture
def vacancy():
    """A finalised stage (quota 2) whose first qualifier withdrew; reserves are added by
    the tests (``frozen_row`` with ``ResultOutcome.RESERVE``)."""
    stage = StageFactory(finalized=True, quota=2)
    frozen_row(stage, 1, ResultOutcome.QUALIFIED, ContestantStatus.WITHDRAWN)
    frozen_row(stage, 2, ResultOutcome.QUALIFIED, ContestantStatus.ADVANCED)
    return stage


@pytest.mark.parametrize("reserves", [1, 3])
def test_promote_page_reads_only_the_next_reserve(hr, vacancy, reserves, django_assert_num_queries):
    rows = [
        frozen_row(vacancy, 3 + i, ResultOutcome.RESERVE, ContestantStatus.ELIMINATED)
        for i in range(reserves)
    ]

    # session, user, stage, vacancies, withdrawn qualifiers, next reserves, reserves left
    # (+ 2: an HR admin's own and group permissions, read once per request)
    with django_assert_num_queries(9):
        response = hr.get(promote_url(vacancy))

    assert [r.contestant_id for r in response.context["reserves"]] == [rows[0].contestant_id]
    assert response.context["reserves_left"] == reserves
    assert response.context["reserve_tie"] is False
    assert [c[0] for c in response.context["form"].fields["contestant"].choices] == [
        "",
        str(rows[0].contestant_id),
    ]
    assert f"{results_url(vacancy)}?outcome=reserve" in response.text


def test_promote_page_offers_every_reserve_tied_at_the_next_rank(hr, vacancy):
    tied = [
        frozen_row(vacancy, 3, ResultOutcome.RESERVE, ContestantStatus.ELIMINATED) for _ in range(2)
    ]
    frozen_row(vacancy, 5, ResultOutcome.RESERVE, ContestantStatus.ELIMINATED)

    response = hr.get(promote_url(vacancy))
    posted = hr.post(
        promote_url(vacancy), {"contestant": tied[1].contestant_id, "reason": "Drawn by lot"}
    )

    assert [r.contestant_id for r in response.context["reserves"]] == [
        r.contestant_id for r in tied
    ]
    assert response.context["reserve_tie"] is True
    assert response.context["reserves_left"] == 3
    assert posted.status_code == 302
    assert Contestant.objects.get(pk=tied[1].contestant_id).status == ContestantStatus.ADVANCED
    assert Contestant.objects.get(pk=tied[0].contestant_id).status == ContestantStatus.ELIMINATED


def test_promote_page_lists_the_next_reserve_of_each_vacant_position(hr):
    stage = StageFactory(finalized=True, quota=2, position_quotas={"clerk": 1, "agent": 1})
    clerk, agent = PositionFactory(code="clerk"), PositionFactory(code="agent")

    def row(rank, position, outcome, status, position_rank):
        return frozen_row(
            stage,
            rank,
            outcome,
            status,
            position_rank=position_rank,
            contestant__staff_member__position=position,
        )

    row(1, clerk, ResultOutcome.QUALIFIED, ContestantStatus.WITHDRAWN, 1)
    row(2, agent, ResultOutcome.QUALIFIED, ContestantStatus.ADVANCED, 1)
    next_clerk = row(3, clerk, ResultOutcome.RESERVE, ContestantStatus.ELIMINATED, 2)
    row(4, agent, ResultOutcome.RESERVE, ContestantStatus.ELIMINATED, 2)
    row(5, clerk, ResultOutcome.RESERVE, ContestantStatus.ELIMINATED, 3)

    response = hr.get(promote_url(stage))

    assert [r.contestant_id for r in response.context["reserves"]] == [next_clerk.contestant_id]
    assert response.context["reserves_left"] == 2


def test_promote_page_says_when_the_chosen_contestant_is_not_next(hr, vacancy):
    frozen_row(vacancy, 3, ResultOutcome.RESERVE, ContestantStatus.ELIMINATED)
    later = frozen_row(vacancy, 4, ResultOutcome.RESERVE, ContestantStatus.ELIMINATED)

    response = hr.get(f"{promote_url(vacancy)}?contestant={later.contestant_id}")

    assert response.context["requested_not_next"] is True
    assert "is not the next-ranked reserve" in response.text
