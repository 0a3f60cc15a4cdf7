"""Phone numbers: normalise, hash, mask.

Phone numbers are personal data (DESIGN.md §4.9). The product keeps two derived forms only:

* ``phone_hash`` — HMAC-SHA256 of the normalised E.164 number under ``PHONE_HASH_KEY``.
  It identifies a person (a voter, a staff member) without storing the number; the key
  is separate from ``SECRET_KEY`` and must stay stable for the life of the data.
* ``phone_masked`` — ``138****5678`` for display.

Only mainland-China mobile numbers are accepted: they are what the SMS channel reaches and
what staff and voters use. ``13800138000``, ``+86 138 0013 8000``, ``0086-138-0013-8000``
and ``8613800138000`` all normalise to ``+8613800138000``.
"""

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from staff.exceptions import InvalidPhoneError

# Characters people put between digits; anything else (letters, exponents) is refused.
_ALLOWED = re.compile(r"^\(?\+?[0-9 \-()]+$")
# What a spreadsheet makes of a long number stored as a number: 1.38001E+10.
_SCIENTIFIC = re.compile(r"^[0-9]+(\.[0-9]*)?[eE][+-]?[0-9]+$")
_MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


@dataclass(frozen=True)
class Phone:
    """A validated number in its stored forms. ``e164`` is never persisted or logged."""

    e164: str
    hash: str
    masked: str


def normalize_phone(raw: str) -> str:
    """Return the E.164 form of a mainland-China mobile number, or raise ``InvalidPhoneError``.

    Full-width digits are folded by NFKC. Excel's scientific notation (``1.38001E+10``)
    is always refused: the digits it dropped cannot be recovered.
    """
    text = unicodedata.normalize("NFKC", str(raw or "")).strip()
    if not text:
        raise InvalidPhoneError(_("Phone number is empty."))
    if _SCIENTIFIC.match(text):
        raise InvalidPhoneError(
            _("Phone number looks like a spreadsheet number (e.g. 1.38E+10); format it as text.")
        )
    if not _ALLOWED.match(text):
        raise InvalidPhoneError(_("Phone number may only contain digits, spaces, + and -."))
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneError(_("This is not a phone number.")) from exc
    if parsed.country_code != 86:
        raise InvalidPhoneError(_("Only mainland China mobile numbers are accepted."))
    if not phonenumbers.is_valid_number(parsed) or (
        phonenumbers.number_type(parsed) not in _MOBILE_TYPES
    ):
        raise InvalidPhoneError(_("This is not a valid mainland China mobile number."))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def hash_phone(e164: str) -> str:
    """Keyed hash (hex HMAC-SHA256) of a normalised number; reads the key at call time."""
    key = settings.PHONE_HASH_KEY.encode()
    return hmac.new(key, e164.encode(), hashlib.sha256).hexdigest()


def mask_phone(e164: str) -> str:
    """``+8613800138000`` -> ``138****8000``: first three and last four digits only."""
    national = e164.removeprefix("+86")
    return f"{national[:3]}****{national[-4:]}"


def parse_phone(raw: str) -> Phone:
    """Normalise, hash and mask in one call; raises ``InvalidPhoneError``."""
    e164 = normalize_phone(raw)
    return Phone(e164=e164, hash=hash_phone(e164), masked=mask_phone(e164))
