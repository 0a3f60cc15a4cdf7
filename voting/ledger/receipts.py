"""Receipt codes: the 10-character code every counted vote gets, shown on the page and in
the SMS receipt, by which a voter can look the vote up later.

Crockford base32 (no I, L, O, U), 50 random bits; unique in the ledger. A collision is
refused by the unique key and the insert draws another code (``RECEIPT_INSERT_TRIES``).
"""

import re
import secrets

from voting.choices import RECEIPT_ALPHABET, RECEIPT_LENGTH

RECEIPT_INSERT_TRIES = 4

_RECEIPT = re.compile(rf"[{RECEIPT_ALPHABET}]{{{RECEIPT_LENGTH}}}")
# Crockford base32 reads O as 0 and I, L as 1, and ignores hyphens and spaces.
_RECEIPT_FOLD = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})


def new_receipt_code() -> str:
    """A random receipt code: 10 Crockford base32 characters (50 bits).

    One 50-bit draw cut into 5-bit characters: the same uniform codes as ten draws of one
    character each, at a tenth of the cost (the SMS ingest draws 1,000 per batch).
    """
    bits = secrets.randbits(5 * RECEIPT_LENGTH)
    return "".join(RECEIPT_ALPHABET[(bits >> (5 * i)) & 31] for i in range(RECEIPT_LENGTH))


def normalize_receipt_code(code: str) -> str | None:
    """The canonical form of a receipt code as a person may type it, or ``None``."""
    folded = str(code or "").strip().upper().translate(_RECEIPT_FOLD)
    return folded if _RECEIPT.fullmatch(folded) else None
