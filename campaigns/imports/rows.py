"""One CSV record made into a contact, or the reason (for a person) why it cannot be."""

import zoneinfo
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from campaigns.imports.csv_safety import unneutralise
from campaigns.imports.reading import Plan
from campaigns.phones import format_e164, parse_valid, timezone_of

MAX_FIELD_CHARS = 128 * 1024
MAX_PARAMETER_CHARS = 500
NAME_CHARS = 100  # Customer.first_name / last_name
TIMEZONES = {name.lower(): name for name in zoneinfo.available_timezones()}


@dataclass(slots=True)
class Contact:
    phone: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    timezone: str = ""
    parameters: dict[str, str] = field(default_factory=dict)


class RowParser:
    """Turns a record into a Contact, or the reason (for a person) why it cannot be
    imported. Built once per import: the plan's column positions are looked up once,
    not per row, which matters at ~100,000 rows."""

    def __init__(self, plan: Plan, default_country: str):
        self.plan = plan
        self.width = len(plan.header)
        # A field the file lacks reads the empty cell appended past the last column.
        self.phone, self.first_name, self.last_name, self.email, self.zone = (
            plan.fields.get(f, self.width) for f in ("phone", "first_name", "last_name", "email", "timezone")
        )
        self.country = default_country

    def __call__(self, record) -> Contact | str:
        if record.values is None:
            return record.error
        values = record.values
        width = self.width
        if len(values) > width and any(v.strip() for v in values[width:]):
            return f"has {len(values)} values but the header has {width} columns"
        if max(map(len, values), default=0) > MAX_FIELD_CHARS:
            index = next(i for i, v in enumerate(values) if len(v) > MAX_FIELD_CHARS)
            column = self.plan.header[index] if index < width else f"column {index + 1}"
            return f"the value in '{column}' is longer than 128 KB"
        values = [unneutralise(v.strip()) for v in values[:width]]
        values += [""] * (width + 1 - len(values))  # a short row; and the cell for unmapped fields

        raw_phone = values[self.phone]
        if not raw_phone:
            return "the phone number is missing"
        try:
            number = parse_valid(raw_phone, self.country)
        except ValidationError as error:
            return error.messages[0]
        email = values[self.email]
        if email and not _valid_email(email):
            return f"'{email[:80]}' is not a valid email address"
        zone = values[self.zone]
        if zone:
            if zone.lower() not in TIMEZONES:
                return f"'{zone[:80]}' is not a time zone name (use one like America/New_York)"
            zone = TIMEZONES[zone.lower()]
        else:
            zone = timezone_of(number) or ""
        return Contact(
            phone=format_e164(number),
            first_name=values[self.first_name][:NAME_CHARS],
            last_name=values[self.last_name][:NAME_CHARS],
            email=email,
            timezone=zone,
            parameters={name: values[i][:MAX_PARAMETER_CHARS]
                        for i, name in self.plan.parameters if values[i]},
        )


def _valid_email(email: str) -> bool:
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True
