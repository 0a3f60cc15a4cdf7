"""Text normalisation of inbound SMS (``campaigns.messaging.inbound.text``): what handlers
see and what is stored."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.messaging.inbound.text import (
    RAW_TEXT_MAX_CHARS,
    clean_raw_text,
    is_readable,
    normalize_sms,
)


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("ＴＰ　１２３４", "tp 1234"),
        ("TP\u200b1234", "tp1234"),
        ("\ufeffTD", "td"),
        ("  Tp \t\n 12 ", "tp 12"),
        ("TP\x001234", "tp1234"),
        ("投票１２３４", "投票1234"),
        ("", ""),
    ],
)
def test_normalize_sms(text, normalised):
    assert normalize_sms(text) == normalised


@pytest.mark.parametrize(
    ("value", "readable"), [("TP 1234", True), ("a\ud800b", False), (None, False), (12, False)]
)
def test_is_readable(value, readable):
    assert is_readable(value) is readable


@given(st.text())
def test_clean_raw_text_is_storable_and_bounded(text):
    cleaned = clean_raw_text(text)

    assert "\x00" not in cleaned
    assert len(cleaned) <= RAW_TEXT_MAX_CHARS
    cleaned.encode("utf-8")


def test_clean_raw_text_truncates_and_strips_nul():
    assert clean_raw_text("TP\x00 1234") == "TP 1234"
    assert clean_raw_text("a" * 2000) == "a" * RAW_TEXT_MAX_CHARS
    assert clean_raw_text("a\ud800b") == "a?b"
    assert clean_raw_text(None) == ""
