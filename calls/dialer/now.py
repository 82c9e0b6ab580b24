"""One call now, outside any lead's schedule (the dial-out API).

The API answers within 2 s either way: it waits a moment for a token and for Twilio, and
otherwise leaves the call to a worker (a Twilio request cut short by the timeout is the
reaper's to reconcile, like any dial whose answer was lost). The REST timeout bounds the
connect and the read each: 0.4 + 2 x 0.75 = 1.9 s at worst."""

import logging

import redis
from kombu.exceptions import OperationalError

from calls import tasks
from calls.dialer import placing
from calls.dialer.claiming import outbound_parameters
from calls.models import Call
from campaigns.models import Campaign, Customer

logger = logging.getLogger(__name__)

API_PACER_WAIT_SECONDS = 0.4
API_REST_TIMEOUT_SECONDS = 0.75


def new_call(customer: Customer, campaign: Campaign | None, from_number: str, parameters: dict) -> Call:
    """A call outside any lead's schedule, not placed yet (call_now places it)."""
    return Call.objects.create(
        direction=Call.Direction.OUTBOUND, campaign=campaign, customer=customer,
        from_number=from_number, to_number=customer.phone,
        parameters=outbound_parameters(customer, campaign, parameters),
    )


def call_now(call: Call) -> Call:
    """Place the call now if the account's calls per second allow it within a moment, else
    queue it for a worker, which places it as soon as a token is free; paced with every
    other dial either way. Returns the call as it stands."""
    try:
        try:
            placing.place_call(call.pk, pacer_wait=API_PACER_WAIT_SECONDS,
                               rest_timeout=API_REST_TIMEOUT_SECONDS)
        except placing.PacerBusy:  # the CPS is taken: a worker waits for the token, not this request
            tasks.place_call.delay(call.pk)
    except (redis.RedisError, OperationalError):
        # Neither pacer nor broker answers: the call stays queued, and the reaper sends calls
        # never sent once Redis is back. The client still hears that it is queued, not a 500.
        logger.warning("Redis is unreachable: call %s waits for the reaper", call.pk, exc_info=True)
    call.refresh_from_db()
    return call
