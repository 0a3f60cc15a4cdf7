"""The "HR admins" and "Judges" groups and their permissions (data only).

HR admins run the product from the admin: every permission of the staff, campaigns, voting
and evaluations apps, except writing the audit log (it is read-only); viewing users; and
seeing and unlocking locked sign-ins (axes' access attempts and logs). Never anything of
auth's users or groups beyond viewing, so an HR admin cannot raise their own rights.
Judges sign in to the tablet screens only: the group carries no admin permission.

Permissions are created here first: on a fresh database Django makes them only after the
last migration (post_migrate). A model added later needs a migration of its own that adds
its permissions to the group (tests/staff/test_groups.py fails until it exists).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.models import Q

HR_ADMINS = "HR admins"
JUDGES = "Judges"
HR_APPS = ("staff", "campaigns", "voting", "evaluations")
READ_ONLY = {"staff": ["auditevent"]}
EXTRA = {
    "auth": ["view_user"],
    "axes": [
        "view_accessattempt",
        "delete_accessattempt",
        "view_accesslog",
        "view_accessfailurelog",
    ],
}


def hr_permissions(Permission):
    wanted = Q(content_type__app_label__in=HR_APPS)
    for app_label, models in READ_ONLY.items():
        for model in models:
            wanted &= ~Q(
                content_type__app_label=app_label,
                content_type__model=model,
                codename__regex=r"^(add|change|delete)_",
            )
    for app_label, codenames in EXTRA.items():
        wanted |= Q(content_type__app_label=app_label, codename__in=codenames)
    return Permission.objects.filter(wanted)


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    hr_admins, _created = Group.objects.get_or_create(name=HR_ADMINS)
    hr_admins.permissions.set(hr_permissions(Permission))
    Group.objects.get_or_create(name=JUDGES)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[HR_ADMINS, JUDGES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0004_vote_code_required_employee_no_letters"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("campaigns", "0004_inboundsms_votes_outcome_data"),
        ("voting", "0008_vote_frozen_stage_trigger"),
        ("evaluations", "0003_default_grade_weights"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
