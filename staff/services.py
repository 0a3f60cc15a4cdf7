"""Write functions of the staff directory, and the audit log every app writes to."""

import io
import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import connection, models, transaction
from django.db.models import BigIntegerField, F, Max, Value
from django.db.models.functions import Cast, Concat, Length, Substr
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from staff.audit import clean_reason
from staff.choices import ALLOWED_PARENT_KINDS, AuditAction
from staff.exceptions import DomainError
from staff.identifiers import default_vote_code
from staff.models import AuditEvent, OrgUnit, StaffMember

logger = logging.getLogger(__name__)

THUMBNAIL_SIZE = (160, 160)
# Bounds on decoded photos: Pillow's own bomb guard stops at ~179 Mpx; a staff portrait
# never needs more than this, and a smaller bound keeps worker memory predictable.
MAX_PHOTO_PIXELS = 40_000_000

# Vote codes assigned to staff whose employee number has letters count up from here, past
# any assigned before. Six digits keep "TP 800123" short, and a block this high is rarely
# used by HR's own digit numbers (a clash is still caught: see ``allocate_vote_codes``).
FIRST_ASSIGNED_VOTE_CODE = 800_001
# The PostgreSQL advisory lock that serialises vote-code allocation; any fixed number
# that no other lock in the project uses.
VOTE_CODE_LOCK_KEY = 0x53_56_43  # "SVC"

Actor = AbstractBaseUser | AnonymousUser | None


def _actor_label(actor: Actor) -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "system"
    return actor.get_username()


def record_audit_event(
    target: models.Model | None,
    *,
    actor: Actor,
    action: str,
    reason: str = "",
    data: dict[str, Any] | None = None,
    campaign_id: int | None = None,
) -> AuditEvent:
    """Append one audit event inside the caller's transaction.

    Callers pass masked values only in ``data``: this function stores what it is given.
    """
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=user,
        actor_label=_actor_label(actor),
        action=action,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:255] if target is not None else "",
        campaign_id=campaign_id,
        reason=reason,
        data=data or {},
    )


def _check_parent(kind: str, parent: OrgUnit | None) -> None:
    parent_kind = parent.kind if parent is not None else None
    if parent_kind not in ALLOWED_PARENT_KINDS[kind]:
        raise DomainError(
            "bad_parent",
            _("A unit of this kind cannot be placed under the chosen parent."),
        )


@transaction.atomic
def create_unit(*, code: str, name: str, kind: str, parent: OrgUnit | None) -> OrgUnit:
    """Create a unit with its materialised path. Raises ``DomainError`` for a bad parent."""
    _check_parent(kind, parent)
    path = f"{parent.path if parent else ''}{code}/"
    depth = parent.depth + 1 if parent else 0
    return OrgUnit.objects.create(
        code=code, name=name, kind=kind, parent=parent, path=path, depth=depth
    )


@transaction.atomic
def update_unit(unit: OrgUnit, *, name: str, kind: str, parent: OrgUnit | None) -> OrgUnit:
    """Rename or move a unit; a move rewrites the paths of its whole subtree in one UPDATE.

    Locks the unit row. Raises ``DomainError`` when the move would make a cycle or put the
    unit under a parent its kind does not allow. The code is immutable: it is in every
    descendant's path and in staff import files.
    """
    unit = OrgUnit.objects.select_for_update().get(pk=unit.pk)
    if parent is not None and parent.path.startswith(unit.path):
        raise DomainError("bad_parent", _("A unit cannot be moved under itself."))
    _check_parent(kind, parent)
    old_path = unit.path
    new_path = f"{parent.path if parent else ''}{unit.code}/"
    depth_shift = (parent.depth + 1 if parent else 0) - unit.depth
    unit.name, unit.kind, unit.parent = name, kind, parent
    unit.save(update_fields=["name", "kind", "parent"])
    if new_path != old_path:
        OrgUnit.objects.filter(path__startswith=old_path).update(
            path=Concat(Value(new_path), Substr("path", len(old_path) + 1, Length("path"))),
            depth=models.F("depth") + depth_shift,
        )
        unit.refresh_from_db()
    return unit


def _make_thumbnail(image: Image.Image) -> ContentFile:
    thumb = ImageOps.fit(ImageOps.exif_transpose(image).convert("RGB"), THUMBNAIL_SIZE)
    buffer = io.BytesIO()
    thumb.save(buffer, format="JPEG", quality=82, optimize=True)
    return ContentFile(buffer.getvalue())


