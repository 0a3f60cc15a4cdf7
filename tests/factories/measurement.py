"""Factories for service measurement (evaluations.models.measurement)."""

import datetime as dt
import uuid

import factory
from django.utils import timezone

from evaluations.measurement.choices import ChecklistItemKind, TransactionChannel
from evaluations.models import ChecklistItem, Rating, ServiceTransaction
from staff.phones import parse_phone
from tests.factories.staff import StaffMemberFactory


class ServiceTransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceTransaction
        exclude = ("phone_obj",)

    class Params:
        phone = factory.Sequence(lambda n: f"137{n:08d}")

    system = "crm"
    external_id = factory.Sequence(lambda n: f"T{n:06d}")
    staff_member = factory.SubFactory(StaffMemberFactory)
    unit = factory.SelfAttribute("staff_member.unit")
    channel = TransactionChannel.STORE
    phone_obj = factory.LazyAttribute(lambda o: parse_phone(o.phone))
    phone_hash = factory.LazyAttribute(lambda o: o.phone_obj.hash)
    phone_masked = factory.LazyAttribute(lambda o: o.phone_obj.masked)
    served_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))
    received_at = factory.LazyFunction(timezone.now)
    batch_id = factory.LazyFunction(uuid.uuid4)


class RatingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rating

    staff_member = factory.SubFactory(StaffMemberFactory)
    unit = factory.SelfAttribute("staff_member.unit")
    phone_hash = factory.Sequence(lambda n: f"{n:064x}")
    score = 10
    rated_at = factory.LazyFunction(timezone.now)


class ChecklistItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChecklistItem

    code = factory.Sequence(lambda n: f"item-{n}")
    label = factory.Sequence(lambda n: f"检查项 {n}")
    kind = ChecklistItemKind.CHECK
    points = 10
