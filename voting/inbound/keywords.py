# ruff: noqa: RUF002 -- the grammar is about full-width look-alikes; they are the point
"""The SMS keyword grammar: what a customer's text message asks for.

``parse_sms(text)`` is one pure function (no database, no settings, never raises). It
normalises the text and recognises exactly one form of vote::

    <keyword> [separator] <employee number> [trailing decoration]

Normalisation, in this order (TESTPLAN §2.1 A):

1. NFKC: full-width ``ＴＰ１２３４`` and the ideographic space U+3000 become ASCII.
2. Characters of Unicode categories Cf (zero-width space and joiners, BOM, bidi marks),
   Cc other than whitespace (NUL and other control bytes) and Cs (lone surrogates) are
   removed: NFKC keeps them and Python does not count U+200B as whitespace.
3. Case-fold, and collapse every run of whitespace into one space; strip both ends.

Grammar decisions, pinned by ``tests/voting/test_keywords.py``:

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
reserved in the webhook contract for post-transaction ratings (DESIGN.md §1) owned by
the evaluations app; this parser never returns it.

A text longer than ``PARSE_MAX_CHARS`` (200) characters is ``help`` without being
examined: a vote is a few characters, and a 10 kB body of junk must cost no more than a
short one.
"""

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

EMPLOYEE_NO_MAX_DIGITS = 16
# A vote is under 30 characters even with generous decoration; anything longer than this
# is junk by definition, and the cut keeps normalisation cost bounded.
PARSE_MAX_CHARS = 200
# Raw text kept in InboundSms.text: a 7-part concatenated Chinese SMS is 469 characters.
RAW_TEXT_MAX_CHARS = 500

_REMOVED_CATEGORIES = frozenset({"Cf", "Cs"})
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
    """The text as the grammar sees it: steps 1-3 of the module docstring."""
    text = unicodedata.normalize("NFKC", text)
    text = _drop_invisible(text).casefold()
    return " ".join(text.split())


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


def parse_sms(text: object) -> ParsedSms:
    """Parse one inbound text (module docstring). Pure; never raises, whatever ``text`` is."""
    if not isinstance(text, str) or len(text) > PARSE_MAX_CHARS:
        return HELP
    match = _VOTE.fullmatch(_strip_decoration(normalize_sms(text)))
    if match is None:
        return HELP
    number = match.group(1)
    if len(number) > EMPLOYEE_NO_MAX_DIGITS:
        return ParsedSms(kind=SmsKind.REFUSED, code="unknown_candidate")
    return ParsedSms(kind=SmsKind.VOTE, employee_no=number)


def clean_raw_text(text: object) -> str:
    """The raw text as stored: NUL bytes removed, lone surrogates replaced by ``?``,
    cut to ``RAW_TEXT_MAX_CHARS`` (PostgreSQL text cannot hold NUL; UTF-8 cannot encode
    a surrogate)."""
    if not isinstance(text, str):
        return ""
    text = text[: RAW_TEXT_MAX_CHARS * 2].replace("\x00", "")
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:RAW_TEXT_MAX_CHARS]
