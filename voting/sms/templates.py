"""Texts of the outbound SMS templates, translated into the message's language.

Gateways that send pre-approved templates (Aliyun, Tencent) receive the template name and
parameters and use their own approved text; these texts are what the outbox backend and
the generic HTTP gateway send, and they should match what was filed for approval.
"""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from voting.choices import SmsTemplate

SMS_TEXTS = {
    SmsTemplate.OTP: _(
        "[Service Star] Your verification code is %(code)s. It is valid for 5 minutes. "
        "Do not share it with anyone."
    ),
    SmsTemplate.VOTE_RECEIPT: _(
        "[Service Star] Your vote for %(name)s (No. %(employee_no)s) was counted. "
        "%(votes_left)s Receipt %(receipt)s."
    ),
    SmsTemplate.VOTE_REFUSED: _("[Service Star] Your vote was not counted: %(reason)s"),
}


def votes_left_text(remaining_today: int | None) -> str:
    """The sentence "N votes left today." (the no-daily-limit one for ``None``), in the active
    language. The web result page (``voting/vote_result.html``) shows the same two
    messages (same msgids), so a voter reads the same words on both channels."""
    if remaining_today is None:
        return str(_("There is no daily limit: you may vote again."))
    n = int(remaining_today)
    return ngettext("%(n)s vote left today.", "%(n)s votes left today.", n) % {"n": n}


def render_sms(template: str, params: Mapping[str, Any], language: str | None = None) -> str:
    """The text of ``template`` with ``params``, in ``language`` (default ``LANGUAGE_CODE``).

    ``vote_receipt`` takes ``name``, ``employee_no``, ``receipt`` and ``remaining_today``
    (an int, or ``None`` when the stage has no daily limit), which becomes the translated
    ``votes_left`` sentence. Raises ``KeyError`` for an unknown template or a missing
    parameter.
    """
    with translation.override(language or settings.LANGUAGE_CODE):
        text = SMS_TEXTS[template]
        values = {key: str(value) for key, value in params.items()}
        if template == SmsTemplate.VOTE_RECEIPT:
            values["votes_left"] = votes_left_text(params["remaining_today"])
        return str(text) % values
