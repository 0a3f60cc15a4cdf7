"""``manage.py sms_reconcile [--sent ID … | --failed ID …] --reason TEXT [--gateway-id X]
[--actor USERNAME]``: list or reconcile outbound SMS whose outcome is unknown.

Without ``--sent`` or ``--failed`` it lists them (outbox id, when, masked number,
template, last error): look each id up in the gateway's send records (Aliyun's ``OutId``).
Then record what you found: ``--sent`` for those the gateway sent (``--gateway-id`` its
message id, when reconciling one message), ``--failed`` for those it has no record of. A
reconciliation needs ``--reason`` and is audited under the active admin user named by
``--actor``, or else the one named like the operating-system login. Ids that are not
``unknown`` (any more) are reported and left alone. Exits non-zero on a refusal.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.messaging.choices import SmsStatus
from campaigns.messaging.selectors import unknown_outcome_messages
from campaigns.messaging.services import reconcile_sms
from staff.exceptions import DomainError
from staff.selectors import command_actor


class Command(BaseCommand):
    help = "List or reconcile outbound SMS whose outcome is unknown."

    def add_arguments(self, parser: CommandParser) -> None:
        outcome = parser.add_mutually_exclusive_group()
        outcome.add_argument(
            "--sent", nargs="+", type=int, metavar="ID", help="outbox ids the gateway sent"
        )
        outcome.add_argument(
            "--failed", nargs="+", type=int, metavar="ID", help="outbox ids the gateway never sent"
        )
        parser.add_argument("--reason", default="", help="why (recorded in the audit log)")
        parser.add_argument("--gateway-id", default="", help="the gateway's message id (one id)")
        parser.add_argument("--actor", default="", help="the admin user reconciling")

    def handle(self, *args: Any, **options: Any) -> None:
        ids = options["sent"] or options["failed"]
        if not ids:
            self._list()
            return
        outcome = SmsStatus.SENT if options["sent"] else SmsStatus.FAILED
        if options["gateway_id"] and len(ids) != 1:
            raise CommandError(_("--gateway-id names the gateway's id of one message only."))
        actor = command_actor(options["actor"])
        if actor is None:
            raise CommandError(_("No active admin user: name the admin reconciling with --actor."))
        try:
            done = reconcile_sms(
                ids,
                outcome=outcome,
                actor=actor,
                reason=options["reason"],
                provider_message_id=options["gateway_id"],
            )
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(_("%(n)d messages reconciled.") % {"n": done})
        if done < len(set(ids)):
            self.stdout.write(
                _("%(n)d of the ids had no unknown outcome; they were left alone.")
                % {"n": len(set(ids)) - done}
            )

    def _list(self) -> None:
        rows = list(unknown_outcome_messages())
        if not rows:
            self.stdout.write(_("No message has an unknown outcome."))
            return
        for row in rows:
            created = timezone.localtime(row.created_at).strftime("%Y-%m-%d %H:%M:%S")
            self.stdout.write(
                f"#{row.pk} {created} {row.phone_masked} {row.template} {row.last_error}"
            )
