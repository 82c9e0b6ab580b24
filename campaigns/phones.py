"""Phone numbers: parsed and checked with `phonenumbers`, stored as E.164."""

import phonenumbers
from django.core.exceptions import ValidationError
from phonenumbers import timezone as phone_timezones

# E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
E164_REGEX = r"^\+[1-9][0-9]{1,14}$"


def to_e164(raw: str, default_country: str | None = None) -> str:
    """Return `raw` as E.164, or raise ValidationError with a reason a person understands."""
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
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _invalid_message(raw: str, region: str | None) -> str:
    where = f" for {region}" if region else " (add a +country code or choose a default country)"
    return f"'{raw}' is not a valid phone number{where}"


def timezone_for_number(e164: str) -> str | None:
    """The number's time zone when the numbering plan pins down exactly one."""
    try:
        zones = phone_timezones.time_zones_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return None
    return zones[0] if len(zones) == 1 and zones[0] != "Etc/Unknown" else None
