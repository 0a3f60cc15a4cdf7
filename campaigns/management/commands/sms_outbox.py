"""``manage.py sms_outbox [--phone P] [--last N]``: read the outbound SMS outbox.

With the default outbox backend nothing is really sent; this shows what would have been
(the webhook contract), e.g. the one-time code a developer needs to vote on the demo.
``--phone`` is normalised and hashed to look messages up: the outbox is searched by
the keyed hash, and full numbers are never printed.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from campaigns.messaging.selectors import outbox_messages
from campaigns.messaging.templates import render_sms
from staff.exceptions import InvalidPhoneError
from staff.phones import parse_phone


class Command(BaseCommand):
    help = "Show the newest outbound SMS (masked numbers), optionally for one phone."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--phone", help="Only messages to this number (any usual format).")
        parser.add_argument("--last", type=int, default=20, help="How many (default 20).")

    def handle(self, *args: Any, **options: Any) -> None:
        phone_hash = None
        if options["phone"]:
            try:
                phone_hash = parse_phone(options["phone"]).hash
            except InvalidPhoneError as exc:
                raise CommandError(str(exc.message)) from exc
        if options["last"] < 1:
            raise CommandError("--last must be at least 1.")
        messages = list(outbox_messages(phone_hash=phone_hash, last=options["last"]))
        if not messages:
            self.stdout.write("No messages.")
            return
        for message in messages:
            text = message.body
            if not text:
                try:
                    text = render_sms(message.template, message.params, message.language)
                except (KeyError, ValueError, TypeError):
                    text = f"<{message.template} {message.params}>"
            created = timezone.localtime(message.created_at).strftime("%Y-%m-%d %H:%M:%S")
            self.stdout.write(
                f"#{message.pk} {created} {message.phone_masked} "
                f"{message.template} [{message.status}]\n    {text}"
            )
