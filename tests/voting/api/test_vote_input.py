"""The vote body read by hand (``voting.api.vote_input``) answers exactly as the serializer
that documents it: the same values for every body it accepts, the same error for every
body it refuses."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voting.api.serializers import CastVoteInputSerializer
from voting.api.vote_input import VoteInput, _plain, parse_vote_body, validated_input
from voting.exceptions import BadInputError

TOKEN = "eyJ2IjoiYWJjIn0:1tAbCd:sig"

# Values near every field's edges: types JSON can carry, blanks, lengths, digits.
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "",
            " ",
            "1234",
            " 1234 ",
            "0",
            "00001",
            "BJ010086",
            "bj-01",
            "１２３４",
            "123456",
            "12345",
            "1234567",
            " 123456 ",
            "web",
            "audience",
            "sms",
            "WEB",
            "13800138000",
            "x" * 32,
            "x" * 33,
            " " + "y" * 512,
            "z" * 513,
            TOKEN,
            "9" * 18,
            "9" * 19,
        ]
    ),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)
_bodies = st.dictionaries(
    st.sampled_from(["stage", "employee_no", "phone", "code", "voter_token", "channel", "x"]),
    _values,
)


def _by_serializer(body: object) -> VoteInput | tuple[str, str]:
    try:
        valid = validated_input(CastVoteInputSerializer, body)
    except BadInputError as exc:
        return (exc.code, str(exc.message))
    fields = ("stage", "employee_no", "phone", "code", "voter_token", "channel")
    return VoteInput(**{name: valid[name] for name in fields if name in valid})


def _by_parser(body: object) -> VoteInput | tuple[str, str]:
    try:
        return parse_vote_body(body)
    except BadInputError as exc:
        return (exc.code, str(exc.message))


@settings(max_examples=600, deadline=None)
@given(body=_bodies)
def test_the_parser_answers_as_the_serializer(body):
    assert _by_parser(body) == _by_serializer(body)


def test_plain_bodies_are_read_without_the_serializer():
    body = {"stage": "7", "employee_no": " bj-01 ", "voter_token": f" {TOKEN} "}
    assert _plain(body) == VoteInput(stage=7, employee_no="BJ-01", channel="web", voter_token=TOKEN)
    with_code = {"stage": 7, "employee_no": 1234, "phone": "13800138000", "code": "012345"}
    assert _plain({**with_code, "channel": "audience"}) == VoteInput(
        stage=7, employee_no="1234", channel="audience", phone="13800138000", code="012345"
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ([], "bad_request"),
        ({"stage": True, "employee_no": "1", "voter_token": TOKEN}, "bad_stage"),
        ({"stage": 1, "employee_no": 12.0, "voter_token": TOKEN}, "bad_employee_no"),
        ({"stage": 1, "employee_no": "1", "voter_token": ""}, "bad_token"),
        ({"stage": 1, "employee_no": "1", "code": "123456"}, "bad_phone"),
        ({"stage": 1, "employee_no": "1", "phone": "13800138000", "code": 123456}, "bad_code"),
        ({"stage": 1, "employee_no": "1", "voter_token": TOKEN, "channel": "sms"}, "bad_channel"),
    ],
)
def test_bad_bodies_get_their_field_codes(body, code):
    with pytest.raises(BadInputError) as caught:
        parse_vote_body(body)
    assert caught.value.code == code
