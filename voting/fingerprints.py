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


def hash_ip_subnet(ip: str | None) -> str:
    """Keyed hash of the /24 (IPv4) or /48 (IPv6) network of an IP address, for the fraud
    review's subnet pattern; empty for none or for text that is not an address (there is
    no network to group by). An IPv4-mapped IPv6 address counts as its IPv4 address."""
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return _keyed("subnet", str(ipaddress.ip_network((address, prefix), strict=False)))


def hash_user_agent(user_agent: str | None) -> str:
    """Keyed hash of a User-Agent header (first 512 characters); empty for none."""
    return _keyed("ua", user_agent[:512]) if user_agent else ""


def hash_number_block(e164: str) -> str:
    """Keyed hash of a number without its last two digits: 100 consecutive numbers share it."""
    return _keyed("block", e164[:-2])


def hash_device(device_id: str | None, *, ip: str | None, user_agent: str | None) -> str:
    """Keyed hash of the device a request comes from: its device cookie's random id, or —
    for a client without one (the API, a script dropping cookies) — a fingerprint of its
    network (``hash_ip_subnet``) and its User-Agent."""
    if device_id:
        return _keyed("device", device_id[:64])
    network = hash_ip_subnet(ip) or hash_ip(ip)
    return _keyed("device-fp", f"{network}:{(user_agent or '')[:512]}")
