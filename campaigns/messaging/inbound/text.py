# ruff: noqa: RUF002 -- normalisation is about full-width look-alikes; they are the point
"""Text normalisation of inbound SMS: what every handler sees, and what is stored.

``normalize_sms(text)`` is what handlers match their grammars against, in this order:

1. NFKC: full-width ``ＴＰ１２３４`` and the ideographic space U+3000 become ASCII.
2. Characters of Unicode categories Cf (zero-width space and joiners, BOM, bidi marks),
   Cc other than whitespace (NUL and other control bytes) and Cs (lone surrogates) are
   removed: NFKC keeps them and Python does not count U+200B as whitespace.
3. Case-fold, and collapse every run of whitespace into one space; strip both ends.

A text longer than ``NORMALIZE_MAX_CHARS`` (200) is not normalised at all (the router
hands it over as ``""``): every command and reply is a few characters, and a 10 kB body
of junk must cost no more than a short one.

``clean_raw_text`` is the raw text as stored (``InboundSms.text``, a rating's comment):
every phone number a customer typed into it is masked before it is stored
(``staff.phone_masking``), while the keyword, a vote code or employee number and a rating
are kept. Handlers read the normalised text of the message as received, so masking never
changes what a message means.
"""

import unicodedata

from staff.phone_masking import mask_phone_numbers

# Every keyword and reply is under 30 characters even with generous decoration; anything
# longer is junk by definition, and the cut keeps normalisation cost bounded.
NORMALIZE_MAX_CHARS = 200
# Raw text kept in InboundSms.text: a 7-part concatenated Chinese SMS is 469 characters.
RAW_TEXT_MAX_CHARS = 500

_REMOVED_CATEGORIES = frozenset({"Cf", "Cs"})


def _drop_invisible(text: str) -> str:
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category in _REMOVED_CATEGORIES:
            continue
        if category == "Cc" and not char.isspace():
            continue
        kept.append(char)
    return "".join(kept)


def normalize_sms(text: str) -> str:
    """The text as handlers see it: steps 1-3 of the module docstring."""
    text = unicodedata.normalize("NFKC", text)
    text = _drop_invisible(text).casefold()
    return " ".join(text.split())


def is_readable(text: object) -> bool:
    """True for a string that UTF-8 can encode (no lone surrogate)."""
    if not isinstance(text, str):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_raw_text(text: object) -> str:
    """The raw text as stored: NUL bytes removed, lone surrogates replaced by ``?``,
    phone numbers masked, cut to ``RAW_TEXT_MAX_CHARS`` (PostgreSQL text cannot hold NUL;
    UTF-8 cannot encode a surrogate)."""
    if not isinstance(text, str):
        return ""
    text = text[: RAW_TEXT_MAX_CHARS * 2].replace("\x00", "")
    text = text.encode("utf-8", "replace").decode("utf-8")
    return mask_phone_numbers(text)[:RAW_TEXT_MAX_CHARS]
