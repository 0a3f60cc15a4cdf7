"""The audit log in the admin: actions by their translated names, filtered by the product's
own kinds of object (issue 14 item 6)."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from staff.models import AuditEvent
from staff.services import record_audit_event
from tests.factories.campaigns import StageFactory
from tests.factories.staff import StaffMemberFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:staff_auditevent_changelist")


@pytest.fixture
def events(admin_user):
    member = StaffMemberFactory(name="张晓明")
    stage = StageFactory()
    record_audit_event(member, actor=admin_user, action="staff.member.deactivated")
    record_audit_event(stage, actor=admin_user, action="campaigns.stage.opened")
    record_audit_event(None, actor=None, action="voting.vote.invalidated", reason="同一网段")
    return member, stage


def test_audit_log_shows_actions_by_their_translated_names(admin_client, events):
    response = admin_client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="zh-hans")

    page = response.content.decode()
    start = page.index('id="result_list"')
    table = page[start : page.index("</table>", start)]
    assert response.status_code == 200
    for label in ("员工已停用", "阶段开启", "投票已作废"):
        assert label in table
    for value in ("staff.member.deactivated", "campaigns.stage.opened", "voting.vote.invalidated"):
        assert value not in table


def test_audit_log_filters_by_translated_action(admin_client, events):
    response = admin_client.get(
        CHANGELIST, {"action": "campaigns.stage.opened"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )

    action_filter = next(
        f for f in response.context["cl"].filter_specs if f.parameter_name == "action"
    )
    offered = dict(action_filter.lookup_choices)
    assert [e.action for e in response.context["cl"].result_list] == ["campaigns.stage.opened"]
    assert offered["voting.vote.invalidated"] == "投票已作废"
    assert offered["evaluations.score.reopened"] == "评委评分已重新开放"


def test_audit_log_object_types_are_the_products_own(admin_client, events):
    member, _stage = events

    response = admin_client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="zh-hans")

    type_filter = next(
        f for f in response.context["cl"].filter_specs if f.parameter_name == "target_type"
    )
    offered_apps = {
        ContentType.objects.get(pk=pk).app_label for pk, _label in type_filter.lookup_choices
    }
    assert offered_apps == {"staff", "campaigns", "voting", "evaluations"}
    labels = dict(type_filter.lookup_choices)
    staff_type = ContentType.objects.get_for_model(member)
    assert labels[str(staff_type.pk)] == "员工名录 · 员工"


def test_audit_log_filter_by_object_type_lists_only_that_type(admin_client, events):
    member, _stage = events
    staff_type = ContentType.objects.get_for_model(member)

    response = admin_client.get(CHANGELIST, {"target_type": staff_type.pk})

    assert [e.target_type_id for e in response.context["cl"].result_list] == [staff_type.pk]
    assert AuditEvent.objects.count() == 3
