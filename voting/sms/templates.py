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

from voting.choices import SmsTemplate

SMS_TEXTS = {
    SmsTemplate.OTP: _(
        "[Service Star] Your verification code is %(code)s. It is valid for 5 minutes. "
        "Do not share it with anyone."
    ),
    SmsTemplate.VOTE_RECEIPT: _(
        "[Service Star] Your vote for %(name)s (No. %(employee_no)s) was counted. "
        "Receipt %(receipt)s."
    ),
    SmsTemplate.VOTE_REFUSED: _("[Service Star] Your vote was not counted: %(reason)s"),
}


def render_sms(template: str, params: Mapping[str, Any], language: str | None = None) -> str:
    """The text of ``template`` with ``params``, in ``language`` (default ``LANGUAGE_CODE``).

    Raises ``KeyError`` for an unknown template or a missing parameter.
    """
    with translation.override(language or settings.LANGUAGE_CODE):
        return str(SMS_TEXTS[template]) % {key: str(value) for key, value in params.items()}
