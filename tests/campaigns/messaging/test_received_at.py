"""A gateway's ``received_at`` is informational: kept when it is a real moment, dropped
(``None``) when it is unreadable or one that neither Python nor PostgreSQL could store."""

import datetime as dt

import pytest

from campaigns.messaging.inbound.gateways import _received_at

UTC = dt.UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-02T20:15:00+08:00", dt.datetime(2026, 12, 2, 12, 15, tzinfo=UTC)),
        ("2026-12-02T12:15:00Z", dt.datetime(2026, 12, 2, 12, 15, tzinfo=UTC)),
        ("2026-12-02T20:15:00", dt.datetime(2026, 12, 2, 12, 15, tzinfo=UTC)),  # Shanghai
        (1796213700, dt.datetime(2026, 12, 2, 12, 15, tzinfo=UTC)),
        ("9999-12-31T23:59:59-14:00", None),  # past year 9999 in UTC
        ("2026-12-02T20:15:00+21:23", None),  # no such UTC offset
        ("0001-01-01T00:00:00+14:00", None),
        ("1899-01-01T00:00:00Z", None),
        (10**20, None),
        (-(10**12), None),
        ("yesterday", None),
        ("", None),
        (None, None),
        (True, None),
        (["2026-12-02"], None),
    ],
)
def test_received_at_keeps_real_moments_and_drops_the_rest(value, expected):
    assert _received_at(value) == expected
