"""SMS messaging, shared by the apps above campaigns (voting, evaluations).

Outbound: a service queues a message with ``services.queue_sms`` (or ``queue_sms_bulk``)
in its own transaction — a pending ``OutboundSms`` row holding a template key, its
parameters and the language, never free text (``templates`` is the registry the sending
apps fill) — and wakes the sender on commit. The sender (``sender.send_pending_sms``, the
task ``campaigns.send_pending_sms``, swept by beat) sends through the backend named by
``SMS_BACKEND`` (``backends``: outbox, generic HTTP, Aliyun); every status change goes
through ``services.transition_sms`` and the table in ``choices``.

Inbound: the webhooks (``api``: generic signed, Twilio, Aliyun) authenticate and decode a
gateway's batch (``inbound.gateways``) and hand it to the router (``inbound.router``),
which claims message ids once, offers the messages to the handlers the upper apps
registered, gives the help reply to the rest and records every outcome.

This package imports nothing from ``voting`` or ``evaluations`` (an import-linter
contract): they register their templates and inbound handlers in ``AppConfig.ready()``.
"""
