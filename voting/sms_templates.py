"""The voting app's outbound SMS templates, registered with the messaging template registry
(``campaigns.messaging.templates``) by ``VotingConfig.ready()``.

Gateways that send pre-approved templates (Aliyun, Tencent) receive the template key and
parameters and use their own approved text; these texts are what the outbox backend and
the generic HTTP gateway send, and they should match what was filed for approval.
"""

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from campaigns.messaging.templates import register_sms_template
from voting.choices import OTP_TTL_SECONDS, SmsTemplate

OTP_TEXT = _(
    "[Service Star] Your verification code is %(code)s. It is valid for 5 minutes. "
    "Do not share it with anyone."
)
RECEIPT_TEXT = _(
    "[Service Star] Your vote for %(name)s (No. %(employee_no)s) was counted. "
    "%(votes_left)s Receipt %(receipt)s."
)
REFUSED_TEXT = _("[Service Star] Your vote was not counted: %(reason)s")


def votes_left_text(remaining_today: int | None) -> str:
    """The sentence "N votes left today." (the no-daily-limit one for ``None``), in the active
    language. The web result page (``voting/vote_result.html``) shows the same two
    messages (same msgids), so a voter reads the same words on both channels."""
    if remaining_today is None:
        return str(_("There is no daily limit: you may vote again."))
    n = int(remaining_today)
    return ngettext("%(n)s vote left today.", "%(n)s votes left today.", n) % {"n": n}


def receipt_text(params: Mapping[str, Any]) -> str:
    """The receipt in the active language: ``name``, ``employee_no``, ``receipt`` and
    ``remaining_today`` (an int, or ``None`` when the stage has no daily limit), which
    becomes the ``votes_left`` sentence. Raises ``KeyError`` for a missing parameter."""
    values = {key: str(value) for key, value in params.items()}
    values["votes_left"] = votes_left_text(params["remaining_today"])
    return str(RECEIPT_TEXT) % values


def register_templates() -> None:
    """Register the voting templates (idempotent)."""
    # The code's language is the one the voter chose on the web page: SMS replies to the
    # same phone follow it (campaigns.messaging.selectors.reply_languages).
    register_sms_template(
        SmsTemplate.OTP,
        SmsTemplate.OTP.label,
        OTP_TEXT,
        language_source=True,
        ttl_seconds=OTP_TTL_SECONDS,
    )
    register_sms_template(SmsTemplate.VOTE_RECEIPT, SmsTemplate.VOTE_RECEIPT.label, receipt_text)
    register_sms_template(SmsTemplate.VOTE_REFUSED, SmsTemplate.VOTE_REFUSED.label, REFUSED_TEXT)
