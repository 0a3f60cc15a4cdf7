"""The registry of outbound SMS templates: key → label and text, owned by the apps that send.

Chinese gateways send only pre-approved templates with parameters, so an
outbox row stores a template *key* and parameters, never free text. The key belongs to
the app that sends the message (voting: ``otp``, ``vote_receipt``, ``vote_refused``;
evaluations: rating invitations), which registers it in ``AppConfig.ready()``::

    register_sms_template("otp", _("One-time code"), _("… %(code)s …"), language_source=True)

``text`` is either a (lazily translated) ``%``-format string filled with the parameters,
or a callable ``text(params) -> str`` for a text that needs more than substitution; either
way it runs under the message's language. The texts are what the outbox backend and the
generic HTTP gateway send, and should match what was filed for approval.

``language_source`` marks a message the customer asked for in a language of their choice
(the one-time code requested on the web page): the newest such message to a phone gives
the language of SMS replies to that phone (``selectors.reply_languages``).
``ttl_seconds`` bounds how late a message is still worth sending: one not sent within that
many seconds of being queued (a one-time code that has expired) is ``failed`` instead.

Registering the same key again with the same definition is a no-op (``ready()`` may run
twice in tests); a different definition under a taken key is an error.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise

TemplateText = str | Promise | Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True)
class SmsTemplateDefinition:
    key: str
    label: str | Promise
    text: TemplateText
    language_source: bool = False
    ttl_seconds: int | None = None


_templates: dict[str, SmsTemplateDefinition] = {}


def register_sms_template(
    key: str,
    label: str | Promise,
    text: TemplateText,
    *,
    language_source: bool = False,
    ttl_seconds: int | None = None,
) -> None:
    """Register template ``key`` (module docstring). Raises ``ValueError`` when ``key`` is
    taken by a different definition or longer than the model's 32 characters."""
    definition = SmsTemplateDefinition(key, label, text, language_source, ttl_seconds)
    if len(key) > 32:
        raise ValueError(f"SMS template key {key!r} is longer than 32 characters")
    existing = _templates.get(key)
    if existing is not None and existing != definition:
        raise ValueError(f"SMS template {key!r} is already registered differently")
    _templates[key] = definition


def registered_templates() -> list[SmsTemplateDefinition]:
    """Every registered template, in key order."""
    return [_templates[key] for key in sorted(_templates)]


def template_label(key: str) -> str:
    """The translated label of ``key``, or the key itself when nothing registered it."""
    definition = _templates.get(key)
    return str(definition.label) if definition else key


def language_source_keys() -> list[str]:
    """The keys whose newest message to a phone gives that phone's reply language."""
    return sorted(key for key, item in _templates.items() if item.language_source)


def template_ttl(key: str) -> int | None:
    """Seconds after which an unsent message of ``key`` is no longer sent (``None``: never)."""
    definition = _templates.get(key)
    return definition.ttl_seconds if definition else None


def render_sms(template: str, params: Mapping[str, Any], language: str | None = None) -> str:
    """The text of ``template`` with ``params`` in ``language`` (default ``LANGUAGE_CODE``).

    Raises ``KeyError`` for an unknown template or a missing parameter (and whatever a
    callable text raises for bad parameters: ``ValueError``, ``TypeError``).
    """
    definition = _templates[template]
    with translation.override(language or settings.LANGUAGE_CODE):
        if callable(definition.text) and not isinstance(definition.text, Promise):
            return definition.text(params)
        values = {key: str(value) for key, value in params.items()}
        return str(definition.text) % values
