"""API keys of the business systems that report transactions.

A key is ``ssk_`` + 8 characters of prefix + ``_`` + 43 random characters. Only its SHA-256
is stored, so a database dump reveals no usable key; the key is shown to the HR admin once,
when created. A plain (unkeyed) hash is enough here, unlike phone numbers: the key has
about 256 bits of randomness, far beyond any guessing. The prefix is kept in clear so the
admin can tell keys apart.
"""

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from evaluations.measurement.choices import AuditAction
from evaluations.measurement.exceptions import MeasurementError
from evaluations.models import TransactionApiKey
from staff.services import Actor, record_audit_event

KEY_PREFIX = "ssk_"
# last_used_at is written at most this often per key: one UPDATE per batch would otherwise
# make every ingest request contend for the key's row.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8", "surrogatepass")).hexdigest()


@transaction.atomic
def create_api_key(*, name: str, system: str, actor: Actor) -> tuple[TransactionApiKey, str]:
    """Create a key for ``system`` and return it with the raw key (shown once, never stored).

    Writes the key row and an ``evaluations.api_key.created`` audit event.
    """
    prefix = secrets.token_hex(4)
    raw_key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    user = actor if getattr(actor, "is_authenticated", False) else None
    api_key = TransactionApiKey.objects.create(
        name=name,
        system=system,
        prefix=f"{KEY_PREFIX}{prefix}",
        key_hash=hash_api_key(raw_key),
        created_by=user,
    )
    record_audit_event(
        api_key, actor=actor, action=AuditAction.API_KEY_CREATED, data={"system": system}
    )
    return api_key, raw_key


@transaction.atomic
def revoke_api_key(api_key: TransactionApiKey, *, actor: Actor, reason: str = "") -> None:
    """Revoke ``api_key``: every later request with it is refused (``api_key_revoked``).

    Locks the key row; writes ``revoked_at`` and an audit event. Refuses a key already
    revoked (``already_revoked``).
    """
    locked = TransactionApiKey.objects.select_for_update().get(pk=api_key.pk)
    if locked.revoked_at is not None:
        raise MeasurementError("already_revoked", _("This key is already revoked."))
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    record_audit_event(locked, actor=actor, action=AuditAction.API_KEY_REVOKED, reason=reason)
    api_key.revoked_at = locked.revoked_at


def api_key_for(raw_key: str) -> TransactionApiKey | None:
    """The key whose hash matches ``raw_key`` (revoked ones included), or ``None``."""
    if not raw_key.startswith(KEY_PREFIX) or len(raw_key) > 128:
        return None
    return TransactionApiKey.objects.filter(key_hash=hash_api_key(raw_key)).first()


def touch_api_key(api_key: TransactionApiKey, *, now: dt.datetime) -> None:
    """Record that ``api_key`` was used at ``now`` (at most once per minute per key)."""
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    TransactionApiKey.objects.filter(stale, pk=api_key.pk).update(last_used_at=now)
