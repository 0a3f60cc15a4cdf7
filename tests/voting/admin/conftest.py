"""Fixtures of the fraud review admin tests: an English HR client and a planted cluster.

The stage has two candidates. Alice gets six votes from one IP within a minute from six
consecutive numbers (138****5670 … 5675): a cluster of both the "ip" and the "sequence"
patterns. Bob gets three clean votes: different IPs, unrelated numbers, ten hours apart (20:01
on the 20th, 06:01 and 16:01 on the 21st, Shanghai time).
"""

import datetime as dt
from dataclasses import dataclass

import pytest

from campaigns.models import Contestant, Stage
from tests.factories.campaigns import ContestantFactory, StageFactory
from tests.factories.staff import StaffMemberFactory
from tests.factories.voting import VoteFactory
from voting.choices import VoteChannel
from voting.fingerprints import hash_ip
from voting.models import Vote

# 10:01 in Shanghai; the cluster's 10-minute window is 10:00-10:10.
CLUSTER_AT = dt.datetime(2026, 11, 20, 2, 1, tzinfo=dt.UTC)
CLUSTER_PHONES = [f"1381234567{i}" for i in range(6)]
CLEAN_PHONES = ["13700000001", "15900002222", "18600003333"]


@pytest.fixture
def hr(admin_client):
    """The superuser "hr" with pages in English (requests default to Chinese)."""
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return admin_client


@dataclass
class Ledger:
    stage: Stage
    alice: Contestant
    bob: Contestant
    cluster: list[Vote]
    clean: list[Vote]

    @property
    def all_ids(self) -> set[int]:
        return {v.pk for v in self.cluster + self.clean}


@pytest.fixture
def ledger(db) -> Ledger:
    stage = StageFactory(open=True)
    alice = ContestantFactory(stage=stage, staff_member=StaffMemberFactory(employee_no="1234"))
    bob = ContestantFactory(stage=stage, staff_member=StaffMemberFactory(employee_no="5678"))
    cluster = [
        VoteFactory(
            stage=stage,
            contestant=alice,
            phone=phone,
            ip_hash=hash_ip("203.0.113.7"),
            cast_at=CLUSTER_AT + dt.timedelta(seconds=10 * i),
        )
        for i, phone in enumerate(CLUSTER_PHONES)
    ]
    clean = [
        VoteFactory(
            stage=stage,
            contestant=bob,
            phone=phone,
            ip_hash=hash_ip(f"198.51.100.{i + 1}"),
            cast_at=CLUSTER_AT + dt.timedelta(hours=10 * (i + 1)),
            channel=VoteChannel.SMS if i == 2 else VoteChannel.WEB,
        )
        for i, phone in enumerate(CLEAN_PHONES)
    ]
    return Ledger(stage=stage, alice=alice, bob=bob, cluster=cluster, clean=clean)
