"""Sign-in links: a judge (public judges have no password) signs in from a printed link
or QR code.

The URL carries the link row's id signed with ``SECRET_KEY`` (``django.core.signing``,
salted), so a link can be printed again at any time and cannot be forged or guessed. It
works while the row is not revoked, the judge is still on the panel and the stage has not
stopped taking scores (closed, or past ``closes_at``): links expire with the stage.
"""

from django.core import signing
from django.db import transaction
from django.utils.translation import gettext as _

from campaigns.choices import StageStatus
from campaigns.clock import db_now
from evaluations.choices import AuditAction
from evaluations.exceptions import BadLinkError, JudgingError
from evaluations.models import Judge, Panel, SignInLink
from staff.audit import clean_reason
from staff.services import Actor, record_audit_event

SALT = "evaluations.sign-in-link"
LIVE_STATUSES = frozenset({StageStatus.DRAFT, StageStatus.SCHEDULED, StageStatus.OPEN})


def link_token(link: SignInLink) -> str:
    """The token in the link's URL (the same every time it is printed)."""
    return signing.dumps(link.pk, salt=SALT, compress=False)


@transaction.atomic
def issue_sign_in_link(panel: Panel, *, judge: Judge, actor: Actor) -> SignInLink:
    """Issue a sign-in link for a judge of the panel. Writes ``evaluations.link.issued``.
    Raises ``JudgingError`` (``not_on_panel``)."""
    if not panel.judges.filter(pk=judge.pk).exists():
        raise JudgingError("not_on_panel", _("This judge is not on the panel."))
    link = SignInLink.objects.create(
        judge=judge, panel=panel, created_by=actor if getattr(actor, "pk", None) else None
    )
    record_audit_event(
        link,
        actor=actor,
        action=AuditAction.LINK_ISSUED,
        data={"judge": judge.pk},
        campaign_id=panel.stage.campaign_id,
    )
    return link


@transaction.atomic
def revoke_sign_in_link(link: SignInLink, *, actor: Actor, reason: str) -> SignInLink:
    """Revoke a link (idempotent). Writes ``evaluations.link.revoked`` with the reason."""
    reason = clean_reason(reason, required=True)
    link = SignInLink.objects.select_for_update().select_related("panel__stage").get(pk=link.pk)
    if link.revoked_at is not None:
        return link
    link.revoked_at = db_now()
    link.save(update_fields=["revoked_at"])
    record_audit_event(
        link,
        actor=actor,
        action=AuditAction.LINK_REVOKED,
        reason=reason,
        data={"judge": link.judge_id},
        campaign_id=link.panel.stage.campaign_id,
    )
    return link


@transaction.atomic
def use_sign_in_link(token: str) -> SignInLink:
    """Check a link's token and stamp its use; the caller logs the judge's user in.

    Raises ``BadLinkError`` (``bad_link``) for a malformed or forged token, a revoked
    link, a judge no longer on the panel, or a stage no longer taking scores; nothing is
    written then. Writes ``evaluations.link.used``."""
    try:
        link_id = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise BadLinkError(_("This sign-in link is not valid.")) from None
    link = (
        SignInLink.objects.select_for_update()
        .select_related("judge__user", "panel__stage")
        .filter(pk=link_id)
        .first()
        if isinstance(link_id, int)
        else None
    )
    if link is None or link.revoked_at is not None:
        raise BadLinkError(_("This sign-in link has been revoked."))
    stage = link.panel.stage
    now = db_now()
    expired = stage.status not in LIVE_STATUSES or (
        stage.closes_at is not None and now >= stage.closes_at
    )
    if expired:
        raise BadLinkError(_("This sign-in link has expired with its contest."))
    if not link.panel.judges.filter(pk=link.judge_id).exists() or not link.judge.user.is_active:
        raise BadLinkError(_("This judge is no longer on the panel."))
    link.last_used_at = now
    link.save(update_fields=["last_used_at"])
    record_audit_event(
        link,
        actor=link.judge.user,
        action=AuditAction.LINK_USED,
        data={"judge": link.judge_id},
        campaign_id=stage.campaign_id,
    )
    return link
