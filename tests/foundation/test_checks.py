"""Configuration problems are reported by `manage.py check`, naming the setting."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError


def test_it_passes_the_checks_as_configured_for_the_tests():
    call_command("check")


@pytest.mark.parametrize(("name", "value", "message"), [
    ("BOT_SERVICES", "standins", "BOT_SERVICES='standins' is not a choice."),
    ("BOT_ASR_WORKERS", -1, "BOT_ASR_WORKERS=-1 is negative."),
    ("BOT_SILENCE_TIMEOUT_SECS", 0.3, "BOT_SILENCE_TIMEOUT_SECS=0.3 is not between 0.5 and 5 seconds."),
    ("BOT_SILENCE_TIMEOUT_SECS", 12.0, "BOT_SILENCE_TIMEOUT_SECS=12 is not between 0.5 and 5 seconds."),
    ("TWILIO_CALLS_PER_SECOND", 0.0, "TWILIO_CALLS_PER_SECOND=0 would never place a call."),
])
def test_it_names_a_setting_it_cannot_work_with(settings, name, value, message):
    setattr(settings, name, value)
    with pytest.raises(SystemCheckError, match=message.replace("(", r"\(").replace(".", r"\.")):
        call_command("check")
