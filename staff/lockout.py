"""Sign-in lockout: django-axes counts failed sign-ins in the database, per account and,
separately, per client IP; ``AXES_FAILURE_LIMIT`` failures lock either one.

A lock holds against the right password too, until an HR admin unlocks it (the admin's
"Access attempts" page, ``staff.admin_lockout``) or ``AXES_COOLOFF_TIME`` passes without a
new failure. Locks and unlocks are audit events (``staff.login.locked`` / ``.unlocked``).

Any sign-in form (the admin's, the judges' tablet) gets the same protection by calling
``sign_in(request, username=…, password=…)``: it authenticates through axes, returns the
user or ``None`` for wrong credentials, and raises ``LoginLockedError`` (code
``login_locked``, status 429, a translated message) while the account or the IP is locked.
``is_locked_out`` answers the question without counting an attempt.
"""

import logging
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from staff.choices import AuditAction
from staff.exceptions import DomainError
from staff.services import Actor, record_audit_event

logger = logging.getLogger(__name__)


class LoginLockedError(DomainError):
    status_code = 429

    def __init__(self, message: str) -> None:
        super().__init__("login_locked", message)


def lockout_message(request: HttpRequest | None = None) -> str:
    """The translated text shown to someone whose sign-in is locked."""
    cool_off = get_cool_off(request)
    if cool_off is None:
        return _("Too many failed sign-ins. Ask an HR admin to unlock this account.")
    minutes = max(1, int(cool_off.total_seconds() // 60))
    return ngettext(
        "Too many failed sign-ins. Try again in %(minutes)d minute, or ask an HR admin "
        "to unlock this account.",
        "Too many failed sign-ins. Try again in %(minutes)d minutes, or ask an HR admin "
        "to unlock this account.",
        minutes,
    ) % {"minutes": minutes}


def is_locked_out(request: HttpRequest, *, username: str) -> bool:
    """Whether this account, or the request's IP, is locked now (nothing is counted)."""
    if not settings.AXES_ENABLED:
        return False
    return not AxesProxyHandler.is_allowed(request, {"username": username})


def sign_in(request: HttpRequest, *, username: str, password: str) -> AbstractBaseUser | None:
    """Authenticate a sign-in form through the lockout; the caller logs the user in.

    A failure counts towards the lock (axes writes ``AccessAttempt`` and, on locking, the
    audit event). Returns ``None`` for wrong credentials; raises ``LoginLockedError`` while
    the account or IP is locked, whatever the password.
    """
    user = authenticate(request, username=username, password=password)
    if getattr(request, "axes_locked_out", False):
        raise LoginLockedError(lockout_message(request))
    return user


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: the admin's locked page, or the API's JSON error."""
    message = lockout_message(request)
    if request.path_info.startswith("/api/"):
        return JsonResponse({"code": "login_locked", "detail": message}, status=429)
    context = {"title": _("Sign-in locked"), "message": message, "site_header": _("Sign-in")}
    # Rendered now: it is returned from a middleware, after TemplateResponses are rendered.
    return render(request, "admin/login_locked.html", context, status=429)


def record_lockout(
    sender: Any, *, request: HttpRequest, username: str | None, ip_address: str | None, **kwargs
) -> None:
    """Receiver of axes' ``user_locked_out``: one audit event when a lock starts.

    axes sends the signal for every failure at or past the limit; only the failure that
    reaches it starts a lock (later ones just extend it).
    """
    if getattr(request, "axes_failures_since_start", None) != settings.AXES_FAILURE_LIMIT:
        return
    user = get_user_model().objects.filter(username=username).first() if username else None
    record_audit_event(
        user,
        actor=None,
        action=AuditAction.LOGIN_LOCKED,
        data={"username": username or "", "ip_address": ip_address or ""},
    )
    logger.warning("security: sign-in locked after %s failures", settings.AXES_FAILURE_LIMIT)


@transaction.atomic
def unlock_sign_ins(attempts: QuerySet[AccessAttempt], *, actor: Actor, reason: str) -> int:
    """Delete the selected failed-sign-in records, which lifts their locks; return how many.

    Writes one ``staff.login.unlocked`` audit event per record (username, IP, failures),
    targeted at the user of that name when one exists.
    """
    users = get_user_model().objects.in_bulk(
        {a.username for a in attempts if a.username}, field_name="username"
    )
    count = 0
    for attempt in attempts.select_for_update():
        record_audit_event(
            users.get(attempt.username),
            actor=actor,
            action=AuditAction.LOGIN_UNLOCKED,
            reason=reason,
            data={
                "username": attempt.username or "",
                "ip_address": attempt.ip_address or "",
                "failures": attempt.failures_since_start,
            },
        )
        attempt.delete()
        count += 1
    return count
