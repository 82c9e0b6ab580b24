"""The phone helpers the import uses to parse a number once: same answers as the
one-call helpers the rest of the project uses."""

import pytest
from django.core.exceptions import ValidationError

from campaigns.phones import format_e164, parse_valid, timezone_for_number, timezone_of, to_e164

NUMBERS = [
    "(202) 555-0101",      # national, US
    "+1 800 555 0199",     # toll-free: no single zone
    "0044 20 7946 0000",   # 00 prefix, London
    "+39 06 1234 5678",    # Italian leading zero
    "+33 6 12 34 56 78",   # French mobile
    "+61 2 9374 4000",     # Sydney
    "+7 495 123-45-67",    # Moscow
]


@pytest.mark.parametrize("raw", NUMBERS)
def test_one_parse_gives_what_the_one_call_helpers_give(raw):
    number = parse_valid(raw, "US")
    assert format_e164(number) == to_e164(raw, "US")
    assert timezone_of(number) == timezone_for_number(to_e164(raw, "US"))


def test_it_finds_a_zone_when_the_plan_pins_down_one():
    assert timezone_of(parse_valid("(202) 555-0101", "US")) == "America/New_York"
    assert timezone_of(parse_valid("+1 800 555 0199")) is None


@pytest.mark.parametrize("raw, country, message", [
    ("555-12", "US", "'555-12' is not a valid phone number for US"),
    ("hello", "gb", "'hello' is not a valid phone number for GB"),
    ("20 7946 0000", None, "'20 7946 0000' is not a valid phone number "
                           "(add a +country code or choose a default country)"),
])
def test_invalid_numbers_are_refused_with_the_same_reason_by_both(raw, country, message):
    for helper in (parse_valid, to_e164):
        with pytest.raises(ValidationError) as error:
            helper(raw, country)
        assert error.value.messages == [message]
