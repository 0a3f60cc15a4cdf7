"""``POST /api/transactions/``: authentication, per-item results, idempotency, invitations."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from evaluations.measurement.apikeys import create_api_key, revoke_api_key
from evaluations.measurement.choices import InvitationSkipReason, InvitationStatus
from evaluations.models import RatingInvitation, RatingOptOut, ServiceTransaction
from staff.phones import parse_phone
from tests.factories.staff import StaffMemberFactory

pytestmark = pytest.mark.django_db
URL = reverse("measurement_api:transactions-report")
# 10:00 in Shanghai: outside the quiet hours.
NOW = dt.datetime(2026, 5, 12, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def key(db):
    _api_key, raw = create_api_key(name="CRM", system="crm", actor=None)
    return raw


@pytest.fixture
def clerk(db):
    return StaffMemberFactory(employee_no="1001", phone="13900000001")


def post(payload, raw_key=None, client=None):
    client = client or APIClient()
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {raw_key}"} if raw_key else {}
    return client.post(URL, payload, format="json", **headers)


def item(tx_id="T1", **overrides):
    data = {
        "id": tx_id,
        "employee_no": "1001",
        "phone": "13812345678",
        "channel": "store",
        "served_at": "2026-05-12T09:30:00+08:00",
    }
    return data | overrides


def test_report_transactions_refused_when_key_missing(clerk):
    response = post({"transactions": [item()]})

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert ServiceTransaction.objects.count() == 0


@pytest.mark.parametrize("raw", ["ssk_deadbeef_wrong", "wrong", "ssk_" + "x" * 200])
def test_report_transactions_refused_when_key_wrong(clerk, key, raw):
    response = post({"transactions": [item()]}, raw_key=raw)

    assert response.status_code == 401
    assert response.json()["code"] == "bad_api_key"
    assert ServiceTransaction.objects.count() == 0


def test_report_transactions_refused_when_key_revoked(clerk, key):
    api_key = ServiceTransaction._meta.apps.get_model("evaluations", "TransactionApiKey")
    revoke_api_key(api_key.objects.get(), actor=None, reason="leaked")

    response = post({"transactions": [item()]}, raw_key=key)

    assert response.status_code == 401
    assert response.json()["code"] == "api_key_revoked"
    assert ServiceTransaction.objects.count() == 0


def test_report_transactions_records_and_plans_invitation(frozen, clerk, key):
    response = post({"transactions": [item()]}, raw_key=key)

    assert response.status_code == 200
    assert response.json() == {"results": [{"id": "T1", "status": "accepted"}]}
    tx = ServiceTransaction.objects.get()
    assert (tx.system, tx.external_id, tx.staff_member_id, tx.unit_id, tx.phone_masked) == (
        "crm",
        "T1",
        clerk.pk,
        clerk.unit_id,
        "138****5678",
    )
    assert tx.phone_hash == parse_phone("13812345678").hash
    invitation = RatingInvitation.objects.get()
    assert invitation.status == InvitationStatus.SCHEDULED
    assert invitation.phone_e164 == "+8613812345678"
    # Served 09:30 local, 30 minutes' delay: due 10:00 local = 02:00 UTC.
    assert invitation.due_at == dt.datetime(2026, 5, 12, 2, 0, tzinfo=dt.UTC)
    api_key = ServiceTransaction._meta.apps.get_model("evaluations", "TransactionApiKey")
    assert api_key.objects.get().last_used_at == NOW


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"id": ""}, "bad_id"),
        ({"id": None}, "bad_id"),
        ({"id": "x" * 65}, "bad_id"),
        ({"employee_no": "9999"}, "unknown_staff"),
        ({"employee_no": ["1001"]}, "unknown_staff"),
        ({"phone": "abc"}, "bad_phone"),
        ({"phone": "1.38001E+10"}, "bad_phone"),
        ({"phone": 13812345678}, "bad_phone"),
        ({"channel": "web"}, "bad_channel"),
        ({"channel": None}, "bad_channel"),
        ({"served_at": "yesterday"}, "bad_served_at"),
        ({"served_at": "2026-13-45T99:00:00"}, "bad_served_at"),
        ({"served_at": "2026-05-12T12:00:00+08:00"}, "served_in_future"),
    ],
)
def test_report_transactions_rejects_bad_item(frozen, clerk, key, overrides, code):
    response = post({"transactions": [item("GOOD"), item("BAD", **overrides)]}, raw_key=key)

    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0] == {"id": "GOOD", "status": "accepted"}
    assert (results[1]["status"], results[1]["code"]) == ("rejected", code)
    assert results[1]["detail"]
    assert list(ServiceTransaction.objects.values_list("external_id", flat=True)) == ["GOOD"]


def test_report_transactions_rejects_inactive_staff(frozen, key):
    StaffMemberFactory(employee_no="1001", is_active=False)

    response = post({"transactions": [item()]}, raw_key=key)

    assert response.json()["results"][0]["code"] == "unknown_staff"


def test_report_transactions_accepts_served_at_within_clock_skew(frozen, clerk, key):
    response = post({"transactions": [item(served_at="2026-05-12T10:04:00+08:00")]}, raw_key=key)

    assert response.json()["results"] == [{"id": "T1", "status": "accepted"}]


def test_report_transactions_is_idempotent(frozen, clerk, key):
    post({"transactions": [item("T1")]}, raw_key=key)

    response = post({"transactions": [item("T1"), item("T2"), item("T2")]}, raw_key=key)

    assert response.json()["results"] == [
        {"id": "T1", "status": "duplicate"},
        {"id": "T2", "status": "accepted"},
        {"id": "T2", "status": "duplicate"},
    ]
    assert ServiceTransaction.objects.count() == 2
    assert RatingInvitation.objects.count() == 2


def test_report_transactions_ids_are_per_system(frozen, clerk, key):
    _other, other_key = create_api_key(name="Billing", system="billing", actor=None)
    post({"transactions": [item("T1")]}, raw_key=key)

    response = post({"transactions": [item("T1")]}, raw_key=other_key)

    assert response.json()["results"] == [{"id": "T1", "status": "accepted"}]
    assert set(ServiceTransaction.objects.values_list("system", "external_id")) == {
        ("crm", "T1"),
        ("billing", "T1"),
    }


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"transactions": "nope"}, "invalid"),
        ({}, "invalid"),
        ([1, 2], "invalid"),
        ({"transactions": [item(str(n)) for n in range(1001)]}, "batch_too_large"),
    ],
)
def test_report_transactions_refuses_bad_envelope(clerk, key, payload, code):
    response = post(payload, raw_key=key)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert ServiceTransaction.objects.count() == 0


def test_report_transactions_accepts_full_batch(frozen, clerk, key):
    response = post({"transactions": [item(str(n)) for n in range(1000)]}, raw_key=key)

    assert {result["status"] for result in response.json()["results"]} == {"accepted"}
    assert ServiceTransaction.objects.count() == 1000


def test_invitation_rules_skip_opted_out_staff_and_recent(frozen, clerk, key):
    opted = parse_phone("13812340001")
    RatingOptOut.objects.create(phone_hash=opted.hash, phone_masked=opted.masked, created_at=NOW)
    StaffMemberFactory(employee_no="1002", phone="13812340002")
    payload = {
        "transactions": [
            item("A", phone="13812340001"),
            item("B", phone="13812340002"),
            item("C", phone="13812340003"),
            item("D", phone="13812340003"),
        ]
    }

    post(payload, raw_key=key)

    got = dict(
        RatingInvitation.objects.values_list("service_transaction__external_id", "skip_reason")
    )
    assert got == {
        "A": InvitationSkipReason.OPTED_OUT,
        "B": InvitationSkipReason.STAFF_PHONE,
        "C": "",
        "D": InvitationSkipReason.RECENTLY_INVITED,
    }
    assert set(
        RatingInvitation.objects.exclude(phone_e164="").values_list(
            "service_transaction__external_id", flat=True
        )
    ) == {"C"}


def test_invitation_again_after_interval(clerk, key, settings):
    settings.EVALUATIONS_INVITATION_INTERVAL_DAYS = 30
    with time_machine.travel(NOW, tick=False):
        post({"transactions": [item("A")]}, raw_key=key)
    later = NOW + dt.timedelta(days=30, seconds=1)
    with time_machine.travel(later, tick=False):
        post({"transactions": [item("B", served_at=later.isoformat())]}, raw_key=key)

    statuses = dict(
        RatingInvitation.objects.values_list("service_transaction__external_id", "status")
    )
    assert statuses == {"A": InvitationStatus.SCHEDULED, "B": InvitationStatus.SCHEDULED}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent PostgreSQL connections"
)
def test_report_transactions_same_batch_concurrently_inserts_once(clerk, key):
    """Seen failing: with ``ignore_conflicts`` removed, the second request died with an
    IntegrityError (a 500) instead of answering duplicates."""
    payload = {"transactions": [item(f"C{n}", served_at=None) for n in range(200)]}
    for entry in payload["transactions"]:
        entry["served_at"] = "2026-01-01T10:00:00+08:00"
    barrier = threading.Barrier(4)
    outcomes = [None] * 4

    def worker(index):
        try:
            barrier.wait()
            outcomes[index] = post(payload, raw_key=key).json()["results"]
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert ServiceTransaction.objects.count() == 200
    assert RatingInvitation.objects.count() == 200
    accepted = [
        result["id"] for results in outcomes for result in results if result["status"] == "accepted"
    ]
    assert sorted(accepted) == sorted(f"C{n}" for n in range(200))


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
_item = st.fixed_dictionaries(
    {},
    optional={
        "id": _json | st.text(max_size=70),
        "employee_no": _json | st.just("1001"),
        "phone": _json | st.just("13812345678") | st.text(alphabet="+0123456789 -", max_size=20),
        "channel": _json | st.sampled_from(["store", "call_centre", "account_manager"]),
        "served_at": _json | st.just("2026-05-12T09:30:00+08:00"),
    },
)


@given(
    body=st.one_of(
        _json, st.fixed_dictionaries({"transactions": st.lists(_item | _json, max_size=5)})
    )
)
@hsettings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_report_transactions_never_fails_on_any_body(frozen, clerk, key, body):
    response = post(body, raw_key=key)

    assert response.status_code in (200, 400)
    data = response.json()
    if response.status_code == 400:
        assert isinstance(data["code"], str)
        assert isinstance(data["detail"], str)
    else:
        assert len(data["results"]) == len(body["transactions"])
        assert {r["status"] for r in data["results"]} <= {"accepted", "duplicate", "rejected"}
