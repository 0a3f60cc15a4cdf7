"""The outbound SMS status machine: one table (``SMS_TRANSITIONS``), one function
(``transition_sms``) that every status change of the sender goes through."""

import pytest

from campaigns.messaging.choices import SMS_TRANSITIONS, SmsStatus
from campaigns.messaging.exceptions import InvalidSmsTransitionError
from campaigns.messaging.models import OutboundSms
from campaigns.messaging.services import transition_sms
from tests.factories.messaging import OutboundSmsFactory

pytestmark = pytest.mark.django_db

HELD = {SmsStatus.PENDING, SmsStatus.SENDING}


def test_the_table_covers_every_status_and_only_known_ones():
    assert set(SMS_TRANSITIONS) == set(SmsStatus.values)
    assert all(targets <= set(SmsStatus.values) for targets in SMS_TRANSITIONS.values())
    assert SMS_TRANSITIONS[SmsStatus.SENT] == SMS_TRANSITIONS[SmsStatus.FAILED] == frozenset()


@pytest.mark.parametrize("source", SmsStatus.values)
@pytest.mark.parametrize("target", SmsStatus.values)
def test_every_move_is_allowed_exactly_as_the_table_says(source, target):
    number = "+8613500000000" if source in HELD else ""
    row = OutboundSmsFactory(status=source, to_e164=number, params={"code": "1", "n": 2})

    if target not in SMS_TRANSITIONS[source]:
        with pytest.raises(InvalidSmsTransitionError):
            transition_sms(row, target)
        assert OutboundSms.objects.get().status == source
        return
    assert transition_sms(row, target) == 1

    stored = OutboundSms.objects.get()
    assert (stored.status, row.status) == (target, target)
    if target in HELD:
        assert (stored.to_e164, stored.params) == (number, {"code": "1", "n": 2})
    else:  # a final status drops the number and the secret parameters
        assert (stored.to_e164, stored.params) == ("", {"n": 2})


def test_a_row_reaped_meanwhile_takes_a_late_answer_but_never_goes_back_to_pending():
    late_sent, late_retry = OutboundSmsFactory.create_batch(2, status=SmsStatus.SENDING)
    OutboundSms.objects.update(status=SmsStatus.UNKNOWN, to_e164="")  # another worker reaped

    assert transition_sms(late_sent, SmsStatus.SENT, provider_message_id="gw-1") == 1
    assert transition_sms(late_retry, SmsStatus.PENDING) == 0

    assert dict(OutboundSms.objects.values_list("pk", "status")) == {
        late_sent.pk: SmsStatus.SENT,
        late_retry.pk: SmsStatus.UNKNOWN,
    }


def test_a_batch_moves_in_one_call():
    rows = OutboundSmsFactory.create_batch(3)

    assert transition_sms(rows, SmsStatus.SENDING) == 3

    assert set(OutboundSms.objects.values_list("status", flat=True)) == {SmsStatus.SENDING}
