"""The served-customer rule of a stage (issue 11 item 8): validated, audited like the other
rule changes, and edited in the rules form with its help text, in both languages."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from campaigns.choices import AuditAction, StageStatus
from campaigns.exceptions import InvalidRulesError
from campaigns.services.rules import update_stage_rules
from staff.models import AuditEvent
from tests.campaigns.admin.test_stage_admin import rules_post
from tests.factories.campaigns import StageFactory

pytestmark = pytest.mark.django_db


def change_url(stage) -> str:
    return reverse("admin:campaigns_stage_change", args=[stage.pk])


def test_a_served_rule_change_of_an_open_stage_is_audited_with_its_reason(admin_user):
    stage = StageFactory(open=True)

    update_stage_rules(
        stage,
        changes={"served_vote_weight": Decimal(2)},
        actor=admin_user,
        reason="Reward customers who were really served",
    )

    stage.refresh_from_db()
    assert stage.served_vote_weight == Decimal(2)
    event = AuditEvent.objects.get(action=AuditAction.RULES_CHANGED)
    assert event.reason == "Reward customers who were really served"
    assert event.data == {
        "status": StageStatus.OPEN,
        "before": {"served_vote_weight": "1.00"},
        "after": {"served_vote_weight": "2"},
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"served_vote_weight": Decimal("0.5")}, "between 1 and 10"),
        ({"served_vote_weight": Decimal(11)}, "between 1 and 10"),
        ({"served_vote_weight": Decimal(3), "served_votes_only": True}, "leave their weight at 1"),
    ],
)
def test_a_bad_served_rule_is_refused_and_changes_nothing(admin_user, changes, message):
    stage = StageFactory()

    with pytest.raises(InvalidRulesError) as excinfo:
        update_stage_rules(stage, changes=changes, actor=admin_user)

    assert message in str(excinfo.value.message)
    stage.refresh_from_db()
    assert (stage.served_vote_weight, stage.served_votes_only) == (Decimal(1), False)
    assert not AuditEvent.objects.exists()


def test_the_rules_form_shows_the_served_rule_with_its_help(hr):
    stage = StageFactory()

    page = hr.get(change_url(stage))

    assert 'name="served_vote_weight"' in page.text
    assert 'name="served_votes_only"' in page.text
    assert "How many votes one vote of a customer the candidate served counts as" in page.text


def test_the_rules_form_saves_served_votes_only(hr):
    stage = StageFactory()

    response = hr.post(change_url(stage), rules_post(stage, served_votes_only="on"))

    stage.refresh_from_db()
    assert response.status_code == 302
    assert stage.served_votes_only is True


def test_the_rules_form_refuses_a_bad_weight_in_chinese(client, admin_user):
    client.force_login(admin_user)
    stage = StageFactory()

    response = client.post(
        change_url(stage),
        rules_post(stage, served_vote_weight="20"),
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    stage.refresh_from_db()
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["served_vote_weight"]
    with translation.override("zh-hans"):
        expected = translation.gettext(
            "A served customer's vote weight must be between %(low)s and %(high)s."
        ) % {"low": 1, "high": 10}
    assert errors == [expected]
    assert expected != "A served customer's vote weight must be between 1 and 10."
    assert stage.served_vote_weight == Decimal(1)
