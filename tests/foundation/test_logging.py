"""What the product's log holds."""

import logging

import pytest
from twilio.base.exceptions import TwilioException

from calls.twilio_client import twilio_client


def test_a_twilio_request_is_not_dumped_into_the_log(settings, caplog):
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens: the request fails
    with caplog.at_level(logging.INFO), pytest.raises((TwilioException, OSError)):
        twilio_client(timeout=2).calls.list(limit=1)
    assert not [r for r in caplog.records if r.name.startswith("twilio")]
