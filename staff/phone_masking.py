# ruff: noqa: RUF001 -- full-width look-alikes of separators are the point
"""Phone numbers inside free text (an SMS a customer typed): found and masked.

``mask_phone_numbers(text)`` replaces every mainland mobile number in ``text`` with its
masked form (``139****5678``), in every way people write one: national or after ``+86``,
``86`` or ``0086``; ASCII, full-width or other decimal digits; digits grouped by spaces,
dashes, dots, slashes, brackets or invisible characters (a zero-width space), up to
``MAX_GAP`` of them between two groups. That covers every form ``staff.phones`` accepts,
and the dotted and zero-width forms it does not.

Short numbers beside a phone number are kept: a vote code or an employee number
(``TP 123456``), a rating (``9``), a price. A number is matched on whole digit groups
first, from the right, so ``TP 131234 13912345678`` keeps ``131234``; then a digit run
that still holds eleven digits of a mobile number (digits glued to other digits, groups
split mid-number) is masked wherever the number lies in it. A ``+86``/``0086`` written
apart from the number may stay: it says nothing about the person.
"""

import re

from django.db.models import QuerySet

# Characters people put between the digit groups of one number.
_GAP_CHARS = (
    r"\s"  # spaces, the ideographic space U+3000, no-break spaces
    r"\-‐‑‒–—－"  # hyphens and dashes, full-width minus
    r".．·/／()（）"  # dots, slashes, brackets
    "\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"  # invisible
)
MAX_GAP = 3
_GROUP = re.compile(r"\d+")  # every Unicode decimal digit (full-width too)
_GAP = re.compile(f"[{_GAP_CHARS}]{{1,{MAX_GAP}}}")
_BEFORE_NUMBER = re.compile(r"[(（]?[+＋]$")
_WHOLE_NUMBER = re.compile(r"(?:0086|86)?(1[3-9][0-9]{9})", re.ASCII)
_INSIDE = re.compile(r"1[3-9][0-9]{9}", re.ASCII)
# Each pass takes at least eleven digits out of play, so this is never hit by real text;
# it bounds the work on hostile input.
_MAX_PASSES = 50
_PLACEHOLDER = "\ue000"  # a private-use character
# Eleven digits at most MAX_GAP characters apart: no text without them holds a number.
_MAYBE_NUMBER = re.compile(f"(?:\\d\\D{{0,{MAX_GAP}}}){{10}}\\d")


def _ascii_digits(group: str) -> str:
    return "".join(str(int(char)) for char in group)


def _masked(national: str) -> str:
    return f"{national[:3]}****{national[-4:]}"


def _chains(text: str) -> list[list[re.Match[str]]]:
    """Digit groups, chained when only a short gap of separators lies between them."""
    chains: list[list[re.Match[str]]] = []
    for group in _GROUP.finditer(text):
        if chains and _GAP.fullmatch(text, chains[-1][-1].end(), group.start()):
            chains[-1].append(group)
        else:
            chains.append([group])
    return chains


def _whole_group_numbers(text: str, chain: list[re.Match[str]]) -> list[tuple[int, int, str]]:
    """``(start, end, masked)`` of numbers made of whole groups of ``chain``.

    Read from the right, shortest first: in ``TP 1234 139 1234 5678`` or ``9 86 139…``
    the short number before the phone number is what stays.
    """
    found = []
    j = len(chain) - 1
    while j >= 0:
        digits = ""
        for i in range(j, -1, -1):
            digits = _ascii_digits(chain[i][0]) + digits
            if len(digits) > 15:  # 0086 and eleven digits
                break
            number = _WHOLE_NUMBER.fullmatch(digits)
            if number:
                start = chain[i].start()
                sign = _BEFORE_NUMBER.search(text, max(start - 2, 0), start)
                if sign and len(digits) > len(number[1]):
                    start = sign.start()
                found.append((start, chain[j].end(), _masked(number[1])))
                j = i
                break
        j -= 1
    return found


def _inner_numbers(chain: list[re.Match[str]]) -> list[tuple[int, int, str]]:
    """``(start, end, masked)`` of mobile numbers anywhere in the chain's digits."""
    positions = [group.start() + k for group in chain for k in range(len(group[0]))]
    digits = "".join(_ascii_digits(group[0]) for group in chain)
    return [
        (positions[m.start()], positions[m.end() - 1] + 1, _masked(m[0]))
        for m in _INSIDE.finditer(digits)
    ]


def _blank(text: str, spans: list[tuple[int, int, str]]) -> str:
    """``text`` with each span overwritten by as many placeholders (neither digits nor
    separators): later passes see neither the number nor digits of its masked form."""
    for start, end, _masked_form in spans:
        text = text[:start] + _PLACEHOLDER * (end - start) + text[end:]
    return text


def _replace(text: str, spans: list[tuple[int, int, str]]) -> str:
    for start, end, masked in sorted(spans, reverse=True):
        text = text[:start] + masked + text[end:]
    return text


def mask_phone_numbers(text: str) -> str:
    """``text`` with every mainland mobile number in it masked (module docstring)."""
    if not _MAYBE_NUMBER.search(text):
        return text
    spans = [span for chain in _chains(text) for span in _whole_group_numbers(text, chain)]
    work = _blank(text, spans)
    for _pass in range(_MAX_PASSES):
        found = [span for chain in _chains(work) for span in _inner_numbers(chain)]
        if not found:
            break
        spans += found
        work = _blank(work, found)
    return _replace(text, spans)


def mask_numbers_in_stored_texts(queryset: QuerySet, field: str, *, batch_size: int = 500) -> int:
    """Mask the numbers in ``field`` of every row of ``queryset`` that holds eleven or
    more digits (rows stored before texts were masked on the way in). For data
    migrations: works with historical models. Returns the number of rows changed."""
    changed = 0
    rows = queryset.filter(**{f"{field}__regex": r"[0-9０-９]"}).only("pk", field)
    batch = []
    for row in rows.iterator(chunk_size=batch_size):
        masked = mask_phone_numbers(getattr(row, field))
        if masked != getattr(row, field):
            setattr(row, field, masked)
            batch.append(row)
        if len(batch) >= batch_size:
            changed += queryset.model.objects.bulk_update(batch, [field])
            batch = []
    if batch:
        changed += queryset.model.objects.bulk_update(batch, [field])
    return changed
