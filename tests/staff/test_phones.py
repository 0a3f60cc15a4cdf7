import pytest
from django.test import override_settings

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
