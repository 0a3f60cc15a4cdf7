"""Every route answers every method without a 5xx (issue 13 items 3 and 4).

The walk covers every URL pattern of the project (``get_resolver()``), as anonymous, as a
judge and as an HR admin (the group, not a superuser), with GET, HEAD, OPTIONS, POST, PUT,
PATCH and DELETE. Path parameters get real ids from a small dataset, then junk: NUL bytes,
out-of-range integers, over-long strings. Any answer of 500 or more fails.
"""

import pytest
from django.contrib.auth.models import Group
from django.test import Client, override_settings

from tests.config.urlwalk import Route, routes
from tests.factories.campaigns import StageFactory
from tests.factories.messaging import OutboundSmsFactory
from tests.factories.staff import StaffMemberFactory, UserFactory
from tests.factories.voting import OtpChallengeFactory, VoteFactory

pytestmark = pytest.mark.django_db

METHODS = ("get", "head", "options", "post", "put", "patch", "delete")
ROUTES = routes()
TOKEN = "walk-aliyun-token"
JUNK = (
    {"int": "99999999999999999999", "str": "%00", "slug": "x" * 300, "path": "%00"},
    {"int": "0", "str": "100001%00" + "x" * 2000, "slug": "a%00", "path": "1%00/..%2F"},
)


@pytest.fixture
def dataset():
    """A stage with a contestant and a vote, an OTP and an SMS: real ids for the walk."""
    stage = StageFactory(open=True)
    vote = VoteFactory(
        stage=stage, contestant__staff_member=StaffMemberFactory(employee_no="100001")
    )
    OtpChallengeFactory()
    OutboundSmsFactory()
    hr = UserFactory(username="walk-hr", in_hr_admins=True)
    judge = UserFactory(username="walk-judge")
    judge.groups.add(Group.objects.get_or_create(name="Judges")[0])
    values = {
        "int": str(stage.pk),
        "str": "100001",
        "slug": "open",
        "path": "nothing/",
        "campaign_id": str(stage.campaign_id),
        "stage_id": str(stage.pk),
        "pk": str(stage.pk),
        "employee_no": "100001",
        "code": vote.receipt_code,
        "token": TOKEN,
        "job_id": "job-1",
        "move": "open",
        "kind": "results",
        "fmt": "csv",
        "id": str(hr.pk),
        "url": "nothing/",
    }
    return {"values": values, "hr": hr, "judge": judge}


def clients(dataset) -> dict[str, Client]:
    result = {}
    for who in ("anonymous", "judge", "hr"):
        client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
        if who != "anonymous":
            client.force_login(dataset[who])
        result[who] = client
    return result


def real_values(route: Route, values: dict[str, str]) -> dict[str, str]:
    model_admin = route.model_admin
    if model_admin is None:
        return values
    first = model_admin.model._default_manager.order_by("pk").values_list("pk", flat=True)
    return {**values, "object_id": str(first.first() or 1)}


def failures(client: Client, who: str, path: str, methods) -> list[tuple]:
    found = []
    for method in methods:
        response = getattr(client, method)(path)
        if response.status_code >= 500:
            found.append((who, method.upper(), path, response.status_code))
    return found


def test_the_walk_fills_every_route(dataset):
    unfilled = [r.template for r in ROUTES if r.path(real_values(r, dataset["values"])) is None]

    assert unfilled == []
    assert len(ROUTES) > 150


@pytest.mark.parametrize("route", ROUTES, ids=[r.template for r in ROUTES])
@override_settings(SMS_ALIYUN_CALLBACK_TOKEN=TOKEN)
def test_every_method_as_everyone_answers_without_a_server_error(dataset, route):
    path = route.path(real_values(route, dataset["values"]))
    found = []

    for who, client in clients(dataset).items():
        found += failures(client, who, path, METHODS)
        # Junk as the HR admin only: the one who gets past every permission check.
        if route.has_parameters and who == "hr":
            for junk in JUNK:
                found += failures(client, who, route.path(junk), ("get", "post"))

    assert found == []
