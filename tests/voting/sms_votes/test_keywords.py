"""The SMS keyword grammar: one table, one row per decision."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voting.sms_votes.keywords import ParsedSms, SmsKind, parse_sms

VOTE_1234 = ParsedSms(SmsKind.VOTE, "1234")
HELP = ParsedSms(SmsKind.HELP)
TOO_LONG = ParsedSms(SmsKind.REFUSED, code="unknown_candidate")

TABLE = [
    # the plain forms
    ("TP 1234", VOTE_1234),
    ("tp1234", VOTE_1234),
    ("Tp 1234", VOTE_1234),
    ("tP1234", VOTE_1234),
    (" TP  1234 ", VOTE_1234),
    ("TP\t1234", VOTE_1234),
    ("TP\n1234", VOTE_1234),
    ("投票 1234", VOTE_1234),
    ("投票1234", VOTE_1234),
    ("投票\u30001234", VOTE_1234),
    # full-width forms, folded by NFKC
    ("ＴＰ１２３４", VOTE_1234),
    ("ＴＰ\u3000１２３４", VOTE_1234),
    ("投票１２３４", VOTE_1234),
    ("TP 12３4", VOTE_1234),
    # trailing punctuation and emoji after a clean vote (pinned: vote)
    ("TP 1234.", VOTE_1234),
    ("TP 1234!", VOTE_1234),
    ("TP1234。", VOTE_1234),
    ("TP1234！", VOTE_1234),
    ("TP 1234 ", VOTE_1234),
    ("TP 1234!!!", VOTE_1234),
    ("TP 1234 👍", VOTE_1234),
    ("TP 1234🏆", VOTE_1234),
    ("TP 1234 🇨🇳", VOTE_1234),
    ("TP 1234 👨\u200d👩\u200d👧", VOTE_1234),
    ("TP 1234 👍🏽", VOTE_1234),
    # separators (pinned: one of - : # ：, spaces around allowed)
    ("TP-1234", VOTE_1234),
    ("TP:1234", VOTE_1234),
    ("TP：1234", VOTE_1234),
    ("TP#1234", VOTE_1234),
    ("TP - 1234", VOTE_1234),
    ("投票：1234", VOTE_1234),
    ("TP--1234", HELP),
    ("TP:-1234", HELP),
    # invisible characters (Cf, NUL)
    ("TP\u200b1234", VOTE_1234),
    ("\ufeffTP 1234", VOTE_1234),
    ("TP 1234\u200e", VOTE_1234),
    ("TP\x001234", VOTE_1234),
    ("\x00", HELP),
    ("TP 12\ud80034", VOTE_1234),
    ("\ud800", HELP),
    # employee numbers are strings
    ("TP 0123", ParsedSms(SmsKind.VOTE, "0123")),
    ("TP 123", ParsedSms(SmsKind.VOTE, "123")),
    ("TP 9999", ParsedSms(SmsKind.VOTE, "9999")),
    ("TP " + "9" * 16, ParsedSms(SmsKind.VOTE, "9" * 16)),
    ("TP " + "9" * 17, TOO_LONG),
    ("TP 99999999999999999999999999999999", TOO_LONG),
    ("TP " + "9" * 40, TOO_LONG),
    # other digits (pinned: help)
    ("TP ١٢٣٤", HELP),
    ("TP 一二三四", HELP),
    ("TP १२३४", HELP),
    ("TP 12३4", HELP),
    # empty, keyword only, number only, ambiguous
    ("", HELP),
    ("   ", HELP),
    ("TP", HELP),
    ("投票", HELP),
    ("1234", HELP),
    ("TP TP 1234", HELP),
    ("TP 1234 5678", HELP),
    ("TP1234TP5678", HELP),
    ("TP 12 34", HELP),
    ("TP 1234 please", HELP),
    ("TP 1234.5", HELP),
    ("TPX 1234", HELP),
    ("vote 1234", HELP),
    # emoji only, injection-looking text, junk
    ("👍", HELP),
    ("🇨🇳", HELP),
    ("'; DROP TABLE voting_vote;--", HELP),
    ("TP 1234' OR '1'='1", HELP),
    ("<script>alert(1)</script>", HELP),
    ("{{7*7}}", HELP),
    ("${jndi:ldap://x}", HELP),
    ("x" * 2000, HELP),
    ("TP 1234" + " " * 300, HELP),
    ("投" * 75, HELP),
]


@pytest.mark.parametrize(("text", "expected"), TABLE, ids=[repr(row[0])[:40] for row in TABLE])
def test_parse_sms_table(text, expected):
    assert parse_sms(text) == expected


def test_parse_sms_table_has_at_least_forty_rows():
    assert len(TABLE) >= 40


@pytest.mark.parametrize("value", [None, 1234, 12.5, ["TP 1234"], {"text": "TP 1234"}, b"TP 1234"])
def test_parse_sms_of_a_non_string_is_help(value):
    assert parse_sms(value) == HELP


@given(st.text())
def test_parse_sms_never_raises(text):
    result = parse_sms(text)

    assert result.kind in {SmsKind.VOTE, SmsKind.HELP, SmsKind.REFUSED}
    if result.kind == SmsKind.VOTE:
        assert result.employee_no.isascii()
        assert result.employee_no.isdigit()
        assert 1 <= len(result.employee_no) <= 16
