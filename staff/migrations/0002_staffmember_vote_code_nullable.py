from django.db import migrations, models


class Migration(migrations.Migration):
    """Add ``StaffMember.vote_code``, empty for now; 0003 fills it, 0004 makes it required."""

    dependencies = [
        ("staff", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="staffmember",
            name="vote_code",
            field=models.CharField(max_length=16, null=True, verbose_name="vote code"),
        ),
    ]
