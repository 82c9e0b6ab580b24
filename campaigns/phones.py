"""Phone numbers: parsed and checked with `phonenumbers`, stored as E.164."""

import phonenumbers
from django.core.exceptions import ValidationError
from phonenumbers import timezone as phone_timezones

# E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
E164_REGEX = r"^\+[1-9][0-9]{1,14}$"


def to_e164(raw: str, default_country: str | None = None) -> str:
    """Return `raw` as E.164, or raise ValidationError with a reason a person understands."""
    return format_e164(parse_valid(raw, default_country))


def parse_valid(raw: str, default_country: str | None = None) -> phonenumbers.PhoneNumber:
    """`raw` parsed and checked by `phonenumbers`, or ValidationError as for `to_e164`.

    For callers that need more than the E.164 text, such as the contact import, which
    also wants the time zone: parsing is most of the cost, so it is done once."""
    text = (raw or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    region = (default_country or "").upper() or None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(_invalid_message(raw, region)) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_invalid_message(raw, region))
    return number


def format_e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _invalid_message(raw: str, region: str | None) -> str:
    where = f" for {region}" if region else " (add a +country code or choose a default country)"
    return f"'{raw}' is not a valid phone number{where}"


def timezone_for_number(e164: str) -> str | None:
    """The number's time zone when the numbering plan pins down exactly one."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None
    return timezone_of(number)


def timezone_of(number: phonenumbers.PhoneNumber) -> str | None:
    """As `timezone_for_number`, for a number already parsed."""
    zones = phone_timezones.time_zones_for_number(number)
    return zones[0] if len(zones) == 1 and zones[0] != "Etc/Unknown" else None


def presence(e164: str) -> tuple[str, str]:
    """(region, area code) of a number, for local presence: ("US", "312") for +13125550123.
    The area code is the geographic one the numbering plan gives (none for most mobiles);
    the region falls back to the country code's main region for numbers `phonenumbers` does
    not know to be valid."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return "", ""
    region = phonenumbers.region_code_for_number(number) or phonenumbers.region_code_for_country_code(
        number.country_code)
    length = phonenumbers.length_of_geographical_area_code(number)
    area = phonenumbers.national_significant_number(number)[:length] if length else ""
    return ("" if region == phonenumbers.UNKNOWN_REGION else region), area
