"""The default backend: nothing leaves the server; every message stays readable in the outbox.

With no gateway configured, the whole product can be tried: ``manage.py sms_outbox`` and
the admin show each "sent" message's text.
"""

from campaigns.messaging.backends.base import BaseSmsBackend, SmsMessage


class OutboxBackend(BaseSmsBackend):
    keeps_body = True

    def send(self, message: SmsMessage) -> str:
        return f"outbox-{message.id}"
