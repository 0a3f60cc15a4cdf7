"""Keyed hashes of the request details the voting app keeps: IP, user agent, number block.

Like phone numbers (``staff.phones``) these are HMACs under ``PHONE_HASH_KEY``: the IPv4
space and the blocks of Chinese mobile numbers are small enough that an unkeyed hash would
be reversed by enumeration. Each kind has its own prefix, so hashes of different kinds
never collide. They support abuse limits and fraud review ("many votes from one IP"),
never identification.
"""

import hashlib
import hmac
import ipaddress

from django.conf import settings


def _keyed(kind: str, value: str) -> str:
    key = settings.PHONE_HASH_KEY.encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def hash_ip(ip: str | None) -> str:
    """Keyed hash of an IP address; empty for none. Invalid text is hashed as given."""
    if not ip:
        return ""
    try:
        ip = str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        ip = ip.strip()[:64]
    return _keyed("ip", ip)


def hash_user_agent(user_agent: str | None) -> str:
    """Keyed hash of a User-Agent header (first 512 characters); empty for none."""
    return _keyed("ua", user_agent[:512]) if user_agent else ""


def hash_number_block(e164: str) -> str:
    """Keyed hash of a number without its last two digits: 100 consecutive numbers share it."""
    return _keyed("block", e164[:-2])
