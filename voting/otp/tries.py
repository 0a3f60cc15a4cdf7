"""Who is guessing one-time codes: per-IP and per-device counts of wrong codes.

A number's code allows 5 tries, so without more a stranger who knows a number could use
them up and lock the owner out of their own code. These counts stop the guesser first:
every wrong code entered is a ``WrongCode`` row for the IP and the device it came from,
and an IP or device with too many in the window (``VOTING_OTP_WRONG_PER_IP``,
``VOTING_OTP_WRONG_PER_DEVICE`` within ``VOTING_OTP_WRONG_WINDOW_SECONDS``) is refused
before any code is looked at — its tries no longer count against anybody's code. The
refusal is the same whatever the number, so it tells nothing about it.

Counted in PostgreSQL like the sending limits, so they hold with Redis down and across
processes. The counts are not locked: a burst of concurrent guesses may overshoot them by
the number in flight. They are brakes; the 5 tries of each code (one conditional UPDATE in
``voting.otp.services.try_code``) are the promise that holds under any race.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils.translation import ngettext

from voting.exceptions import CodeLockedError
from voting.fingerprints import hash_device, hash_ip
from voting.models import WrongCode


@dataclass(frozen=True)
class CodeSource:
    """Where a code was entered: keyed hashes of the IP and of the device."""

    ip_hash: str
    device_hash: str


def code_source(
    *, ip: str | None, user_agent: str | None = None, device_id: str | None = None
) -> CodeSource:
    """The source of a request: its peer IP and its device cookie's id (or, without one,
    the fingerprint ``hash_device`` makes of its network and browser)."""
    return CodeSource(
        ip_hash=hash_ip(ip),
        device_hash=hash_device(device_id, ip=ip, user_agent=user_agent),
    )


def source_refusal(source: CodeSource, *, now: datetime) -> CodeLockedError | None:
    """``CodeLockedError`` if this IP or device entered too many wrong codes in the window,
    else ``None``. One aggregate query; reads only."""
    since = now - timedelta(seconds=settings.VOTING_OTP_WRONG_WINDOW_SECONDS)
    # "-" is never a hash: a request without an IP matches no IP rows, in the same shape.
    from_ip = Q(ip_hash=source.ip_hash or "-")
    from_device = Q(device_hash=source.device_hash)
    counts = WrongCode.objects.filter(from_ip | from_device, created_at__gte=since).aggregate(
        ip=Count("pk", filter=from_ip), device=Count("pk", filter=from_device)
    )
    if (
        counts["ip"] < settings.VOTING_OTP_WRONG_PER_IP
        and counts["device"] < settings.VOTING_OTP_WRONG_PER_DEVICE
    ):
        return None
    minutes = max(1, settings.VOTING_OTP_WRONG_WINDOW_SECONDS // 60)
    return CodeLockedError(
        ngettext(
            "Too many wrong codes were entered from this device or network. "
            "Wait %(minutes)d minute, then try again.",
            "Too many wrong codes were entered from this device or network. "
            "Wait %(minutes)d minutes, then try again.",
            minutes,
        )
        % {"minutes": minutes}
    )


def record_wrong_code(source: CodeSource, *, now: datetime) -> None:
    """Count one wrong code against its IP and device (one insert)."""
    WrongCode.objects.create(ip_hash=source.ip_hash, device_hash=source.device_hash, created_at=now)


def purge_wrong_codes(*, before: datetime) -> int:
    """Delete the wrong codes entered before ``before``; return how many."""
    deleted, _detail = WrongCode.objects.filter(created_at__lt=before).delete()
    return deleted
