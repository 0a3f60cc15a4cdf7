"""The audit log's vocabulary: each app's ``AuditAction`` choices, registered at start-up.

Audit events store the action's stable value (``voting.vote.invalidated``). The apps that
write them sit above ``staff``, which owns the log, so the audit admin cannot import their
choices; each app registers its own in ``AppConfig.ready()`` instead, and the admin reads
the translated labels and the apps' model types from here.
"""

from django.db import models

_LABELS: dict[str, models.TextChoices] = {}
_APP_LABELS: list[str] = []


def register_audit_actions(app_label: str, *choices: type[models.TextChoices]) -> None:
    """Make ``choices`` known to the audit log as actions of the app ``app_label``.

    Idempotent (``ready()`` may run twice in tests).
    """
    if app_label not in _APP_LABELS:
        _APP_LABELS.append(app_label)
    for choice_class in choices:
        for member in choice_class:
            _LABELS[member.value] = member


def audit_action_label(value: str) -> str:
    """The translated label of an action value; the value itself if no app registered it."""
    member = _LABELS.get(value)
    return str(member.label) if member is not None else value


def audit_action_choices() -> list[tuple[str, str]]:
    """Every registered action as ``(value, translated label)``, in label order."""
    return sorted(((value, str(m.label)) for value, m in _LABELS.items()), key=lambda c: c[1])


def audit_app_labels() -> tuple[str, ...]:
    """The apps whose objects the audit log is about (those that registered actions)."""
    return tuple(_APP_LABELS)
