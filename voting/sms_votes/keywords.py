# ruff: noqa: RUF002 -- the grammar is about full-width look-alikes; they are the point
"""The SMS keyword grammar: what a customer's text message asks for.

``parse_sms(text)`` is one pure function (no database, no settings, never raises). It
normalises the text and recognises exactly one form of vote::

    <keyword> [separator] <employee number> [trailing decoration]

The text is first normalised as every inbound handler sees it
(``campaigns.messaging.inbound.text.normalize_sms``: NFKC, invisible characters removed,
case-folded, whitespace collapsed).

Grammar decisions, pinned by ``tests/voting/sms_votes/test_keywords.py``:

* Keywords: ``tp`` (any case, full-width too) and ``投票``.
* Separator between keyword and number: nothing, one space, or one of ``-``, ``:``,
  ``#`` (``：``, ``－``, ``＃`` after NFKC), optionally with a space on either side.
* The number: ASCII digits only, matched with ``[0-9]`` — never ``\\d`` or ``int()``,
  which accept any Unicode decimal digit. NFKC turns full-width digits into ASCII;
  Arabic-Indic ``١٢٣٤``, Devanagari and Chinese numerals ``一二三四`` are not digits
  here, so such a text is ``help``. Employee numbers are strings: ``0123`` stays
  ``0123`` (no leading zero is dropped), and a number of more than 16 digits cannot be
  an employee number — the result is ``refused``/``unknown_candidate`` without any query.
* Trailing decoration after a clean vote is ignored: ``.``, ``!``, ``。``, ``！``,
  ``?``, ``？``, ``~``, and symbols and emoji (categories So, Sk, Mn, Me: emoji, skin
  tones, variation selectors, keycaps; ZWJ is already gone as Cf). Anything else after
  the number — a second number, a second keyword, words, quotes — makes the text
  ambiguous: ``help``, nothing counted.
* ``1234`` alone, ``TP`` alone, empty text, emoji only, junk: ``help``.

Kinds: ``vote`` (with ``employee_no``), ``help`` (reply with how to vote), ``refused``
(with ``code``; only ``unknown_candidate`` for an impossible number). ``evaluation`` is
reserved in the webhook contract for post-transaction ratings owned by
the evaluations app; this parser never returns it.

A text longer than ``NORMALIZE_MAX_CHARS`` (200) characters is ``help`` without being
examined: a vote is a few characters, and a 10 kB body of junk must cost no more than a
short one.
"""

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from campaigns.messaging.inbound.text import NORMALIZE_MAX_CHARS, normalize_sms

EMPLOYEE_NO_MAX_DIGITS = 16

_TRAILING_CATEGORIES = frozenset({"So", "Sk", "Mn", "Me"})
_TRAILING_PUNCTUATION = frozenset(".!?~。")
_VOTE = re.compile(r"(?:tp|投票) ?[-:#]? ?([0-9]+)", re.ASCII)


class SmsKind(StrEnum):
    VOTE = "vote"
    HELP = "help"
    REFUSED = "refused"
    EVALUATION = "evaluation"  # reserved for the evaluations app (module docstring)


@dataclass(frozen=True)
class ParsedSms:
    """What a text asks for. ``employee_no`` is set for ``vote``, ``code`` for ``refused``."""

    kind: SmsKind
    employee_no: str | None = None
    code: str = ""


HELP = ParsedSms(kind=SmsKind.HELP)


def _strip_decoration(text: str) -> str:
    end = len(text)
    while end > 0:
        char = text[end - 1]
        if (
            char.isspace()
            or char in _TRAILING_PUNCTUATION
            or unicodedata.category(char) in _TRAILING_CATEGORIES
        ):
            end -= 1
            continue
        break
    return text[:end]


def parse_normalized(text: str) -> ParsedSms:
    """Parse a text already normalised by ``normalize_sms`` (what the router hands over)."""
    match = _VOTE.fullmatch(_strip_decoration(text))
    if match is None:
        return HELP
    number = match.group(1)
    if len(number) > EMPLOYEE_NO_MAX_DIGITS:
        return ParsedSms(kind=SmsKind.REFUSED, code="unknown_candidate")
    return ParsedSms(kind=SmsKind.VOTE, employee_no=number)


def parse_sms(text: object) -> ParsedSms:
    """Parse one raw inbound text (module docstring). Pure; never raises, whatever ``text`` is."""
    if not isinstance(text, str) or len(text) > NORMALIZE_MAX_CHARS:
        return HELP
    return parse_normalized(normalize_sms(text))
