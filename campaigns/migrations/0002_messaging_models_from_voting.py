"""The SMS outbox and the inbound SMS log join ``campaigns.messaging`` (issue 9): model
state only. The tables exist already (created by the voting app's migrations, which
dropped these models from their state in ``voting 0006``) and keep their names; nothing
in the database changes here, so no row is copied or lost.

The state created is exactly the tables as they are: the old ``vote`` link becomes
``outcome_ref`` on the same ``vote_id`` column. ``0003`` then changes what does change.
"""

import django.db.models.functions.datetime
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0001_campaigns_stages_contestants'),
        ('voting', '0006_sms_models_move_to_campaigns_messaging'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='OutboundSms',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('to_e164', models.CharField(blank=True, help_text='Held only until the message is sent; cleared afterwards.', max_length=20, verbose_name='destination')),
                        ('phone_hash', models.CharField(max_length=64, verbose_name='phone key')),
                        ('phone_masked', models.CharField(max_length=16, verbose_name='phone')),
                        ('template', models.CharField(max_length=32, verbose_name='template')),
                        ('params', models.JSONField(blank=True, default=dict, verbose_name='parameters')),
                        ('language', models.CharField(max_length=16, verbose_name='language')),
                        ('body', models.TextField(blank=True, verbose_name='text')),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed'), ('unknown', 'Outcome unknown')], default='pending', max_length=16, verbose_name='status')),
                        ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='attempts')),
                        ('next_attempt_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), verbose_name='next attempt at')),
                        ('claimed_at', models.DateTimeField(blank=True, null=True, verbose_name='claimed at')),
                        ('last_error', models.TextField(blank=True, verbose_name='last error')),
                        ('provider_message_id', models.CharField(blank=True, max_length=128, verbose_name='provider message id')),
                        ('created_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), verbose_name='created at')),
                        ('sent_at', models.DateTimeField(blank=True, null=True, verbose_name='sent at')),
                    ],
                    options={
                        'verbose_name': 'outbound SMS',
                        'verbose_name_plural': 'outbound SMS',
                        'db_table': 'voting_outboundsms',
                        'ordering': ['-created_at', '-id'],
                        'indexes': [models.Index(fields=['status', 'next_attempt_at'], name='outboundsms_due'), models.Index(fields=['phone_hash', 'created_at'], name='outboundsms_phone')],
                        'constraints': [models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'sending', 'sent', 'failed', 'unknown'])), name='outboundsms_status_valid'), models.CheckConstraint(condition=models.Q(('status__in', ('pending', 'sending')), ('to_e164', ''), _connector='OR'), name='outboundsms_number_only_while_pending')],
                    },
                ),
                migrations.CreateModel(
                    name='InboundSms',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('provider', models.CharField(max_length=16, verbose_name='provider')),
                        ('message_id', models.CharField(max_length=100, verbose_name='provider message id')),
                        ('phone_hash', models.CharField(blank=True, max_length=64, verbose_name='phone key')),
                        ('phone_masked', models.CharField(blank=True, max_length=16, verbose_name='phone')),
                        ('to_number', models.CharField(blank=True, max_length=32, verbose_name='sent to')),
                        ('text', models.TextField(blank=True, verbose_name='text')),
                        ('received_at', models.DateTimeField(blank=True, null=True, verbose_name='received by the gateway')),
                        ('created_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), verbose_name='created at')),
                        ('status', models.CharField(choices=[('pending', 'Being handled'), ('counted', 'Vote counted'), ('refused', 'Refused'), ('help', 'Answered with help')], max_length=16, verbose_name='status')),
                        ('code', models.CharField(blank=True, max_length=32, verbose_name='refusal code')),
                        ('reply', models.TextField(blank=True, verbose_name='reply')),
                        ('outcome_ref', models.BigIntegerField(blank=True, db_column='vote_id', null=True, unique=True, verbose_name='outcome id')),
                    ],
                    options={
                        'verbose_name': 'inbound SMS',
                        'verbose_name_plural': 'inbound SMS',
                        'db_table': 'voting_inboundsms',
                        'ordering': ['-created_at', '-id'],
                        'constraints': [models.UniqueConstraint(fields=('provider', 'message_id'), name='inboundsms_unique_message'), models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'counted', 'refused', 'help'])), name='inboundsms_status_valid')],
                    },
                ),
            ],
        ),
    ]