def validate_photo(upload: Any) -> Image.Image:
    """Open and verify an uploaded photo; raises ``DomainError("bad_photo")``."""
    try:
        upload.seek(0)
        image = Image.open(upload)
        if image.width * image.height > MAX_PHOTO_PIXELS:
            raise DomainError("bad_photo", _("The photo is too large (too many pixels)."))
        image.verify()
        upload.seek(0)
        image = Image.open(upload)
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise DomainError("bad_photo", _("The file is not a readable image.")) from exc
    if image.format not in {"JPEG", "PNG", "WEBP", "GIF"}:
        raise DomainError("bad_photo", _("Photos must be JPEG, PNG, WebP or GIF."))
    return image


@transaction.atomic
def set_staff_photo(member: StaffMember, *, upload: Any) -> StaffMember:
    """Store a new photo for a staff member and regenerate the thumbnail.

    Raises ``DomainError("bad_photo")`` for anything that is not a readable image.
    """
    image = validate_photo(upload)
    upload.seek(0)
    member.photo.save(getattr(upload, "name", "photo.jpg") or "photo.jpg", upload, save=False)
    member.thumbnail.save(f"{member.employee_no}.jpg", _make_thumbnail(image), save=False)
    member.save(update_fields=["photo", "thumbnail", "updated_at"])
    return member


@transaction.atomic
def set_staff_active(
    member: StaffMember, *, is_active: bool, actor: Actor, reason: str = ""
) -> StaffMember:
    """Activate or deactivate a staff member, with an audit event. Locks the row.

    The one path for both the list actions and the change form. Writes
    ``staff.member.deactivated`` / ``staff.member.activated`` with the reason (optional,
    checked by ``staff.audit.clean_reason``); a member already in that state is returned
    unchanged and nothing is recorded. Raises ``ReasonError`` for a reason that is too long.
    """
    reason = clean_reason(reason, required=False)
    member = StaffMember.objects.select_for_update().get(pk=member.pk)
    if member.is_active == is_active:
        return member
    member.is_active = is_active
    member.save(update_fields=["is_active", "updated_at"])
    record_audit_event(
        member,
        actor=actor,
        action=AuditAction.STAFF_ACTIVATED if is_active else AuditAction.STAFF_DEACTIVATED,
        reason=reason,
        data={"before": {"is_active": not is_active}, "after": {"is_active": is_active}},
    )
    return member


def lock_vote_codes() -> None:
    """Serialise vote-code allocation until the caller's transaction ends.

    Every writer that gives staff members vote codes (the import's confirm, the admin's
    staff form) takes this lock first, so two of them never hand out the same code or
    insert a digit employee number another is about to assign. PostgreSQL: a transaction
    advisory lock. SQLite needs none: it runs one writing transaction at a time.
    Must be called inside ``transaction.atomic``.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("lock_vote_codes() needs the caller's transaction")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [VOTE_CODE_LOCK_KEY])


def allocate_vote_codes(count: int, *, reserved: Iterable[str] = ()) -> list[str]:
    """``count`` new vote codes for staff whose employee number has letters.

    Deterministic: the next numbers after the highest code assigned so far (never below
    ``FIRST_ASSIGNED_VOTE_CODE``), skipping every code already held and every code in
    ``reserved`` (the digit employee numbers about to be written with them). Takes the
    vote-code lock (``lock_vote_codes``), so concurrent imports cannot collide; the
    unique index on ``vote_code`` referees anything else. Reads two queries; writes nothing.
    """
    lock_vote_codes()
    if count <= 0:
        return []
    held = set(StaffMember.objects.values_list("vote_code", flat=True))
    held.update(reserved)
    highest = (
        StaffMember.objects.exclude(vote_code=F("employee_no"))
        .annotate(number=Cast("vote_code", BigIntegerField()))
        .aggregate(highest=Max("number"))["highest"]
    )
    candidate = max(FIRST_ASSIGNED_VOTE_CODE, (highest or 0) + 1)
    codes: list[str] = []
    while len(codes) < count:
        code = str(candidate)
        if code not in held:
            codes.append(code)
        candidate += 1
    return codes


def vote_code_for(employee_no: str, *, current: str = "") -> str:
    """The vote code a staff member with ``employee_no`` must have: the employee number if
    it is digits, else the current code, else a newly allocated one.

    Takes the vote-code lock; must be called inside the transaction that saves the member.
    """
    lock_vote_codes()  # also for a digit number: an allocation must not hand it out meanwhile
    implied = default_vote_code(employee_no)
    if implied is not None:
        return implied
    return current or allocate_vote_codes(1)[0]
