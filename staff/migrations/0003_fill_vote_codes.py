from django.db import migrations
from django.db.models import F


def fill_vote_codes(apps, schema_editor):
    # Until now employee numbers were digits only (constraint staffmember_employee_no_digits),
    # so every existing staff member's vote code is their employee number: one UPDATE.
    StaffMember = apps.get_model("staff", "StaffMember")
    StaffMember.objects.filter(vote_code__isnull=True).update(vote_code=F("employee_no"))


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0002_staffmember_vote_code_nullable"),
    ]

    operations = [
        migrations.RunPython(fill_vote_codes, migrations.RunPython.noop),
    ]
