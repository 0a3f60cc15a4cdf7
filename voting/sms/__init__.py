"""Outbound SMS: the outbox, its backends and the sender.

A service that needs an SMS (a one-time code, a vote receipt) calls
``voting.sms.services.queue_sms`` inside its own transaction: that writes an
``OutboundSms`` row (template name, parameters, language, destination) and nothing else,
so the request never waits on a gateway or a broker (DESIGN.md §3.5). After commit it
wakes the sender with a short, error-swallowing broker call; Celery beat also sweeps the
outbox every few seconds, so a lost wake-up only delays a message.

The sender (``send_pending_sms``, run by the task ``voting.send_pending_sms``) claims due
rows with ``SELECT … FOR UPDATE SKIP LOCKED``, marks them ``sending`` and commits, sends
each through the backend named by ``SMS_BACKEND`` (read at call time, like Django's
``EMAIL_BACKEND``), then records the outcome:

* sent → ``sent``; the destination number is cleared (only the masked form stays) and a
  code parameter is scrubbed;
* temporary failure (5xx, flow control) → ``pending`` again with exponential backoff,
  up to ``SMS_MAX_ATTEMPTS`` attempts, then ``failed``;
* permanent failure (a refused number or template) → ``failed``;
* no answer after the request went out (a timeout) → ``unknown``: it is never re-sent
  blindly, since the gateway may have sent it; delivery reports carry our message id
  (Aliyun's ``OutId``) for reconciliation. A row left ``sending`` by a dead worker becomes
  ``unknown`` the same way.

Backends: ``voting.sms.backends.outbox.OutboxBackend`` (the default: sends nothing, keeps
the rendered text for ``manage.py sms_outbox`` and the admin),
``voting.sms.backends.http.HttpGatewayBackend`` (generic JSON POST) and
``voting.sms.backends.aliyun.AliyunBackend`` (Aliyun SendSms).
"""
