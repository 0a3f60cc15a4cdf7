"""Factories for the staff app. Units are created through the service so paths are right."""

import importlib

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from staff import services
from staff.choices import UnitKind
from staff.models import OrgUnit, Position, StaffMember
from staff.phones import parse_phone

GROUPS_MIGRATION = "staff.migrations.0005_hr_admin_and_judge_groups"


def hr_admins_group() -> Group:
    """The HR admins' group of the data migration; rebuilt by the same rule if a
    transactional test's flush emptied the tables."""
    group, created = Group.objects.get_or_create(name="HR admins")
    if created:
        group.permissions.set(importlib.import_module(GROUPS_MIGRATION).hr_permissions(Permission))
    return group


class UserFactory(factory.django.DjangoModelFactory):
    """``in_hr_admins=True``: a staff user in the HR admins' group, as the demo's ``hr``
    (the ``admin_user`` fixture, so the admin tests and their query counts see what an HR
    admin sees). ``hr_admin=True``: a superuser, for the few tests that need every
    permission."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        # The only post-generation hook adds a group (a separate table): nothing to re-save.
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("pass-word-123")

    class Params:
        hr_admin = factory.Trait(is_staff=True, is_superuser=True)
        in_hr_admins = factory.Trait(is_staff=True)

    hr_group = factory.Maybe(
        "in_hr_admins",
        yes_declaration=factory.PostGeneration(
            lambda user, create, extracted, **kwargs: user.groups.add(hr_admins_group())
        ),
    )


class OrgUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrgUnit

    code = factory.Sequence(lambda n: f"U{n:04d}")
    name = factory.Sequence(lambda n: f"单位{n}")
    kind = UnitKind.STORE
    parent = factory.LazyAttribute(
        lambda o: (
            None
            if o.kind == UnitKind.COMPANY
            else OrgUnitFactory(kind=UnitKind.COMPANY)
            if o.kind == UnitKind.BRANCH
            else OrgUnitFactory(kind=UnitKind.BRANCH)
        )
    )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.create_unit(**kwargs)


class PositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Position
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"pos{n}")
    name = factory.Sequence(lambda n: f"岗位{n}")


class StaffMemberFactory(factory.django.DjangoModelFactory):
    """``phone`` is a transient attribute: only its hash and masked form are stored."""

    class Meta:
        model = StaffMember
        exclude = ("phone_obj",)

    class Params:
        phone = factory.Sequence(lambda n: f"139{n:08d}")

    employee_no = factory.Sequence(lambda n: f"{n + 1000}")
    # A digit employee number is its own vote code; others get one from a block of their own.
    vote_code = factory.LazyAttributeSequence(
        lambda o, n: o.employee_no if o.employee_no.isdigit() else f"{900_000 + n}"
    )
    name = factory.Sequence(lambda n: f"员工{n}")
    unit = factory.SubFactory(OrgUnitFactory)
    position = factory.SubFactory(PositionFactory)
    phone_obj = factory.LazyAttribute(lambda o: parse_phone(o.phone))
    phone_hash = factory.LazyAttribute(lambda o: o.phone_obj.hash)
    phone_masked = factory.LazyAttribute(lambda o: o.phone_obj.masked)
