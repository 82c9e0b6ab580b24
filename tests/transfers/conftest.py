"""Hand-off tests: a campaign with agents, a live call of Dana's, and a stand-in for Twilio's
REST API that records what the product asked of it (the end-to-end tests use the emulator)."""

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from twilio.base.exceptions import TwilioRestException

from calls import transfers
from calls.dialer import reaper
from calls.models import Call
from campaigns.models import Lead
from tests import factory

AGENT_1, AGENT_2 = "+12025550181", "+12025550182"


@dataclass
class FakeTwilio:
    """What the product asked of Twilio: `updates` (CallSid, fields) and `created` calls. A
    REST error code in `refuse_update` / `refuse_create` makes that request fail."""

    updates: list = field(default_factory=list)
    created: list = field(default_factory=list)
    refuse_update: int | None = None
    refuse_create: int | None = None

    def __call__(self, timeout=None):
        return self

    @property
    def calls(self):
        fake = self

        class Calls:
            def __call__(self, sid):
                def update(**fields):
                    if fake.refuse_update:
                        raise TwilioRestException(400, "/Calls", "refused", code=fake.refuse_update)
                    fake.updates.append((sid, fields))

                def fetch():  # a live call, as Twilio says of one ringing an agent or holding
                    return SimpleNamespace(sid=sid, status="in-progress", duration=None, answered_by=None,
                                           start_time=None, end_time=None, price=None, price_unit=None)
                return SimpleNamespace(update=update, fetch=fetch)

            def create(self, **fields):
                if fake.refuse_create:
                    raise TwilioRestException(400, "/Calls", "refused", code=fake.refuse_create)
                fake.created.append(fields)
                return SimpleNamespace(sid=f"CA{'f' * 24}{len(fake.created):08x}")

        return Calls()

    def twiml_of(self, sid: str) -> str:
        """The last TwiML this call was given."""
        return [fields["twiml"] for s, fields in self.updates if s == sid and "twiml" in fields][-1]


@pytest.fixture
def twilio(monkeypatch):
    fake = FakeTwilio()
    monkeypatch.setattr(transfers, "twilio_client", fake)
    monkeypatch.setattr(reaper, "twilio_client", fake)
    return fake


@pytest.fixture
def campaign(db):
    return factory.offers_campaign(caller_id="+12025550100", transfer_targets=[AGENT_1, AGENT_2])


@pytest.fixture
def live_call(campaign):
    """Dana's call, answered, the bot talking with her on its media stream."""
    dana = factory.dana("+12025550123")
    lead = factory.lead(campaign, dana, state=Lead.State.IN_CALL, attempts=1)
    call = factory.call(lead, from_number="+12025550100", stream_sid="MZ" + "1" * 32)
    return factory.answer(call)


def refreshed(row):
    row.refresh_from_db()
    return row


def a_live_call(campaign) -> Call:
    return factory.answer(factory.call(factory.lead(campaign), from_number="+12025550100"))


from tests.webhooks.conftest import twilio_post, twilio_signature  # noqa: E402, F401  (fixtures)
