"""Asking for a vote code with the answers a voter can act on before an SMS is spent.

``request_otp`` sends a code or stays silent, whatever the number: nothing about a number
can be learnt from it. ``request_vote_code`` puts two answers in front of it that tell the
asker only what sending the code would have shown them anyway:

* **No votes left.** Asked for a stage, a number that has used all of its votes for today
  (or for the stage) is told so and gets no code: with the code it could only be refused.
  A number that never voted and one with votes left get the same answer (the code), so
  only a number that really has none learns anything, and it learns what its own next vote
  would have said.
* **Wait N seconds.** A number sent a code less than ``VOTING_OTP_RESEND_SECONDS`` ago is
  told how many seconds to wait instead of "a code is on its way" (the live code stands),
  unless that code was blocked by wrong tries: its owner gets a new one at once.

Every number costs the same queries up to those answers (the usage read is made even when
no stage is given), and the other sending limits stay silent in ``request_otp``.
"""

import datetime as dt
import math

from django.conf import settings
from django.db.models import Max
from django.utils.translation import ngettext

from campaigns.clock import db_now, local_day
from campaigns.models import Stage
from staff.phones import parse_phone
from voting.choices import RateOutcome
from voting.exceptions import ResendTooSoonError
from voting.ledger.rules import check_vote_limits
from voting.ledger.selectors import vote_usage
from voting.models import RateEvent
from voting.otp.services import newest_code_blocked, request_otp


def resend_wait_seconds(phone_hash: str, *, now: dt.datetime) -> int:
    """Whole seconds until ``phone_hash`` may be sent another code (0: now). One query."""
    last = RateEvent.objects.filter(phone_hash=phone_hash, outcome=RateOutcome.SENT).aggregate(
        last=Max("created_at")
    )["last"]
    if last is None:
        return 0
    left = (last + dt.timedelta(seconds=settings.VOTING_OTP_RESEND_SECONDS) - now).total_seconds()
    return max(math.ceil(left), 0)


def wait_message(seconds: int) -> str:
    """ "Please try again in N seconds." in the active language."""
    return ngettext(
        "Please try again in %(n)s second.", "Please try again in %(n)s seconds.", seconds
    ) % {"n": seconds}


def request_vote_code(
    *, phone: str, ip: str | None, stage: Stage | None = None, language: str | None = None
) -> None:
    """Send a one-time code to ``phone`` for voting in ``stage``, unless the number has no
    votes left there or was sent a code within the last minute (module docstring).

    Reads the number's usage in ``stage`` (by the database clock's local day) and its last
    sent code, then calls ``request_otp`` (which writes and queues what it documents).
    Raises ``InvalidPhoneError`` (``bad_phone``), ``LimitReachedError`` (``limit_reached``:
    no votes left today or in the stage; nothing written, no SMS) and ``ResendTooSoonError``
    (``resend_too_soon`` with ``retry_after``; nothing written, the live code stands).
    """
    parsed = parse_phone(phone)
    now = db_now()
    # Read for every number, with or without a stage: the same queries for everyone.
    usage = vote_usage(stage.pk if stage else 0, parsed.hash, day=local_day(now))
    if stage is not None:
        check_vote_limits(stage, today=usage.today, in_stage=usage.stage, for_candidate=0)
    # Both reads for every number (the same queries for everyone); the owner of a code
    # blocked by wrong tries gets a new one without the wait, as ``request_otp`` allows.
    blocked = newest_code_blocked(parsed.hash)
    wait = resend_wait_seconds(parsed.hash, now=now)
    if wait and not blocked:
        raise ResendTooSoonError(wait_message(wait), retry_after=wait)
    request_otp(phone=parsed.e164, ip=ip, language=language)
