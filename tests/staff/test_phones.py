import unicodedata

import pytest
from django.test import override_settings
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from staff import phones
from staff.exceptions import InvalidPhoneError
from staff.phones import hash_phone, mask_phone, normalize_phone, parse_phone


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+86 138 0013 8000",
        "0086-138-0013-8000",
        "8613800138000",
        "+86-138-0013-8000",
        "(+86) 138 0013 8000",
        " 138 0013 8000 ",
        "１３８００１３８０００",  # full-width digits
    ],
)
def test_normalize_phone_formats_of_one_number_are_one_person(raw):
    assert normalize_phone(raw) == "+8613800138000"
    assert parse_phone(raw).hash == parse_phone("13800138000").hash


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("abc", "only contain digits"),
        ("+86", "not"),
        ("1.38001E+10", "spreadsheet"),
        ("1.38001e10", "spreadsheet"),
        ("138001380001", "not a valid"),
        ("1380013800", "not a valid"),
        ("010-12345678", "not a valid"),
        ("+1 650 253 0000", "Only mainland China"),
        ("138-0013-800O", "only contain digits"),
        ("13800138000; DROP TABLE", "only contain digits"),
    ],
)
def test_normalize_phone_refuses_malformed_numbers(raw, fragment):
    with pytest.raises(InvalidPhoneError) as excinfo:
        normalize_phone(raw)

    assert excinfo.value.code == "bad_phone"
    assert fragment in str(excinfo.value.message)


def test_mask_phone_keeps_first_three_and_last_four_digits():
    assert mask_phone("+8613800138000") == "138****8000"


def test_hash_phone_is_keyed_and_not_the_plain_sha256():
    import hashlib

    plain = hashlib.sha256(b"+8613800138000").hexdigest()

    with override_settings(PHONE_HASH_KEY="key-one"):
        first = hash_phone("+8613800138000")
    with override_settings(PHONE_HASH_KEY="key-two"):
        second = hash_phone("+8613800138000")

    assert len(first) == 64
    assert first != second
    assert plain not in {first, second}


def test_parse_phone_error_message_never_contains_the_number():
    with pytest.raises(InvalidPhoneError) as excinfo:
        parse_phone("+1 650 253 0000")

    assert "650" not in str(excinfo.value)


# The fast path agrees with phonenumbers ------------------------------------------------------


def _slow(raw: str) -> str:
    """What phonenumbers alone says (the path before the fast one): E.164 or the error."""
    text = unicodedata.normalize("NFKC", raw).strip()
    try:
        return phones._normalize_with_phonenumbers(text)
    except InvalidPhoneError as exc:
        return f"error: {exc.message}"


def _either(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except InvalidPhoneError as exc:
        return f"error: {exc.message}"


_separator = st.sampled_from(["", "", "", " ", "-"])
_prefix = st.sampled_from(["", "+86", "86", "0086", "+86 ", "0086-", "86-", "+", "0", "+85"])


@st.composite
def written_numbers(draw):
    """A number as people write it: a prefix, then 11 digits starting with 1 (every
    second digit, so the refused ranges too) with spaces or dashes between them."""
    digits = "1" + "".join(draw(st.sampled_from("0123456789")) for _ in range(10))
    return draw(_prefix) + "".join(digit + draw(_separator) for digit in digits).rstrip(" -")


@settings(max_examples=3000, deadline=None)
@given(written_numbers())
def test_fast_path_and_phonenumbers_agree_on_written_numbers(raw):
    assert _either(raw) == _slow(raw)


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="0123456789+- ", min_size=1, max_size=18))
def test_fast_path_and_phonenumbers_agree_on_any_digit_text(raw):
    assume(raw.strip())  # empty text is refused before either path

    assert _either(raw) == _slow(raw)


@pytest.mark.parametrize(
    ("raw", "fast"),
    [
        ("13800138000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("17400123456", "+8617400123456"),  # 1740[0-5]: a satellite block phonenumbers knows
        ("17460123456", None),
        ("15412345678", None),  # no such mobile range: phonenumbers refuses it
        ("(+86) 138 0013 8000", None),  # parentheses: left to phonenumbers
    ],
)
def test_fast_path_takes_only_numbers_phonenumbers_accepts(raw, fast):
    assert phones._fast_mobile(raw) == fast
    assert _either(raw) == _slow(raw)
