"""Invitation timing (quiet hours) and the served-customer selectors for the vote ledger."""

import datetime as dt

import pytest

from campaigns import served as campaigns_served
from evaluations.measurement.invitations import outside_quiet_hours
from evaluations.measurement.selectors import served_customers, served_pairs, served_phone_hashes
from tests.factories.measurement import ServiceTransactionFactory
from tests.factories.staff import StaffMemberFactory

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def local(hour, minute=0, day=12):
    return dt.datetime(2026, 5, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (local(8, 0), local(8, 0)),
        (local(12, 30), local(12, 30)),
        (local(20, 59), local(20, 59)),
        (local(21, 0), local(8, 0, day=13)),
        (local(23, 45), local(8, 0, day=13)),
        (local(0, 0), local(8, 0)),
        (local(7, 59), local(8, 0)),
    ],
)
def test_outside_quiet_hours_default(moment, expected):
    assert outside_quiet_hours(moment) == expected


def test_outside_quiet_hours_not_wrapping_midnight(settings):
    settings.EVALUATIONS_QUIET_HOURS = ("12:00", "14:00")

    assert outside_quiet_hours(local(13, 0)) == local(14, 0)
    assert outside_quiet_hours(local(11, 59)) == local(11, 59)
    assert outside_quiet_hours(local(22, 0)) == local(22, 0)


def test_outside_quiet_hours_keeps_utc_inputs_in_utc():
    moment = dt.datetime(2026, 5, 12, 14, 0, tzinfo=dt.UTC)  # 22:00 in Shanghai

    result = outside_quiet_hours(moment)

    assert result == dt.datetime(2026, 5, 13, 0, 0, tzinfo=dt.UTC)
    assert result.tzinfo == dt.UTC


@pytest.mark.django_db
def test_served_phone_hashes_and_pairs():
    alice, bob = StaffMemberFactory(), StaffMemberFactory()
    window = (dt.datetime(2026, 5, 1, tzinfo=dt.UTC), dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    inside = ServiceTransactionFactory(
        staff_member=alice, phone="13800000001", served_at=dt.datetime(2026, 5, 5, tzinfo=dt.UTC)
    )
    before = ServiceTransactionFactory(
        staff_member=alice, phone="13800000002", served_at=dt.datetime(2026, 4, 30, tzinfo=dt.UTC)
    )
    by_bob = ServiceTransactionFactory(
        staff_member=bob, phone="13800000003", served_at=dt.datetime(2026, 5, 6, tzinfo=dt.UTC)
    )
    hashes = {inside.phone_hash, before.phone_hash, by_bob.phone_hash, "unknown"}

    served = served_phone_hashes(alice.pk, hashes, start=window[0], end=window[1])
    pairs = served_pairs(
        {(alice.pk, inside.phone_hash), (alice.pk, by_bob.phone_hash), (bob.pk, by_bob.phone_hash)},
        start=window[0],
        end=window[1],
    )

    assert served == {inside.phone_hash}
    assert pairs == {(alice.pk, inside.phone_hash), (bob.pk, by_bob.phone_hash)}
    assert served_phone_hashes(alice.pk, set(), start=window[0], end=window[1]) == set()


@pytest.mark.django_db
def test_served_lookup_is_registered_below_voting():
    from campaigns import served

    member = StaffMemberFactory()
    tx = ServiceTransactionFactory(
        staff_member=member, served_at=dt.datetime(2026, 5, 5, tzinfo=dt.UTC)
    )

    found = served.served_pairs(
        {(member.pk, tx.phone_hash), (member.pk, "other")},
        start=dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
        end=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
    )

    assert found == {(member.pk, tx.phone_hash)}


@pytest.mark.django_db
def test_served_customers_lists_distinct_recent_customers_per_staff_member_in_the_window():
    alice, bob, carol = StaffMemberFactory(), StaffMemberFactory(), StaffMemberFactory()
    window = (dt.datetime(2026, 5, 1, tzinfo=dt.UTC), dt.datetime(2026, 6, 1, tzinfo=dt.UTC))

    def served(member, phone, day):
        return ServiceTransactionFactory(
            staff_member=member, phone=phone, served_at=dt.datetime(2026, 5, day, tzinfo=dt.UTC)
        )

    oldest = served(alice, "13800000004", 1)  # the fourth customer: over per_staff
    old = served(alice, "13800000001", 2)
    again = served(alice, "13800000002", 3)
    served(alice, "13800000002", 8)  # the same customer twice: listed once
    latest = served(alice, "13800000003", 9)
    ServiceTransactionFactory(
        staff_member=alice, phone="13800000005", served_at=dt.datetime(2026, 4, 30, tzinfo=dt.UTC)
    )  # before the window
    by_bob = served(bob, "13800000006", 5)
    served(carol, "13800000007", 5)  # not asked for

    found = served_customers([alice.pk, bob.pk], start=window[0], end=window[1], per_staff=3)

    assert sorted(found) == sorted(
        [
            (alice.pk, latest.phone_hash, latest.phone_masked),
            (alice.pk, again.phone_hash, again.phone_masked),
            (alice.pk, old.phone_hash, old.phone_masked),
            (bob.pk, by_bob.phone_hash, by_bob.phone_masked),
        ]
    )
    assert oldest.phone_hash not in {phone_hash for _s, phone_hash, _m in found}
    assert campaigns_served.served_customers(
        [bob.pk], start=window[0], end=window[1], per_staff=1
    ) == [(bob.pk, by_bob.phone_hash, by_bob.phone_masked)]
