"""The SMS outbox and the inbound SMS log move to ``campaigns.messaging`` (issue 9).

No row is copied and no table is renamed: the tables keep their ``voting_`` names and
``campaigns 0002`` takes over their model state. What changes in the database here:

* ``outboundsms_template_valid`` is dropped: template keys are registered at run time by
  the apps that send SMS (``campaigns.messaging.templates``), so a constraint written in
  this app's migration would refuse every template another app registers later;
* the foreign key of ``voting_inboundsms.vote_id`` to the vote is dropped (the column, its
  values and its unique index stay): ``campaigns`` sits below ``voting`` and cannot refer
  to its models; the column becomes a plain id that the inbound handler fills.

Then the two models leave this app's state (the tables stay).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('voting', '0005_vote_ip_subnet_hash'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='outboundsms',
            name='outboundsms_template_valid',
        ),
        migrations.AlterField(
            model_name='inboundsms',
            name='vote',
            field=models.BigIntegerField(blank=True, db_column='vote_id', null=True, unique=True, verbose_name='vote'),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='InboundSms'),
                migrations.DeleteModel(name='OutboundSms'),
            ],
        ),
    ]
