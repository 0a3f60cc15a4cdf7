"""Store inspections and mystery-shopper visits.

The checklist (``ChecklistItem``) has four kinds of items: *check* items earn their points
when ticked, *bonus* items add theirs, *deduction* items take theirs off, and a ticked
*veto* item makes the whole visit score 0. The score is::

    earned check points / all check points x 100 + bonus - deductions, within 0-100

(100 before bonuses when the checklist has no check items). A visit is a ``series`` of
versions: a correction writes version n+1 and marks it current; earlier versions stay.
"""

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from evaluations.measurement.choices import AuditAction, ChecklistItemKind, InspectionKind
from evaluations.measurement.exceptions import MeasurementError
from evaluations.models import ChecklistItem, Inspection, InspectionMark, InspectionPhoto
from staff.choices import UnitKind
from staff.models import OrgUnit
from staff.services import Actor, record_audit_event

HUNDRED = Decimal(100)


def inspection_score(items: Sequence[ChecklistItem], ticked: set[int]) -> tuple[Decimal, bool]:
    """The 0-100 score of a visit and whether a veto item zeroed it."""
    if any(item.kind == ChecklistItemKind.VETO and item.pk in ticked for item in items):
        return Decimal("0.00"), True
    checks = [item for item in items if item.kind == ChecklistItemKind.CHECK]
    total = sum((item.points for item in checks), Decimal(0))
    earned = sum((item.points for item in checks if item.pk in ticked), Decimal(0))
    score = earned / total * HUNDRED if total else HUNDRED
    for item in items:
        if item.pk in ticked and item.kind == ChecklistItemKind.BONUS:
            score += item.points
        elif item.pk in ticked and item.kind == ChecklistItemKind.DEDUCTION:
            score -= item.points
    score = min(max(score, Decimal(0)), HUNDRED)
    return score.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), False


def _marks(inspection: Inspection, items: Iterable[ChecklistItem], ticked: set[int]) -> None:
    InspectionMark.objects.bulk_create(
        InspectionMark(
            inspection=inspection,
            item=item,
            is_ticked=item.pk in ticked,
            points=item.points if item.pk in ticked else Decimal(0),
        )
        for item in items
    )


def _photos(inspection: Inspection, photos: Sequence[UploadedFile]) -> None:
    for photo in photos:
        InspectionPhoto.objects.create(inspection=inspection, image=photo)


@transaction.atomic
def record_inspection(
    store: OrgUnit,
    *,
    kind: str,
    visited_at: dt.datetime,
    inspector: Actor,
    ticked: set[int],
    note: str = "",
    photos: Sequence[UploadedFile] = (),
) -> Inspection:
    """Record version 1 of a store visit, scored against the active checklist.

    Writes the inspection, one mark per active item, the photos and an
    ``evaluations.inspection.recorded`` audit event. Raises ``MeasurementError``
    (``not_a_store``, ``bad_kind``, ``visit_in_future``).
    """
    if store.kind != UnitKind.STORE:
        raise MeasurementError("not_a_store", _("Inspections are recorded for stores only."))
    if kind not in InspectionKind.values:
        raise MeasurementError("bad_kind", _("Unknown kind of visit."))
    if visited_at > timezone.now() + dt.timedelta(minutes=5):
        raise MeasurementError("visit_in_future", _("The visit time is in the future."))
    items = list(ChecklistItem.objects.filter(is_active=True))
    score, vetoed = inspection_score(items, ticked)
    inspection = Inspection.objects.create(
        series=uuid.uuid4(),
        store=store,
        kind=kind,
        visited_at=visited_at,
        inspector=inspector,
        note=note,
        score=score,
        is_vetoed=vetoed,
        created_at=timezone.now(),
    )
    _marks(inspection, items, ticked)
    _photos(inspection, photos)
    record_audit_event(
        inspection,
        actor=inspector,
        action=AuditAction.INSPECTION_RECORDED,
        data={"store": store.code, "score": str(score), "vetoed": vetoed},
    )
    return inspection


@transaction.atomic
def correct_inspection(
    inspection: Inspection,
    *,
    actor: Actor,
    ticked: set[int],
    note: str,
    reason: str,
    photos: Sequence[UploadedFile] = (),
) -> Inspection:
    """Write a new version of a visit (same store, kind and time) and make it current.

    Locks the current version; refuses a stale one (``not_current``: someone corrected it
    first). Scores against the items of the original version. Photos of the earlier
    version are kept with it; new ones go with the new version. Writes an
    ``evaluations.inspection.corrected`` audit event with the reason.
    """
    current = (
        Inspection.objects.select_for_update().filter(series=inspection.series, is_current=True)
    ).first()
    if current is None or current.pk != inspection.pk:
        raise MeasurementError("not_current", _("This visit was corrected meanwhile; reload it."))
    items = [mark.item for mark in current.marks.select_related("item")]
    score, vetoed = inspection_score(items, ticked)
    Inspection.objects.filter(pk=current.pk).update(is_current=False)
    corrected = Inspection.objects.create(
        series=current.series,
        version=current.version + 1,
        store=current.store,
        kind=current.kind,
        visited_at=current.visited_at,
        inspector=current.inspector,
        note=note,
        score=score,
        is_vetoed=vetoed,
        created_at=timezone.now(),
    )
    _marks(corrected, items, ticked)
    _photos(corrected, photos)
    record_audit_event(
        corrected,
        actor=actor,
        action=AuditAction.INSPECTION_CORRECTED,
        reason=reason,
        data={"before": str(current.score), "after": str(score), "version": corrected.version},
    )
    return corrected
