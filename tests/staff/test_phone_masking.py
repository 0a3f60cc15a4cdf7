"""Phone numbers inside free text: every written form is masked, short numbers are kept.

The hypothesis tests write a valid mobile number in a random accepted form (a prefix, any
grouping, full-width digits, dots or zero-width spaces between groups) inside random text
after a vote keyword and code, or after a rating, and check that neither the stored text
(``clean_raw_text``) nor the admin's shown text holds the number's eleven digits in any
spacing, while the keyword, the code and the rating survive.
"""

import re
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from campaigns.messaging.admin import InboundSmsAdmin
from campaigns.messaging.inbound.text import clean_raw_text
from campaigns.messaging.models import InboundSms
from staff.exceptions import InvalidPhoneError
from staff.phone_masking import MAX_GAP, mask_phone_numbers
from staff.phones import normalize_phone

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
PREFIXES = ["", "+86", "86", "0086", "+86 ", "0086-", "86-", "(+86) ", "+86-", "＋86 ", "0086 "]
GROUP_SEPARATORS = [" ", "-", ".", "\u200b", " - ", "\u3000", "．", "\u200b\u200b", "/"]
# What may lie between two digits of one written number (the leak check allows it all).
GAP = "[\\s\\-‐‑‒–—－.．·/／()（）\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
WORDS = st.lists(
    st.sampled_from([*"abcxyz 很好谢谢电话请打给我,.!?：，。-", "call ", "号码：", "\u200b"]),
    max_size=8,
).map("".join)


def leak_pattern(national: str) -> re.Pattern[str]:
    return re.compile(f"{GAP}{{0,{MAX_GAP}}}".join(national))


@st.composite
def mobile_numbers(draw) -> str:
    """The national digits of a valid mainland mobile number."""
    national = (
        "1" + draw(st.sampled_from("3456789")) + draw(st.from_regex(r"[0-9]{9}", fullmatch=True))
    )
    try:
        normalize_phone(national)
    except InvalidPhoneError:
        assume(False)
    return national


@st.composite
def written(draw, national: str) -> str:
    """``national`` as a person might type it."""
    style = draw(st.sampled_from(["plain", "3-4-4", "4-4-3", "each", "two-groups"]))
    if style == "plain":
        body = national
    elif style == "3-4-4":
        sep = draw(st.sampled_from(GROUP_SEPARATORS))
        body = sep.join([national[:3], national[3:7], national[7:]])
    elif style == "4-4-3":
        sep = draw(st.sampled_from(GROUP_SEPARATORS))
        body = sep.join([national[:4], national[4:8], national[8:]])
    elif style == "two-groups":
        cut = draw(st.integers(1, 10))
        body = national[:cut] + draw(st.sampled_from(GROUP_SEPARATORS)) + national[cut:]
    else:
        body = "".join(d + draw(st.sampled_from(["", "", " ", "-"])) for d in national).rstrip(" -")
    if draw(st.booleans()):
        body = body.translate(FULL_WIDTH)
    return draw(st.sampled_from(PREFIXES)) + body


def shown(text: str) -> str:
    return InboundSmsAdmin.shown_text(None, InboundSms(text=text))


def assert_masked(national: str, raw: str) -> None:
    pattern = leak_pattern(national)
    for text in (clean_raw_text(raw), shown(raw)):
        folded = unicodedata.normalize("NFKC", text)
        assert pattern.search(folded) is None, (raw, text)
        assert f"{national[:3]}****{national[-4:]}" in folded


@settings(max_examples=400, deadline=None)
@given(
    national=mobile_numbers(),
    data=st.data(),
    code=st.from_regex(r"[0-9]{1,8}", fullmatch=True),
    before=WORDS,
    after=WORDS,
)
def test_a_number_in_a_vote_text_is_masked_and_the_code_kept(national, data, code, before, after):
    assume(code not in {"86", "0086"})  # those read as the number's own prefix
    # A code followed by nothing but separators and then the number is one run of digits
    # split by separators ("1300000 0086-130…"): read as a number like any other, as the
    # phone normaliser would. A word between them keeps the code apart.
    assume(re.search(r"[a-z\u4e00-\u9fff]", before))
    number = data.draw(written(national))
    raw = f"TP {code} {before} {number}{after}"

    assert_masked(national, raw)
    assert clean_raw_text(raw).startswith(f"TP {code} ")


@settings(max_examples=400, deadline=None)
@given(national=mobile_numbers(), data=st.data(), score=st.integers(1, 10), words=WORDS)
def test_a_number_in_a_rating_comment_is_masked_and_the_score_kept(national, data, score, words):
    raw = f"{score} {words}{data.draw(written(national))} 很好"

    assert_masked(national, raw)
    assert clean_raw_text(raw).startswith(f"{score} ")


@settings(max_examples=200, deadline=None)
@given(first=mobile_numbers(), second=mobile_numbers(), data=st.data(), middle=WORDS)
def test_two_numbers_in_one_text_are_both_masked(first, second, data, middle):
    raw = f"{data.draw(written(first))} {middle} {data.draw(written(second))}"

    for national in (first, second):
        assert (
            leak_pattern(national).search(unicodedata.normalize("NFKC", clean_raw_text(raw)))
            is None
        )


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("TP 123456", "TP 123456"),
        ("tp 1234", "tp 1234"),
        ("9 很好", "9 很好"),
        ("10分 服务很好", "10分 服务很好"),
        ("TP 131234 13912345678", "TP 131234 139****5678"),
        ("TP 1234 +86 139 1234 5678", "TP 1234 +86 139****5678"),
        ("TP 1234 +8613912345678", "TP 1234 139****5678"),
        ("TP 13000000 1 3 0 0 0 0 0 0 0 0 0", "TP 13000000 130****0000"),
        ("TP 13000000  13000000000", "TP 13000000  130****0000"),
        ("1 861300 0000 000 很好", "1 130****0000 很好"),
        ("9 很好 (+86) 139-1234-5678", "9 很好 (+86) 139****5678"),
        ("电话0086１３９１２３４５６７８谢谢", "电话139****5678谢谢"),
        ("(+86) 139 1234 5678", "(+86) 139****5678"),
        ("139.1234.5678", "139****5678"),
        ("139\u200b1234\u200b5678", "139****5678"),
        ("订单 20261202 金额 1380 元", "订单 20261202 金额 1380 元"),
        ("call 513912345678", "call 5139****5678"),
        ("1391 23456 7890", "139****567890"),
    ],
)
def test_examples(raw, stored):
    assert mask_phone_numbers(raw) == stored
    assert clean_raw_text(raw) == stored


def test_a_long_text_of_digits_costs_bounded_work():
    raw = " ".join(["13912345678"] * 200)

    assert "13912345678" not in clean_raw_text(raw)
